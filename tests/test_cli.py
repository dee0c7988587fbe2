"""End-to-end through the command line: synth -> check -> fit, outputs, provenance, no
overwrite, reproducibility."""

import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from model.hazard.specification import FACTORS


def cramp(*args, cwd):
    return subprocess.run([sys.executable, "-m", "cramp.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    made = cramp("synth", "--runners", 1200, "--seed", 4, "--out", tmp / "d.csv", cwd=tmp)
    assert made.returncode == 0, made.stderr
    runs = []
    for name in ("a.nc", "b.nc"):
        result = cramp("fit", tmp / "d.csv", "--splits", tmp / "d_splits.csv", "--draws", 300,
                       "--tune", 300, "--seed", 9, "--out", tmp / name, cwd=tmp)
        assert result.returncode == 0, result.stderr
        runs.append(result)
    return tmp, runs


def test_check_accepts_the_synthetic_cohort(fitted):
    tmp, _ = fitted
    result = cramp("check", tmp / "d.csv", "--splits", tmp / "d_splits.csv", cwd=tmp)
    assert result.returncode == 0 and "1200 runner-race records" in result.stdout


def test_fit_prints_intervals_and_diagnostics(fitted):
    _, (run, _) = fitted
    assert "95% equal-tailed credible interval" in run.stdout
    assert "beta[relative_pace]" in run.stdout
    assert "diagnostics: max R-hat" in run.stdout
    # the synthetic cohort has splits: its unknown onsets are located, the slowdown (+15%) learnt
    assert "located by their splits" in run.stdout and "pace after a cramp +1" in run.stdout
    assert "drift" in run.stdout
    assert "another pace step (a fast start paid back, the wall) in " in run.stdout


def test_posterior_is_labelled_and_carries_provenance(fitted):
    tmp, _ = fitted
    tree = xr.open_datatree(tmp / "a.nc", engine="h5netcdf")
    beta = tree["posterior"]["beta"]
    assert list(beta["factor"].to_numpy()) == list(FACTORS)
    assert "doubling" in str(beta["factor_unit"].sel(factor="muscle_damage").to_numpy())
    assert "lowers" in str(beta["factor_sign"].sel(factor="taper").to_numpy())
    attrs = tree.attrs
    assert attrs["seed"] == 9 and len(attrs["data_sha256"]) == 64
    assert len(attrs["priors_sha256"]) == 64 and "relative_pace" in attrs["priors"]
    assert "pymc" in json.loads(attrs["cramp_risk_packages"])
    assert attrs["n_onset_located_by_splits"] == attrs["n_onset_unknown"] > 0
    assert abs(float(attrs["onset_slowdown_ln_pace"]) - np.log(1.15)) < 0.03
    assert float(attrs["split_drift_sd_ln_pace_per_sqrt_km"]) > 0


def test_same_inputs_and_seed_give_identical_posteriors(fitted):
    tmp, _ = fitted
    a = xr.open_datatree(tmp / "a.nc", engine="h5netcdf")["posterior"].to_dataset()
    b = xr.open_datatree(tmp / "b.nc", engine="h5netcdf")["posterior"].to_dataset()
    for name in ("beta", "runner_sd", "race_sd", "log_hazard_per_km"):
        np.testing.assert_array_equal(a[name].to_numpy(), b[name].to_numpy())


def test_existing_output_is_not_overwritten_without_force(fitted):
    tmp, _ = fitted
    before = (tmp / "a.nc").read_bytes()
    result = cramp("fit", tmp / "d.csv", "--out", tmp / "a.nc", cwd=tmp)
    assert result.returncode == 2 and "use --force" in result.stderr
    assert (tmp / "a.nc").read_bytes() == before
    again = cramp("synth", "--runners", 10, "--out", tmp / "d.csv", cwd=tmp)
    assert again.returncode == 2


def test_priors_command_lists_every_prior_with_evidence(tmp_path):
    result = cramp("priors", cwd=tmp_path)
    assert result.returncode == 0
    for name in ("relative_pace", "excess_distance", "muscle_damage", "taper", "heat",
                 "cramp_history", "log_hazard_per_km"):
        assert name in result.stdout.replace("\n", "")


def test_simulate_on_the_literature_prior_prints_json_and_writes_outputs(tmp_path):
    args = ("simulate", "city_marathon_warm", "--draws", 40, "--json", "--out", tmp_path / "s")
    result = cramp(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "literature prior" in result.stderr
    table = json.loads(result.stdout)
    assert table["interval"] == {"kind": "eti", "prob": 0.95}
    names = [row["name"] for row in table["interventions"]]
    assert names[0] == "baseline" and "3% slower + 14-day taper" in names
    for name in ("result.nc", "comparison.json", "course.csv", "risk.png", "risk_vs_time.png",
                 "onset.png"):
        assert (tmp_path / "s" / name).stat().st_size > 0
    again = cramp(*args, cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    forced = cramp(*args, "--force", cwd=tmp_path)
    assert forced.returncode == 0 and json.loads(forced.stdout) == table


def test_simulate_with_a_posterior_records_provenance(fitted, tmp_path):
    tmp, _ = fitted
    result = cramp("simulate", "goal_marathon_runner", "--posterior", tmp / "a.nc", "--draws",
                   100, "--json", "--out", tmp_path / "s", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "posterior" in json.loads(result.stdout)["parameters"]
    ds = xr.open_dataset(tmp_path / "s" / "result.nc", engine="h5netcdf")
    assert ds.sizes["draw"] == 100
    for key in ("scenario_sha256", "data_sha256", "priors_sha256", "cramp_risk_packages"):
        assert ds.attrs[key], key
    assert ds.attrs["seed"] == 4  # the scenario file's seed


@pytest.mark.parametrize("edit, key", [
    (lambda raw: raw + '\n[[intervention]]\nname = "x"\nice_bath = true\n', "ice_bath"),
    (lambda raw: raw.replace('start_time = "08:30"', 'start_time = "11:30"'), "weather.hours"),
    (lambda raw: raw.replace("distance_km = 42.195", "distance_km = -42.195"), "distance_km"),
    (lambda raw: raw.replace('target_time = "3:30:00"', 'target_time = "9:30:00"'), "walking"),
])
def test_bad_scenario_exits_2_naming_the_key(tmp_path, edit, key):
    from scenarios.spec import LIBRARY

    path = tmp_path / "bad.toml"
    path.write_text(edit((LIBRARY / "goal_marathon_runner.toml").read_text()))
    result = cramp("simulate", path, "--draws", 10, "--out", tmp_path / "o", cwd=tmp_path)
    assert result.returncode == 2
    assert key in result.stderr and "bad.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_adaptation_exits_2(fitted, tmp_path):
    tmp, _ = fitted
    result = cramp("fit", tmp / "d.csv", "--adaptation", "dense", "--out", tmp_path / "f.nc",
                   cwd=tmp_path)
    assert result.returncode == 2 and "--adaptation" in result.stderr


def test_outputs_are_ordinary_readable_files(tmp_path):
    import os

    from model.provenance import write_atomic

    target = tmp_path / "out.txt"
    write_atomic(target, lambda tmp: tmp.write_text("x"))
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_auto_adaptation_is_low_rank_only_for_large_cohorts():
    from model.inference.fit import LOW_RANK_FROM_RECORDS, choose_adaptation

    assert choose_adaptation(LOW_RANK_FROM_RECORDS - 1) == "diag"
    assert choose_adaptation(LOW_RANK_FROM_RECORDS) == "low_rank"
    assert choose_adaptation(100, "low_rank") == "low_rank"
    with pytest.raises(ValueError, match="auto, diag or low_rank"):
        choose_adaptation(100, "dense")


def test_nutpie_takes_the_low_rank_settings_of_a_fit():
    """CI's fits are below LOW_RANK_FROM_RECORDS (diag): this one samples with low_rank's
    settings, which nutpie refuses by name if it does not know them."""
    import nutpie
    import pymc as pm

    from model.inference.fit import LOW_RANK_EIGVAL_CUTOFF, adaptation_options

    options = adaptation_options("low_rank")
    assert options == {"adaptation": "low_rank",
                       "mass_matrix_eigval_cutoff": LOW_RANK_EIGVAL_CUTOFF}
    assert adaptation_options("diag") == {"adaptation": "diag"}
    with pm.Model() as model:
        pm.Normal("x", 0.0, 1.0, shape=3)
    tree = nutpie.sample(nutpie.compile_pymc_model(model), draws=50, tune=50, chains=1, seed=1,
                         progress_bar=False, **options)
    assert tree["posterior"]["x"].shape == (1, 50, 3)
