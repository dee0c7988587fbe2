import re
from pathlib import Path

import pytest

from model.errors import InputError
from model.evidence.priors import BASELINE, load_priors
from model.hazard.specification import FACTORS


def test_every_prior_cites_evidence_and_shows_arithmetic(priors):
    evidence_ids = {f"E{i}" for i in range(1, 22)}
    for name in (*FACTORS, *BASELINE, "runner_sd", "race_sd", "ck_log_mean"):
        prior = priors[name]
        assert prior.evidence and set(prior.evidence) <= evidence_ids, name
        assert len(prior.arithmetic) > 40, name
        assert prior.sigma > 0


def test_directions_follow_the_literature(priors):
    # pace, distance beyond training, damage, heat and history raise risk; a taper lowers it
    for name in ("relative_pace", "excess_distance", "muscle_damage", "heat", "cramp_history"):
        assert priors[name].mu > 0, name
    assert priors["taper"].mu < 0


def test_user_priors_file_is_read_and_hashed(tmp_path, priors):
    text = Path(priors.path).read_text().replace("mu = 0.6\n", "mu = 0.0\n", 1)
    custom = tmp_path / "sceptic.toml"
    custom.write_text(text)
    sceptic = load_priors(custom)
    assert sceptic["relative_pace"].mu == 0.0
    assert sceptic.sha256 != priors.sha256


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[factor.heat]", "[factor.hot]", "missing prior [factor.heat]"),
        ('dist = "halfnormal"\nsigma = 0.75', 'dist = "normal"\nsigma = 0.75',
         "must be 'halfnormal'"),
        ("sigma = 0.35", "sigma = -1", "sigma must be > 0"),
        ("sigma = 0.35", 'sigma = "wide"', "sigma must be a number"),
    ],
)
def test_malformed_priors_file_names_the_key(tmp_path, priors, old, new, message):
    text = Path(priors.path).read_text()
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError, match=re.escape(message)):
        load_priors(bad)


def test_every_cited_study_is_in_the_evidence_table(priors):
    from model.evidence.table import cited_by, load_evidence

    evidence = load_evidence()
    assert list(evidence["id"][:3]) == ["E1", "E2", "E3"] and len(evidence) >= 14
    cited = {e for p in priors.entries.values() for e in p.evidence}
    assert cited <= set(evidence["id"]), cited - set(evidence["id"])
    table = cited_by(evidence, priors)
    assert "relative_pace" in table.set_index("id").loc["E2", "cited_by"]


def test_changed_prior_is_a_labelled_copy(priors):
    wide = priors.with_prior("heat", sigma=0.6)
    assert wide["heat"].sigma == 0.6 and priors["heat"].sigma != 0.6
    assert wide.sha256 != priors.sha256 and "heat" in wide.path


def test_every_problem_of_a_priors_file_is_listed_at_once(tmp_path, priors):
    # a researcher editing several priors fixes the file in one pass, as with records and scenarios
    text = Path(priors.path).read_text()
    for old, new in (("sigma = 0.35", 'sigma = "wide"'),
                     ("correlation = { distance_shape = -0.82 }",
                      "correlation = { distance_shape = 1.5 }"),
                     ("[factor.heat]", "[factor.hot]")):
        assert old in text
        text = text.replace(old, new, 1)
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(InputError) as info:
        load_priors(bad)
    assert str(info.value) == f"{bad}: 3 problem(s) in the priors file"
    assert [p.removeprefix(f"{bad}: ") for p in info.value.problems] == [
        "[factor.relative_pace] sigma must be a number, got 'wide'",
        "missing prior [factor.heat]",
        "[baseline.log_hazard_per_km] correlation.distance_shape must be a number strictly "
        "between -1 and 1, got 1.5"]


def test_a_missing_fallback_is_named_with_the_table_it_needs(tmp_path, priors):
    text = Path(priors.path).read_text()
    text, n = re.subn(r'(?m)^fallback = \{ mu = 0\.0, sigma = 0\.5, why = "no other study '
                      r'measured the taper.*\}$', "", text)
    assert n == 1
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(InputError) as info:
        load_priors(bad)
    assert str(info.value) == (f"{bad}: [factor.taper] has a source, so it needs fallback = "
                               '{ mu = ..., sigma = ..., why = "..." } (the prior without that '
                               "row)")
