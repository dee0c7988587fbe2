"""The baseline priors are calibrated on published in-race figures (model/evidence/
published_figures.toml): re-running the calibration reproduces the shipped priors file, and the
calibrated prior predicts every fitted figure within its 90% prior predictive interval."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from model.errors import InputError
from model.evidence.calibration import BASELINE
from model.evidence.figures import DEFAULT_FIGURES_PATH, load_figures


@pytest.fixture(scope="module")
def calibrated():
    from cramp.calibration import calibrate_priors

    return calibrate_priors()


def test_rerunning_the_calibration_reproduces_the_shipped_priors_file(calibrated, priors):
    assert calibrated.baseline() == calibrated.current()
    assert calibrated.new_text() == Path(priors.path).read_text(encoding="utf-8")
    for name in BASELINE:
        assert set(priors[name].evidence) == {"E15", "E16", "E3"}


def test_calibrated_prior_predicts_each_fitted_figure_within_its_interval(priors):
    from model.evidence.figure_check import figure_table

    figures = load_figures()
    table = figure_table(priors, figures, n_draws=400, seed=0,
                         prob=figures.settings["interval_prob"])
    fitted = table[table["use"] == "likelihood"]
    assert len(fitted) == 5  # E15 incidence, onset mean and SD; E16; E3
    assert fitted["inside"].all(), fitted[["study", "figure", "published", "lo", "hi"]]
    # the onsets are late: E15's field puts the median onset past 30 km
    onset = fitted[fitted["figure"] == "onset km, mean"].iloc[0]
    assert onset["predicted"] > 31


def test_write_changes_only_the_baseline_entries(calibrated, priors, tmp_path):
    from dataclasses import replace

    from cramp.calibration import CalibratedPriors
    from model.evidence.priors import load_priors

    text = Path(priors.path).read_text(encoding="utf-8")
    old = text.replace("mu = -9.55\n", "mu = -7.0\n", 1).replace("Calibrated by", "Set by", 2)
    copy = tmp_path / "priors.toml"
    copy.write_text(old, encoding="utf-8")
    result = CalibratedPriors(calibrated.calibration, load_priors(copy), calibrated.figures_path)
    with pytest.raises(InputError, match="written by hand"):
        result.write()
    result.write(force=True)
    assert copy.read_text(encoding="utf-8") == text
    assert replace(load_priors(copy)["heat"]) == priors["heat"]


@pytest.mark.parametrize(("old", "new", "message"), [
    ('id = "E15"', 'id = "Maughan"', "study 1: id must be an evidence row id"),
    ("numerator = 15\n", "numerator = 95\n", "study 1 (E15) figure 1: needs 0 <= numerator"),
    ('link = "in_race"\nuse = "likelihood"\nnumerator = 21',
     'link = "onset_mean_sd"\nuse = "likelihood"\nnumerator = 21', "needs a link for incidence"),
    ("cramp_history_share = 0.3,", "cramp_history_share = 3,", "field.cramp_history_share must"),
    ("seed = 20261122\n", "", "[calibration] seed is missing"),
])
def test_bad_figures_file_names_study_key_and_rule(tmp_path, old, new, message):
    text = DEFAULT_FIGURES_PATH.read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "figures.toml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(message)):
        load_figures(bad)
