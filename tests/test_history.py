"""A runner's own past races (`[runner] past_races`): races with cramps raise their risk, races
without lower it, the file is validated like race records, and `simulate` shows the shift."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cramp
from model.errors import InputError

DRAWS = 300


def past_races(cramped: int, n: int = 3) -> pd.DataFrame:
    """`n` marathons of the goal runner (1:42 half), the first `cramped` of them with a cramp."""
    return pd.DataFrame({
        "runner_id": "me", "race_id": [f"m{i}" for i in range(n)], "distance_km": 42.195,
        "race_time_s": 12900, "ref_distance_km": 21.0975, "ref_time_s": 6120,
        "longest_run_km": 30, "cramped": [int(i < cramped) for i in range(n)],
        "cramp_km": [32.0 if i < cramped else None for i in range(n)],
        "taper_days": 10, "wbgt_c": 14.0})


def with_history(tmp_path: Path, table: pd.DataFrame | None, name: str = "past.csv"):
    text = Path(cramp.Scenario.load("goal_marathon_runner").source).read_text()
    if table is not None:
        table.to_csv(tmp_path / name, index=False)
        text = text.replace("cramp_history = true", f'cramp_history = true\npast_races = "{name}"')
    path = tmp_path / f"scenario_{name}.toml"
    path.write_text(text)
    return cramp.Scenario.load(path)


def baseline_risk(scenario) -> float:
    return scenario.run(draws=DRAWS, seed=2).comparison["interventions"][0]["risk"]["mean"]


def test_cramps_in_past_races_raise_the_risk_and_none_lower_it(tmp_path):
    none = baseline_risk(with_history(tmp_path, None))
    cramped = with_history(tmp_path, past_races(3), "all.csv").run(draws=DRAWS, seed=2)
    clean = baseline_risk(with_history(tmp_path, past_races(0), "clean.csv"))
    risk = cramped.comparison["interventions"][0]["risk"]["mean"]
    assert risk > none + 0.05 and clean < none - 0.02
    history = cramped.comparison["history"]
    assert history["past_races"] == 3 and history["cramped"] == 3
    assert history["risk_without_history"]["mean"] == pytest.approx(none, abs=1e-3)
    assert any("past races" in line for line in cramped.conclusions())
    assert cramped.dataset.attrs["past_races_sha256"]


def test_the_plan_reports_the_history_shift(tmp_path):
    plan = with_history(tmp_path, past_races(2), "two.csv").plan(max_risk=0.3, draws=DRAWS)
    h = plan.as_dict()["history"]
    assert h["risk_with_history"]["mean"] > h["risk_without_history"]["mean"]
    assert plan.risk["mean"] <= 0.3


def test_a_bad_past_races_file_names_file_row_and_column(tmp_path):
    bad = past_races(1)
    bad.loc[1, "cramped"] = 3
    with pytest.raises(InputError) as exc:
        with_history(tmp_path, bad, "bad.csv")
    text = "\n".join(exc.value.problems)
    assert "runner.past_races" in text and "bad.csv: row 2, column cramped" in text
    missing = tmp_path / "scenario_gone.toml"
    missing.write_text(Path(cramp.Scenario.load("goal_marathon_runner").source).read_text()
                       .replace("cramp_history = true", 'cramp_history = true\n'
                                'past_races = "gone.csv"'))
    with pytest.raises(InputError) as gone:
        cramp.Scenario.load(missing)
    assert "gone.csv: file not found" in "\n".join(gone.value.problems)


def test_the_history_shift_agrees_with_a_fit_that_includes_the_races(tmp_path):
    """Not refitting the population parameters is the approximation: the shift the runner's
    three cramped races make, with the parameters of a fit without them, against the shift with
    the parameters of a fit whose data include them (400 records; the runner is one of many)."""
    table, splits = cramp.synthesize(400, seed=1)
    mine = past_races(3).assign(race_id=list(table["race_id"].unique()[:3]))
    mine = mine.assign(distance_km=[table.loc[table["race_id"] == r, "distance_km"].iloc[0]
                                    for r in mine["race_id"]])
    mine["race_time_s"] = 6120 * (mine["distance_km"] / 21.0975) ** 1.06 * 1.02
    mine["cramp_km"] = 0.75 * mine["distance_km"]
    weather = table.groupby("race_id")["wbgt_c"].first()
    mine = mine.assign(wbgt_c=weather[mine["race_id"]].to_numpy(), cramp_history=1)
    mine.to_csv(tmp_path / "mine.csv", index=False)
    both = pd.concat([table, mine], ignore_index=True)
    fits = {"without": cramp.fit(cramp.load_records(table), seed=1, draws=300, tune=300),
            "with": cramp.fit(cramp.load_records(both), seed=1, draws=300, tune=300)}
    plain = with_history(tmp_path, None)
    history = with_history(tmp_path, pd.read_csv(tmp_path / "mine.csv"), "mine2.csv")
    shift = {}
    for name, fit in fits.items():
        result = history.run(fit=fit, draws=300, seed=2).comparison
        shift[name] = result["history"]["risk_difference"]["mean"]
        assert result["history"]["risk_without_history"]["mean"] == pytest.approx(
            plain.run(fit=fit, draws=300, seed=2).comparison["interventions"][0]["risk"]["mean"],
            abs=1e-9)
    print("history shift (without, with the races in the fit):", shift)
    assert shift["without"] > 0.02
    assert abs(shift["without"] - shift["with"]) < 0.25 * shift["with"] + 0.01, shift
