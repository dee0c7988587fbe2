"""What the data cannot tell and which conclusions depend on the priors: contraction and the
'not informed' flag (model/inference/identification.py), power-scaling sensitivity
(model/inference/sensitivity.py), on a small fit of one race at one WBGT with every runner seen
once, and kept in the saved fit."""

import numpy as np
import pytest
import xarray as xr

import cramp
from model.hazard.specification import FACTORS
from model.inference.identification import (
    CONTRACTION_THRESHOLD,
    identification_table,
    prior_sd,
    structural_reasons,
)


def one_race_cohort(n: int = 300):
    """A synthetic cohort made into one race at a single WBGT, every runner once, no splits."""
    table, _ = cramp.synthesize(n, 1)
    return table.assign(race_id="one", wbgt_c=22.0, runner_id=[f"P{i}" for i in range(n)])


@pytest.fixture(scope="module")
def one_race_fit():
    return cramp.fit(cramp.load_records(one_race_cohort()), draws=300, tune=300, seed=1)


def test_the_design_says_what_it_cannot_inform():
    from model.hazard.features import build_features

    reasons = structural_reasons(build_features(cramp.load_records(one_race_cohort(60))))
    assert "WBGT" in reasons["beta[heat]"] and "one race" in reasons["race_sd"]
    assert "one race only" in reasons["runner_sd"]
    assert "beta[relative_pace]" not in reasons and "beta[muscle_damage]" not in reasons
    no_ck = one_race_cohort(60).assign(ck_pre_u_per_l=np.nan)
    reasons = structural_reasons(build_features(cramp.load_records(no_ck)))
    assert {"beta[muscle_damage]", "ck_log_mean", "ck_log_sd", "ck_taper_effect"} <= set(reasons)


def test_contraction_is_one_minus_the_variance_ratio(priors):
    rng = np.random.default_rng(0)
    # relative_pace's posterior SD a fifth of its prior's (contraction 0.96); the rest = prior
    sd = np.array([priors[f].sigma for f in FACTORS]) * np.where(
        np.array(FACTORS) == "relative_pace", 0.2, 1.0)
    posterior = xr.Dataset({"beta": (("chain", "draw", "factor"),
                                     rng.normal(0, 1, (2, 4000, len(FACTORS))) * sd)},
                           coords={"factor": list(FACTORS)})
    for name in ("log_hazard_per_km", "distance_shape", "runner_sd", "race_sd", "ck_log_mean",
                 "ck_log_sd", "ck_taper_effect"):
        posterior[name] = (("chain", "draw"), rng.normal(0, prior_sd(priors, name), (2, 4000)))
    table = identification_table(posterior, priors)
    assert table.loc["beta[relative_pace]", "contraction"] == pytest.approx(0.96, abs=0.01)
    assert abs(table.loc["beta[heat]", "contraction"]) < 0.05  # posterior = prior: flagged
    assert not table.loc["beta[heat]", "informed"]
    assert f"less than {CONTRACTION_THRESHOLD:.0%}" in table.loc["beta[heat]", "reason"]
    assert table.loc["beta[relative_pace]", "informed"]


@pytest.mark.slow
def test_one_race_at_one_wbgt_flags_heat_and_race_sd_not_pace(one_race_fit):
    summary = one_race_fit.summary()
    assert {"contraction", "data"} <= set(summary.columns)
    for name in ("beta[heat]", "race_sd"):
        assert summary.loc[name, "data"].startswith("NOT INFORMED"), name
    assert summary.loc["beta[relative_pace]", "data"] == "informs"
    assert summary.loc["beta[relative_pace]", "contraction"] > 0.3
    # heat is flagged for the design, whatever its contraction: with one WBGT the data pin only
    # baseline + heat together, and heat narrows through that correlation, not from data on it
    assert any(line.startswith("beta[heat]: the same WBGT") for line in one_race_fit.not_informed())


@pytest.mark.slow
def test_the_saved_fit_keeps_what_the_data_cannot_tell(one_race_fit, tmp_path):
    path = one_race_fit.save(tmp_path / "fit.nc")
    loaded = cramp.Fit.load(path)
    assert loaded.priors is None and loaded.records is None
    assert loaded.summary()["data"].equals(one_race_fit.summary()["data"])
    assert loaded.attrs["excluded_evidence"] == ""


@pytest.mark.slow
def test_power_scaling_finds_the_prior_where_the_data_are_silent(one_race_fit):
    from model.inference.sensitivity import SENSITIVITY_THRESHOLD

    table = one_race_fit.power_scaling()
    # heat: strong prior, one WBGT -> its posterior is its prior; the CK mediator: ~180 CK
    # values pin it whatever the prior says
    assert table.loc["beta[heat]", "prior"] > SENSITIVITY_THRESHOLD
    assert table.loc["beta[heat]", "likelihood"] < SENSITIVITY_THRESHOLD
    assert table.loc["beta[heat]", "diagnosis"].startswith("strong prior, weak data")
    assert table.loc["ck_log_mean", "prior"] < SENSITIVITY_THRESHOLD
    assert table.loc["ck_log_mean", "diagnosis"].startswith("data-driven")
