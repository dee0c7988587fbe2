"""`cramp plan` and `Scenario.plan`: the fastest target within a risk ceiling is exact (the same
risk as simulating the scenario re-targeted there), stricter ceilings never give faster targets,
a population scenario is refused, no feasible target is said plainly; the plan as a FIT workout
decodes back to its paces."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cramp
from scenarios.plan_outputs import PACE_BAND_S_PER_KM, fit_workout_bytes

DRAWS = 300
GOAL = "goal_marathon_runner"


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "cramp.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def goal():
    return cramp.Scenario.load(GOAL)


@pytest.fixture(scope="module")
def plans(goal):
    return {r: goal.plan(max_risk=r, draws=DRAWS, seed=3) for r in (0.2, 0.3, 0.45)}


def test_answer_is_within_the_ceiling_and_the_fastest_such_second(goal, plans):
    from scenarios.plan import retargeted, search  # noqa: F401 (the module the API uses)
    from scenarios.simulate import simulate

    for ceiling, plan in plans.items():
        assert plan.fastest_target_time_s is not None
        assert plan.risk["mean"] <= ceiling
        # one second faster breaks the ceiling (unless it is the fastest plausible target)
        t = plan.fastest_target_time_s
        if t > plan.search.bounds.fastest_s:
            draws = cramp.simulation.parameter_draws(None, None, DRAWS, 3).values
            faster = simulate(retargeted(goal.spec, t - 1), draws)["risk"].mean()
            assert float(faster) > ceiling


def test_a_stricter_ceiling_never_gives_a_faster_target(goal, plans):
    times = [plans[r].fastest_target_time_s for r in sorted(plans)]
    assert times == sorted(times, reverse=True)
    confident = [goal.plan(max_risk=0.3, confidence=p, draws=DRAWS, seed=3).fastest_target_time_s
                 for p in (0.5, 0.8)]
    assert confident[0] <= confident[1]


def test_simulating_the_retargeted_scenario_gives_the_same_risk(plans, tmp_path):
    plan = plans[0.3]
    again = plan.scenario_at().run(draws=DRAWS, seed=3).comparison["interventions"][0]["risk"]
    assert abs(again["mean"] - plan.risk["mean"]) < 0.01
    # and through the command line, from a scenario file re-targeted at the answer
    text = Path(cramp.Scenario.load(GOAL).source).read_text()
    target = plan.as_dict()["curve"][0]  # any point: re-target the file at the answer
    h, rest = divmod(plan.fastest_target_time_s, 3600)
    m, s = divmod(rest, 60)
    text = text.replace('target_time = "3:30:00"', f'target_time = "{h}:{m:02d}:{s:02d}"')
    text = text.split("[[intervention]]")[0]
    (tmp_path / "at_answer.toml").write_text(text)
    result = run_cli("simulate", tmp_path / "at_answer.toml", "--draws", DRAWS, "--seed", 3,
                     "--json", "--out", tmp_path / "sim", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    risk = json.loads(result.stdout)["interventions"][0]["risk"]["mean"]
    assert abs(risk - plan.risk["mean"]) < 0.01 and target["target_time_s"] > 0


def test_json_keys_and_the_curve(plans):
    d = plans[0.3].as_dict()
    for key in ("fastest_target_time_s", "risk", "max_risk", "confidence",
                "best_expected_finish", "curve"):
        assert key in d
    assert set(d["risk"]) == {"mean", "lo", "hi"}
    assert set(d["best_expected_finish"]) == {"target_time_s", "expected_finish_s"}
    point = d["curve"][0]
    assert set(point) == {"target_time_s", "risk", "expected_finish_s"}
    finishes = [p["expected_finish_s"] for p in d["curve"]]
    assert d["best_expected_finish"]["expected_finish_s"] <= min(finishes) + 1e-9
    assert json.loads(plans[0.3].to_json()) == json.loads(json.dumps(d))


def test_cli_plan_writes_outputs_refuses_overwrite_and_is_reproducible(tmp_path):
    args = ("plan", GOAL, "--max-risk", 0.3, "--draws", DRAWS, "--seed", 3, "--json",
            "--out", tmp_path / "p")
    first = run_cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    d = json.loads(first.stdout)
    assert d["risk"]["mean"] <= 0.3 and d["provenance"]["seed"] == 3
    for name in ("plan.json", "curve.csv", "plan.png", "pace_plan.csv", "pace_band.png",
                 "workout.fit"):
        assert (tmp_path / "p" / name).exists()
    # one set: provenance.json names every file with its sha256, under the run's id
    manifest = json.loads((tmp_path / "p" / "provenance.json").read_text())
    assert manifest["run_id"] == json.loads((tmp_path / "p" / "plan.json").read_text())["run_id"]
    for name, entry in manifest["files"].items():
        data = (tmp_path / "p" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
    again = run_cli(*args, cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    forced = run_cli(*args, "--force", cwd=tmp_path)
    assert json.loads(forced.stdout)["curve"] == d["curve"]


def test_a_second_plan_on_the_same_folder_is_refused_before_the_search(tmp_path, goal):
    from cramp.planning import PlanResult

    with PlanResult.claim_output(goal, tmp_path / "p"):  # another run holds the folder
        second = run_cli("plan", GOAL, "--max-risk", 0.3, "--draws", DRAWS, "--out",
                         tmp_path / "p", cwd=tmp_path)
    assert second.returncode == 2 and "in use by another run" in second.stderr
    assert "searching targets" not in second.stderr  # refused before the work
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())


def test_a_population_scenario_is_refused_with_exit_2(tmp_path):
    result = run_cli("plan", "city_marathon_warm", "--max-risk", 0.2, cwd=tmp_path)
    assert result.returncode == 2
    assert "single [runner]" in result.stderr and "Traceback" not in result.stderr


def test_no_target_meets_the_ceiling_is_said_plainly(tmp_path):
    result = run_cli("plan", GOAL, "--max-risk", 0.001, "--draws", DRAWS, "--json",
                     "--out", tmp_path / "p", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    d = json.loads(result.stdout)
    assert d["fastest_target_time_s"] is None and d["risk"] is None
    text = run_cli("plan", GOAL, "--max-risk", 0.001, "--draws", DRAWS, "--out", tmp_path / "q",
                   cwd=tmp_path)
    assert text.returncode == 0 and "no target between" in text.stdout


def test_bad_ceiling_is_a_clear_error(tmp_path):
    result = run_cli("plan", GOAL, "--max-risk", 20, cwd=tmp_path)
    assert result.returncode == 2 and "--max-risk" in result.stderr


def test_fit_workout_decodes_back_to_the_planned_paces(goal):
    from garmin_fit_sdk import Decoder, Stream

    spec = goal.spec
    messages, errors = Decoder(Stream.from_byte_array(fit_workout_bytes(spec, goal.name))).read()
    assert errors == []
    assert messages["file_id_mesgs"][0]["type"] == "workout"
    assert messages["workout_mesgs"][0]["sport"] == "running"
    steps = messages["workout_step_mesgs"]
    pace = goal.pace_plan()
    assert len(steps) == len(pace) == messages["workout_mesgs"][0]["num_valid_steps"]
    planned = (pace["split [s]"] / (pace["to [km]"] - pace["from [km]"])).to_numpy()
    distance = np.array([s["duration_distance"] for s in steps])
    assert np.allclose(distance, 1000 * (pace["to [km]"] - pace["from [km]"]), atol=0.01)
    slow = 1000 / np.array([s["custom_target_speed_low"] for s in steps])
    fast = 1000 / np.array([s["custom_target_speed_high"] for s in steps])
    assert np.allclose(slow, planned + PACE_BAND_S_PER_KM, atol=0.5)
    assert np.allclose(fast, planned - PACE_BAND_S_PER_KM, atol=0.5)
    assert fit_workout_bytes(spec, goal.name) == fit_workout_bytes(spec, goal.name)
