"""The public API (`import cramp`): its names, that the simulation path stays light, DataFrames
validated like files, and scenarios as objects (change, run, tabulate, plot, save)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import record, write_csv

import cramp

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PUBLIC = {
    "Scenario", "SimulationResult", "PlanResult", "Intervention", "Baseline", "SlowerPace", "Split",
    "EvenPacing", "LongerTaper", "TaperDays", "LongerLongRuns", "LongestRun", "EarlierStart",
    "StartAt", "Combined", "load_records", "RaceRecords", "fit", "Fit", "synthesize",
    "load_priors", "Priors", "evidence", "priors_table", "prior_check", "PriorCheck",
    "prior_sensitivity", "read_training_log", "TrainingLog", "runner_profile", "RunnerProfile",
    "profiles_table", "InputError", "Problems", "calibrate_priors", "CalibratedPriors",
    "course_from_gpx", "load_column_map", "ColumnMap", "summarise_splits", "SplitSummary",
    "open_posterior",
}
HEAVY = ("pymc", "arviz", "nutpie", "pytensor", "numba")
# xarray would import these on its first Variable and every to_netcdf (~0.5 s of CPU): the
# command line, simulating without --dask, keeps them out (cramp/cli/startup.py); the public API
# leaves a user's xarray as it is, so it may import them
DASK = ("dask", "distributed")
# scipy (~0.2 s) is for runners with a race history (scenarios/history.py) and for dask
SCIPY = ("scipy",)


def test_public_names_are_guarded():
    assert set(cramp.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(cramp, name) is not None
    assert PUBLIC <= set(dir(cramp))
    # a submodule of the same name would replace the function once imported
    package = Path(cramp.__file__).parent
    assert not [name for name in PUBLIC if (package / f"{name}.py").exists()]
    with pytest.raises(AttributeError, match="no attribute 'simulate_everything'"):
        cramp.simulate_everything  # noqa: B018


def heavy_modules_after(code: str, tmp_path, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    probe = code + (f"\nimport sys; print('HEAVY:' + ','.join(m for m in {heavy!r}"
                    " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                            text=True, env={**os.environ, "MPLBACKEND": "Agg"}, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    line = result.stdout.split("HEAVY:")[-1].strip()
    return [m for m in line.split(",") if m]


def test_simulation_path_does_not_import_the_sampler(tmp_path):
    code = """
import cramp
result = cramp.Scenario.load("goal_marathon_runner").run(draws=20)
result.table(); result.conclusions(); result.plot_onset(); result.save("api_out")
"""
    assert heavy_modules_after(code, tmp_path) == []
    assert (tmp_path / "api_out" / "result.nc").exists()


CLI_SIMULATE = """
from cramp.cli import app
for argv in (["--help"], ["scenarios"],
             ["simulate", "goal_marathon_runner", "--draws", "20", "--out", "cli_out"]):
    try:
        app(argv, standalone_mode=False)
    except SystemExit:
        pass
"""
CLI_PLAN = """
from cramp.cli import app
app(["plan", "goal_marathon_runner", "--max-risk", "0.3", "--draws", "20", "--out", "plan_out"],
    standalone_mode=False)
"""


def test_command_line_simulation_imports_neither_sampler_nor_dask(tmp_path):
    # the saved plots are drawn without pyplot (scenarios/plots.py; the plan's are not yet)
    assert heavy_modules_after(CLI_SIMULATE, tmp_path,
                               HEAVY + DASK + SCIPY + ("matplotlib.pyplot",)) == []
    assert (tmp_path / "cli_out" / "comparison.json").exists()
    assert heavy_modules_after(CLI_PLAN, tmp_path, HEAVY + DASK + SCIPY) == []
    assert (tmp_path / "plan_out" / "plan.json").exists()


def test_the_public_api_leaves_xarray_as_it_is(tmp_path):
    """A library does not patch xarray in a user's process: only the command line does."""
    code = """
from xarray.backends import locks
from xarray.namedarray import pycompat, utils
shipped = (locks.get_dask_scheduler, utils.is_dask_collection)
import cramp
cramp.Scenario.load("goal_marathon_runner").run(draws=4).save("out")
same = shipped == (locks.get_dask_scheduler, utils.is_dask_collection)
same &= all(type(m) is pycompat.DuckArrayModule
            for m in pycompat._cached_duck_array_modules.values())
print("AS-SHIPPED" if same else "PATCHED")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, env={**os.environ, "MPLBACKEND": "Agg"}, timeout=300)
    assert result.stdout.split()[-1:] == ["AS-SHIPPED"], result.stderr[-2000:]


def test_xarray_still_works_with_dask_once_dask_is_imported(tmp_path):
    """After a command-line run in the same process (dask kept unloaded), a dask array made
    afterwards is still one to xarray: chunked, computed and written like before."""
    code = CLI_SIMULATE + CLI_PLAN + """
