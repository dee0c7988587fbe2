"""The literature prior alone gives sensible incidence and late onsets (evidence.md base rates:
14-21% in-race incidence in long events, ~6% treated; most cramps late in the race)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from model.kernel import cell_log_rate, cramp_probability, onset_distribution
from model.prior_predictive import prior_predictive, summarize


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

    from model.synth import draw_field, field_features, truth_dataset

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
    assert (tmp_path / "pc" / "prior_predictive.png").stat().st_size > 10_000
