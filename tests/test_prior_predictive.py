"""The literature prior alone gives sensible incidence and late onsets (evidence.md base rates:
14-21% in-race incidence in long events, ~6% treated; most cramps late in the race)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from model.evidence.prior_predictive import prior_predictive, summarize
from model.hazard.forward import cell_log_rate, cramp_probability, onset_distribution


@pytest.fixture(scope="module")
def summary(priors):
    return summarize(prior_predictive(priors, n_runners=600, n_draws=300, seed=1))


def test_marathon_and_ultra_incidence_are_plausible(summary):
    marathon, ultra = summary["marathon"], summary["ultra_56km"]
    assert 0.04 < marathon["incidence_median"] < 0.25
    assert 0.08 < ultra["incidence_median"] < 0.40
    assert ultra["incidence_median"] > marathon["incidence_median"]  # E7: longer races, more
    # honest uncertainty: the interval spans rare to common without covering everything
    assert marathon["incidence_lo"] < 0.05 and marathon["incidence_hi"] < 0.8


def test_most_onsets_are_late(summary):
    for field in summary.values():
        assert field["onset_second_half_median"] > 0.6


def test_onset_distribution_sums_to_cramp_probability(tmp_path):
    import xarray as xr

    from model.validation.synth import draw_field, field_features, truth_dataset

    field = draw_field(50, np.random.default_rng(0), n_races=1)
    features = field_features(field, np.zeros(50))
    log_rate = cell_log_rate(features, truth_dataset())
    np.testing.assert_allclose(onset_distribution(log_rate).sum("segment"),
                               cramp_probability(log_rate), rtol=1e-12)
    assert isinstance(log_rate, xr.DataArray) and log_rate.dims == ("record", "segment")


def test_prior_check_command_writes_outputs_and_json(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cramp.cli", "prior-check", "--draws", "50",
                             "--runners", "200", "--json", "--out", str(tmp_path / "pc")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["interval"] == {"kind": "eti", "prob": 0.95}
    assert set(payload["fields"]) == {"marathon", "ultra_56km"}
    rows = payload["figures"]["rows"]
    assert payload["figures"]["interval_prob"] == 0.9
    assert {"E15", "E16", "E3"} <= {r["study"] for r in rows if r["use"] == "likelihood"}
    assert (tmp_path / "pc" / "prior_predictive.png").stat().st_size > 10_000
    # one set under one run id, and a second run on the folder is refused before the work
    manifest = json.loads((tmp_path / "pc" / "provenance.json").read_text())
    assert set(manifest["files"]) == {"prior_predictive.nc", "prior_predictive.png"}
    from cramp.prior_analysis import PriorCheck

    with PriorCheck.claim_output(tmp_path / "other"):
        second = subprocess.run([sys.executable, "-m", "cramp.cli", "prior-check", "--out",
                                 str(tmp_path / "other")], capture_output=True, text=True,
                                cwd=tmp_path, timeout=120)
    assert second.returncode == 2 and "in use by another run" in second.stderr


def test_prediction_for_new_runners_matches_monte_carlo():
    """The quadrature over unknown runner/race effects and unmeasured CK agrees with brute-force
    Monte Carlo over the same distributions (within 4 Monte Carlo standard errors)."""
    from model.hazard.forward import predict_cramp_probability
    from model.hazard.specification import CK_REFERENCE_U_PER_L
    from model.validation.synth import draw_field, field_features, truth_dataset

    rng = np.random.default_rng(3)
    field = draw_field(6, rng, n_races=1)
    damage = np.array([0.5, np.nan, -1.0, np.nan, 0.0, 1.2])
    features = field_features(field, damage)
    params = truth_dataset({"runner_sd": 0.8, "race_sd": 0.5}).expand_dims(draw=[0])
    predicted = predict_cramp_probability(features, params).isel(draw=0).to_numpy()

    n = 200_000
    p = params.isel(draw=0)
    effect = rng.normal(0, np.hypot(0.8, 0.5), n)
    log_ck = (float(p["ck_log_mean"]) + float(p["ck_taper_effect"]) * features["taper"].to_numpy()
              + float(p["ck_log_sd"]) * rng.standard_normal((n, 6)))
    sampled_damage = np.where(np.isnan(damage), (log_ck - np.log(CK_REFERENCE_U_PER_L))
                              / np.log(2.0), damage)
    base = cell_log_rate(features.assign(muscle_damage=features["muscle_damage"].fillna(0)), p)
    cumulative = np.exp(base).sum("segment").to_numpy()
    beta_damage = float(p["beta"].sel(factor="muscle_damage"))
    shift = beta_damage * (sampled_damage - np.nan_to_num(damage))
    probability = 1 - np.exp(-cumulative * np.exp(effect[:, None] + shift))
    mc, se = probability.mean(0), probability.std(0) / np.sqrt(n)
    assert np.all(np.abs(predicted - mc) < 4 * se + 1e-4), (predicted, mc, se)