import sys
assert "dask" not in sys.modules
import xarray as xr
import dask.array as da
ds = xr.Dataset({"a": ("x", da.arange(4.0, chunks=2))})
assert ds.chunks == {"x": (2, 2)}, ds.chunks
assert float(ds["a"].sum().compute()) == 6.0
ds.to_netcdf("chunked.nc", engine="h5netcdf")
assert xr.open_dataset("chunked.nc", engine="h5netcdf")["a"].values.tolist() == [0, 1, 2, 3]
"""
    assert heavy_modules_after(code, tmp_path, ("dask.array",)) == ["dask.array"]
    assert (tmp_path / "cli_out" / "result.nc").exists()


def _console_script(args: list[str], tmp_path, stdout=subprocess.PIPE):
    """`cramp ARGS` as the console script runs it, with an exit handler registered first (as a
    library would) that leaves a file behind."""
    code = ("import atexit, pathlib, sys\n"
            "atexit.register(pathlib.Path('handler-ran').touch)\n"
            f"sys.argv = ['cramp', *{args!r}]\n"
            "from cramp.cli import main\nmain()\n")
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=120)


def test_console_script_skips_teardown_but_not_exit_codes_output_or_handlers(tmp_path):
    """`main` leaves without the interpreter's teardown (cramp/cli/startup.py): the exit code,
    everything printed (through a pipe, so buffered) and the exit handlers survive that."""
    listed = _console_script(["scenarios"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[-1].startswith("trail_race_hilly:"), listed.stdout
    assert (tmp_path / "handler-ran").exists()
    (tmp_path / "handler-ran").unlink()
    bad = _console_script(["simulate", "no_such_scenario"], tmp_path)
    assert bad.returncode == 2 and "no such scenario file" in bad.stderr, bad.stderr
    assert (tmp_path / "handler-ran").exists()
    read_one_line = subprocess.Popen(["head", "-n", "1"], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL)
    closed = _console_script(["scenarios"], tmp_path, stdout=read_one_line.stdin)
    read_one_line.communicate()
    assert "Traceback" not in closed.stderr, closed.stderr


def test_importing_cramp_is_light(tmp_path):
    assert heavy_modules_after("import cramp", tmp_path) == []


def test_listing_the_scenarios_loads_neither_xarray_nor_pandas(tmp_path):
    # `cramp scenarios` reads TOML titles: xarray (~0.3 s) and pandas (~0.4 s, with scenario
    # files' h:mm:ss read by model/data/cell_formats.py) come with a simulation, not before
    code = ("import cramp\ncramp.Scenario.catalogue()\nfrom cramp.cli import app\n"
            "app(['scenarios'], standalone_mode=False)")
    assert heavy_modules_after(code, tmp_path, HEAVY + DASK + ("xarray", "pandas")) == []


# --- records from a DataFrame: same rules, same messages as from a file ----------------------

def test_dataframe_gets_the_same_problems_as_the_file(tmp_path):
    rows = [record(), record(runner_id="B", cramped=3), record(runner_id="C", ref_time_s="fast")]
    path = write_csv(tmp_path / "r.csv", rows)
    with pytest.raises(cramp.InputError) as from_file:
        cramp.load_records(path)
    with pytest.raises(cramp.InputError) as from_frame:
        cramp.load_records(pd.DataFrame(rows))
    label = "<race records DataFrame>"
    assert [p.replace(str(path), label) for p in from_file.value.problems] == \
        from_frame.value.problems
    assert any("row 2, column cramped: must be 0 or 1" in p for p in from_frame.value.problems)


def test_dataframe_missing_values_and_booleans_are_read_as_a_file_would_be(tmp_path):
    frame = pd.DataFrame([record(ck_pre_u_per_l=150.0), record(runner_id="B", cramped=1)])
    frame["ck_pre_u_per_l"] = frame["ck_pre_u_per_l"].astype(float)  # NaN for runner B
    frame["cramped"] = frame["cramped"].astype(bool)
    records = cramp.load_records(frame)
    assert records.table["cramped"].tolist() == [0, 1]
    assert np.isnan(records.table["ck_pre_u_per_l"].iloc[1])
    path = tmp_path / "r.csv"
    frame.astype({"cramped": int}).to_csv(path, index=False)
    from_file = cramp.load_records(path).table
    pd.testing.assert_frame_equal(records.table, from_file, check_dtype=False)
    assert len(records.sha256) == 64
    assert cramp.load_records(frame.copy()).sha256 == records.sha256


# --- scenarios as objects --------------------------------------------------------------------

@pytest.fixture(scope="module")
def goal():
    return cramp.Scenario.load("goal_marathon_runner")


def test_replace_merges_a_table_and_is_validated(goal):
    longer = goal.replace(runner={"taper_days": 21})
    assert longer.spec.runners.attributes["taper_days"].a == 21
    assert goal.spec.runners.attributes["taper_days"].a == 10  # the original is unchanged
    with pytest.raises(cramp.InputError) as bad:
        goal.replace(runner={"taper_days": -3})
    assert "goal_marathon_runner.toml with changes: runner.taper_days" in bad.value.problems[0]


def test_from_dict_runs_like_the_file(goal):
    again = cramp.Scenario.from_dict(goal.document)
    a, b = goal.run(draws=30), again.run(draws=30)
    np.testing.assert_array_equal(a.dataset["risk"], b.dataset["risk"])


def test_an_added_plan_leaves_the_others_unchanged(goal):
    base = goal.run(draws=40, seed=2)
    more = goal.with_intervention("slow", cramp.SlowerPace(6) + cramp.TaperDays(21)).run(
        draws=40, seed=2)
    assert list(more.table().index)[-1] == "slow" and more.table().index[0] == "baseline"
    np.testing.assert_array_equal(base.dataset["risk"], more.dataset["risk"].isel(
        intervention=slice(0, -1)))
    assert "slow: 6% slower pace + 21-day taper" in more.dataset.attrs["added_interventions"]
    with pytest.raises(cramp.InputError, match="already exists"):
        goal.with_intervention("even pacing", cramp.EvenPacing())


def test_result_table_conclusions_plots_and_save(goal, tmp_path):
    result = goal.run(draws=40, seed=5)
    table = result.table()
    assert table.index[0] == "baseline" and len(table) == len(goal.spec.interventions)
    assert (table["risk lo [%]"] <= table["risk mean [%]"]).all()
    assert result.conclusions()[0].startswith("As planned")
    fig, axes = plt.subplots(1, 3)
    assert result.plot_risk(ax=axes[0]) is fig
    assert result.plot_onset(axes=axes[1:]) is fig
    with pytest.raises(ValueError, match="needs 2 axes"):
        result.plot_risk_vs_time(axes=axes[0])
    paths = result.save(tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == sorted(
        ["result.nc", "comparison.json", "course.csv", "risk.png", "risk_vs_time.png",
         "onset.png", "provenance.json"])
    assert json.loads(paths["json"].read_text())["scenario"] == goal.name
    with pytest.raises(cramp.InputError, match="already exists"):
        result.save(tmp_path / "out")
    assert result.save(tmp_path / "out", force=True) == paths
    provenance = result.provenance()["value"]
    assert provenance["seed"] == 5 and provenance["scenario_sha256"] == goal.spec.sha256


def test_onset_curves_are_computed_once_per_result(goal, monkeypatch):
    """The onset plot and `onset_curves` share one computation (they were one each)."""
    import scenarios.compare as compare

    calls = []
    original = compare.course_curves

    def counted(dataset):
        calls.append(dataset)
        return original(dataset)

    monkeypatch.setattr(compare, "course_curves", counted)
    result = goal.run(draws=20)
    curves = result.onset_curves()
    result.plot_onset()
    result.plot_onset()
    plt.close("all")
    assert len(calls) == 1
    assert curves.identical(result.onset_curves())


def test_run_rejects_too_few_draws(goal):
    with pytest.raises(cramp.InputError, match="draws must be >= 2"):
        goal.run(draws=1)


def test_catalogue_lists_what_validated_loading_finds():
    catalogue = cramp.Scenario.catalogue()
    shipped = cramp.Scenario.shipped()
    assert set(catalogue) == set(shipped) and len(shipped) >= 4
    for stem, (title, plans) in catalogue.items():
        assert title == shipped[stem].name
        assert plans == list(shipped[stem].spec.interventions)[1:]


def test_parquet_with_missing_values_and_booleans_reads_like_csv(tmp_path):
    """Parquet keeps types: NaN in optional columns and a boolean `cramped` (issue 19)."""
    frame = pd.DataFrame([record(ck_pre_u_per_l=150.0, cramp_km=30.0, cramped=1),
                          record(runner_id="B")])
    frame["cramped"] = frame["cramped"].astype(bool)
    parquet, csv = tmp_path / "r.parquet", tmp_path / "r.csv"
    frame.to_parquet(parquet, index=False)
    frame.astype({"cramped": int}).to_csv(csv, index=False)
    from_parquet, from_csv = cramp.load_records(parquet).table, cramp.load_records(csv).table
    pd.testing.assert_frame_equal(from_parquet, from_csv, check_dtype=False)
    assert np.isnan(from_parquet["ck_pre_u_per_l"].iloc[1])


@pytest.mark.parametrize(("changes", "key"), [
    ({"race": {"distance_km": float("nan")}}, "race.distance_km"),
    ({"race": {"elevation_m": [[0, 10], [20, float("nan")], [42.195, 10]]}}, "race.elevation_m"),
    ({"runner": {"longest_run_km": float("inf")}}, "runner.longest_run_km"),
    ({"cramp_time_loss": {"stop_s": float("nan")}}, "cramp_time_loss.stop_s"),
])
def test_nan_and_inf_are_refused_with_the_key(goal, changes, key):
    """NaN passes every `value < low or value > high` test; TOML allows `nan` (issue 19)."""
    with pytest.raises(cramp.InputError) as bad:
        goal.replace(**changes)
    assert any(f": {key}:" in problem and "finite" in problem for problem in bad.value.problems)


def test_nan_in_a_scenario_file_is_refused(tmp_path):
    text = cramp.Scenario.load("city_marathon_warm").spec.text
    assert "temp_c = [18.0," in text
    text = text.replace("temp_c = [18.0,", "temp_c = [nan, ", 1)
    path = tmp_path / "nan.toml"
    path.write_text(text)
    with pytest.raises(cramp.InputError) as bad:
        cramp.Scenario.load(path)
    assert any("weather.temp_c" in problem and "finite" in problem
               for problem in bad.value.problems)


def test_a_run_does_not_overwrite_what_another_run_wrote_meanwhile(goal, tmp_path):
    """Two runs on one output folder both pass the check before the work; the one finishing
    second must not replace the first's files without force (issue 19)."""
    from model.provenance import write_atomic

    result = goal.run(draws=20)
    target = tmp_path / "out"
    paths = goal.output_paths(target)  # the check before the work passes: nothing there yet
    other_run = result.save(target)  # ... then another run saves first
    before = other_run["json"].read_bytes()
    with pytest.raises(cramp.InputError, match="another run meanwhile"):
        write_atomic(paths["json"], lambda tmp: tmp.write_text("this run"))
    assert paths["json"].read_bytes() == before
    assert not list(target.glob(".cramp-*"))  # no temporary file left behind
    write_atomic(paths["json"], lambda tmp: tmp.write_text("this run"), force=True)
    assert paths["json"].read_text() == "this run"


