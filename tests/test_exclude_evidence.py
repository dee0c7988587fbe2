"""Leaving a study's evidence out of the priors (issue: the default priors count the re-analysed
study twice): the rule of priors.toml's `source`/`fallback`, its messages, the calibration's
figures, the command line, and the record in a fit."""

import subprocess
import sys
from pathlib import Path

import pytest

from model.errors import InputError
from model.evidence.priors import BASELINE, load_priors, parse_evidence_ids
from model.hazard.specification import FACTORS


def cramp(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cramp.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def test_a_prior_sized_by_the_excluded_study_takes_its_fallback(priors):
    without = load_priors(exclude_evidence=["E2"])
    for name in ("relative_pace", "muscle_damage", "taper", "ck_log_mean", "ck_log_sd"):
        fallback_mu, fallback_sigma, why = priors[name].fallback
        assert (without[name].mu, without[name].sigma) == (
            fallback_mu if priors[name].dist == "normal" else 0.0, fallback_sigma), name
        assert (without[name].mu, without[name].sigma) != (priors[name].mu, priors[name].sigma)
        assert "E2" not in without[name].evidence and why
    changed = {c.name: c for c in without.changes}
    assert str(changed["relative_pace"]).startswith("relative_pace: Normal(0.6, 0.35) -> "
                                                    "Normal(0.3, 0.5) (E2 excluded")


def test_a_study_cited_for_direction_only_changes_nothing(priors):
    without = load_priors(exclude_evidence="E2")
    for name in ("excess_distance", "cramp_history", "runner_sd", "ck_taper_effect"):
        assert "E2" in priors[name].evidence and "E2" not in priors[name].source
        assert (without[name].mu, without[name].sigma) == (priors[name].mu, priors[name].sigma)
    notes = {c.name: c for c in without.changes if not c.changed}
    assert "direction or judgement only" in notes["excess_distance"].why
    # the baseline was calibrated with the old factor priors: said, not silently kept
    assert "cramp priors calibrate --exclude-evidence E2" in notes["log_hazard_per_km"].why
    assert without["heat"] == priors["heat"]  # E2 is not cited there at all


def test_the_shipped_priors_are_unchanged_and_the_copy_is_labelled(priors):
    assert (priors["relative_pace"].mu, priors["relative_pace"].sigma) == (0.6, 0.35)
    assert (priors["log_hazard_per_km"].mu, priors["distance_shape"].mu) == (-9.55, 3.22)
    assert priors.excluded == () and priors.changes == ()
    without = load_priors(exclude_evidence="e2, E2")
    assert without.excluded == ("E2",)
    assert without.sha256 != priors.sha256 and "without E2" in without.path
    assert load_priors(without) is without  # a Priors passes through unchanged


def test_excluding_a_calibration_study_drops_the_baseline_correlation(priors):
    without = load_priors(exclude_evidence=["E15"])
    assert (without["log_hazard_per_km"].mu, without["log_hazard_per_km"].sigma) == (-8.0, 3.0)
    assert without.baseline_correlation == 0.0 and priors.baseline_correlation < -0.5
    assert all(without[f] == priors[f] for f in FACTORS)


def test_every_sized_prior_has_a_fallback(priors):
    for prior in priors.entries.values():
        assert set(prior.source) <= set(prior.evidence)
        assert (prior.fallback is not None) == bool(prior.source), prior.name


def test_unknown_ids_name_the_known_ones():
    with pytest.raises(InputError, match=r"unknown evidence id\(s\) E99 \(known: E1, E2, E3"):
        load_priors(exclude_evidence=["E2", "E99"])
    assert parse_evidence_ids(["E2,E5", "e9"]) == ("E2", "E5", "E9")


def test_a_malformed_fallback_names_the_key(tmp_path, priors):
    text = Path(priors.path).read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('fallback = { mu = 0.3, sigma = 0.5, why = "E1, E6', 'other = {'
                                ' mu = 0.3, sigma = 0.5, why = "E1, E6', 1))
    with pytest.raises(InputError, match=r"\[factor.relative_pace\] has a source, so it needs"):
        load_priors(bad)


def test_the_calibration_drops_the_excluded_studies_figures(priors):
    from model.evidence.calibration import calibrate
    from model.evidence.figures import load_figures

    with pytest.raises(InputError, match="no study has a likelihood figure to calibrate on "
                       "without E3, E15, E16"):
        calibrate(load_figures(), load_priors(exclude_evidence=["E15", "E16", "E3"]))


@pytest.mark.slow
def test_the_calibration_without_a_study_is_rerun_on_the_others():
    from model.evidence.calibration import calibrate
    from model.evidence.figures import load_figures

    cal = calibrate(load_figures(), load_priors(exclude_evidence=["E16"]))
    assert cal.evidence == ("E15", "E3") and cal.excluded == ("E16",)


def test_the_studies_behind_the_priors_name_sized_and_cited(priors):
    from model.evidence.table import studies_behind

    table = studies_behind(priors)
    e2 = table.loc["E2"]
    assert e2["study"] == "Schwellnus, Allie, Derman, Collins 2011"
    assert "relative_pace" in e2["sized"] and "excess_distance" in e2["cited"]
    assert "E2" not in studies_behind(load_priors(exclude_evidence="E2")).index
    assert set(table.loc[["E15", "E16", "E3"], "sized"]) == {", ".join(BASELINE)}


def test_cramp_priors_shows_what_leaving_a_study_out_changed():
    result = cramp("priors", "--exclude-evidence", "E2", "--exclude-evidence", "E9")
    assert result.returncode == 0, result.stderr
    assert "evidence left out: E2, E9" in result.stdout
    assert "relative_pace: Normal(0.6, 0.35) -> Normal(0.3, 0.5)" in result.stdout
    bad = cramp("priors", "--exclude-evidence", "E77")
    assert bad.returncode == 2 and "E77" in bad.stderr and "known: E1" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_cramp_fit_names_the_studies_and_records_the_exclusion(tmp_path):
    import xarray as xr

    made = cramp("synth", "--runners", 150, "--seed", 3, "--out", tmp_path / "d.csv")
    assert made.returncode == 0, made.stderr
    plain = cramp("fit", tmp_path / "d.csv", "--draws", 60, "--tune", 60, "--no-extend",
                  "--out", tmp_path / "a.nc", "--exclude-evidence", "E2")
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert "E2 Schwellnus, Allie, Derman, Collins 2011" not in plain.stdout  # left out
    assert "E5 Kona Ironman" in plain.stdout and "left out: E2" in plain.stdout
    assert "relative_pace: Normal(0.6, 0.35) -> Normal(0.3, 0.5)" in plain.stdout
    assert "contraction" in plain.stdout
    tree = xr.open_datatree(tmp_path / "a.nc", engine="h5netcdf")
    assert tree.attrs["excluded_evidence"] == "E2"
    assert "without E2" in tree.attrs["priors_path"]
