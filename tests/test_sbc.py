"""Simulation-based calibration (model/validation/sbc.py, sbc_plot.py, `cramp sbc`).

Fast: the rank-uniformity verdict's bands hold their level and catch a miscalibration; a few
replications of a tiny design give the same ranks in-process and on a 2-worker LocalCluster
(seeded from (base seed, index) only); the command writes its outputs and refuses a bad design.

Slow (`pytest -m slow`): 100 replications of a small cell; every parameter's rank ECDF must stay
inside its simultaneous band. Multiple testing across the 13 parameters: each band is at level
1 - 0.05/13 (Bonferroni), so a calibrated model fails this test with probability at most 5%.
"""

import json

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from model.validation.sbc import (
    PARAMETERS,
    FitSettings,
    SbcDesign,
    design_named,
    replication_seeds,
    run_sbc,
)
from model.validation.sbc_plot import (
    family_prob,
    inside,
    rank_verdicts,
    simultaneous_band,
)

TINY = SbcDesign("tiny", 80, 2)
QUICK_FIT = FitSettings(draws=150, tune=150)
SEED = 3


def test_bands_hold_their_level_and_catch_a_shift():
    """Uniform PITs leave the 95% band about 5% of the time (fixed seed, 2000 samples: 5% +/- 1.5
    points is 3 binomial SDs); PITs squeezed towards the middle (over-wide posteriors) or
    shifted (a biased posterior) are outside."""
    rng = np.random.default_rng(0)
    band = simultaneous_band(100, 0.95)
    outside = 1.0 - np.mean([inside(rng.random(100), band) for _ in range(2000)])
    assert 0.035 <= outside <= 0.065, outside
    assert not inside(0.5 + 0.5 * (rng.random(100) - 0.5), band)
    assert not inside(rng.random(100) ** 1.6, band)
    assert family_prob(13) == pytest.approx(1 - 0.05 / 13)


def test_seeds_depend_on_base_seed_and_index_only():
    assert replication_seeds(1, 4) == replication_seeds(1, 4)
    assert len({replication_seeds(1, i) for i in range(50)} | {replication_seeds(2, 0)}) == 51


def test_bad_design_is_input_error():
    from model.errors import InputError

    with pytest.raises(InputError, match="unknown; choose one of one_race_300"):
        design_named("two_races")
    with pytest.raises(InputError, match="CK measured share"):
        design_named("one_race_300", ck_measured_fraction=1.5)


@pytest.fixture(scope="module")
def in_process(priors):
    return run_sbc(TINY, 3, seed=SEED, priors=priors, settings=QUICK_FIT)


def test_replications_are_the_same_on_a_local_cluster(in_process, priors):
    ds = in_process
    assert set(ds["parameter"].to_numpy()) == set(PARAMETERS)
    assert ds.sizes == {"replication": 3, "parameter": len(PARAMETERS)}
    assert np.all((ds["rank"] >= 0) & (ds["rank"] <= ds["n_ranked"]))
    assert ds["compiled"].to_numpy()[1:].sum() == 0  # one process: compiled once at most
    on_dask = run_sbc(TINY, 3, seed=SEED, priors=priors, settings=QUICK_FIT,
                      scheduler="local", n_workers=2)
    for name in ("truth", "rank", "n_ranked", "pit", "posterior_mean"):
        xr.testing.assert_equal(on_dask[name], ds[name])
    assert len(set(on_dask["worker_pid"].to_numpy())) <= 2
    table = rank_verdicts(ds)
    assert list(table.index) == list(PARAMETERS)


def test_command_writes_outputs_and_refuses_bad_design(tmp_path, in_process):
    from cramp.cli import app

    runner = CliRunner()
    bad = runner.invoke(app, ["sbc", "two_races", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
    assert "unknown; choose one of" in bad.stderr
    assert not (tmp_path / "x").exists()
    folder = tmp_path / "sbc"
    result = runner.invoke(app, ["sbc", "one_race_300", "--records", str(TINY.n_records),
                                 "--races", str(TINY.n_races), "-n", "2", "--draws", "100",
                                 "--tune", "100", "--out", str(folder)])
    assert result.exit_code == 0, result.output + result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["provenance.json", "sbc.nc", "sbc.png"]
    ds = xr.load_dataset(folder / "sbc.nc", engine="h5netcdf")
    assert ds.sizes["replication"] == 2
    assert json.loads(ds.attrs["sbc_design"])["n_records"] == TINY.n_records
    assert "beta[cramp_history]" in result.stdout and "replication 2/2" in result.stderr
    again = runner.invoke(app, ["sbc", "one_race_300", "-n", "2", "--out", str(folder)])
    assert again.exit_code == 2 and "already exists" in again.stderr


SLOW_DESIGN = "one_race_300"
SLOW_REPLICATIONS = 100


@pytest.mark.slow
def test_simulation_based_calibration(priors):
    """100 prior draws of a 300-runner one-race cohort (`cramp sbc one_race_300 -n 100`):
    every parameter's rank ECDF inside its family band (Bonferroni over the parameters)."""
    ds = run_sbc(design_named(SLOW_DESIGN), SLOW_REPLICATIONS, seed=2026, priors=priors,
                 scheduler="local", n_workers=2)
    table = rank_verdicts(ds)
    assert table["ecdf_in_family_band"].all(), table.to_string()


def test_kernel_point_is_the_models_likelihood_at_the_truth(priors):
    """The kernel's arguments at a generator truth (`kernel_point`, with the cohort's race
    effects from `design_race_effects`) give the PyMC model's log-likelihood at the same values
    of its own variables: so the quadrature and score checks (tests/test_quadrature_accuracy.py,
    bench/score_check.py) are evaluated at the parameters the cohort was drawn with."""
    import pytensor

    from model.data.records import RaceRecords
    from model.hazard.features import build_features
    from model.hazard.specification import FACTORS
    from model.inference.hazard_model import build_model, kernel_data, prepare
    from model.inference.likelihood_kernel import loglik_and_gradient
    from model.inference.sampler_point import sampler_point
    from model.validation.sbc import design_cohort, design_race_effects, kernel_point
    from model.validation.synth import DEFAULT_TRUTH, synthesize

    truth = {**DEFAULT_TRUTH, "race_sd": 0.6}
    records, splits = design_cohort(TINY, SEED, truth, synthesize)
    features = build_features(RaceRecords(records, splits, "kernel_point", ""))
    d = prepare(features)
    race_effect = design_race_effects(TINY, SEED, truth, features["race"].to_numpy())
    assert np.all(race_effect != 0) and race_effect.size == TINY.n_races
    mine = loglik_and_gradient(*kernel_point(d, truth, race_effect),
                               *kernel_data(d, 9, 5).arrays())[0]
    model = build_model(features, priors, n_nodes_runner=9, n_nodes_damage=5)
    values = sampler_point(model, {**truth, "beta": [truth["beta"][f] for f in FACTORS],
                                   "race_effect": race_effect})
    (loglik,) = model.replace_rvs_by_values([model["loglik"]])
    f = pytensor.function(model.value_vars, loglik, on_unused_input="ignore", mode="FAST_COMPILE")
    assert mine == pytest.approx(float(f(**{v.name: values[v.name] for v in model.value_vars})),
                                 rel=1e-12)