def test_fit_checks_work_on_data_without_onset_km(tmp_path):
    """Published cohorts rarely record where a cramp began (issue 18): the onset check says so
    instead of failing, and onset_check itself gives a clear error."""
    from model.hazard.features import build_features
    from model.hazard.forward import prior_draws
    from model.validation.checks import onset_check

    table, _ = cramp.synthesize(60, 2)
    records = cramp.load_records(table.drop(columns=["cramp_km"]))
    draws = prior_draws(cramp.load_priors(), 20, 0)
    draws["race_effect"] = (("draw", "race"), np.zeros((20, records.table["race_id"].nunique())))
    posterior = draws.expand_dims(chain=[0])
    fit = cramp.Fit(xr.DataTree.from_dict({"posterior": posterior}), records=records)
    figure = fit.plot_onset_check()
    assert "no observed onset positions" in figure.axes[0].texts[0].get_text()
    with pytest.raises(cramp.InputError, match="no cramp in these records has a recorded onset"):
        onset_check(build_features(records), draws)


def test_console_script_leaves_through_os_exit_after_the_exit_handlers(monkeypatch):
    """`main` ends the process itself (no interpreter teardown), after the exit handlers."""
    import cramp.cli
    from cramp.cli import startup

    calls = []

    class Left(Exception):
        pass

    def leave(code):
        calls.append(("exit", code))
        raise Left

    monkeypatch.setattr(startup.os, "_exit", leave)
    monkeypatch.setattr(startup.atexit, "_run_exitfuncs", lambda: calls.append(("handlers",)))
    monkeypatch.setattr(sys, "argv", ["cramp", "scenarios"])
    with pytest.raises(Left):
        cramp.cli.main()
    assert calls == [("handlers",), ("exit", 0)]


def test_simulate_prints_the_answer_before_the_files_are_written(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cramp.cli import app
    from cramp.simulation import SimulationResult

    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SimulationResult, "save", disk_full)
    result = CliRunner().invoke(app, ["simulate", "goal_marathon_runner", "--draws", "20",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "even pacing" in result.stdout, result.stdout  # the comparison table's plans
    assert "No space left on device" in result.output
