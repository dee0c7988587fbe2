"""A second fit of data with the same structure reuses the first fit's compiled model
(model/inference/compiled.py) and samples exactly what a fresh compile samples."""

from __future__ import annotations

import numpy as np
import pytest

import cramp
from model.evidence.priors import load_priors
from model.hazard.features import build_features
from model.inference import compiled
from model.inference.hazard_model import build_model

FIT = {"draws": 60, "tune": 60, "seed": 5, "extend": False, "reuse_compiled": True}


def cohort(seed: int, runners: int = 300):
    table, splits = cramp.synthesize(runners, seed)
    return cramp.load_records(table, splits=splits)


@pytest.fixture(scope="module")
def priors():
    return load_priors()


def test_the_structure_key_says_what_a_compiled_model_depends_on(priors):
    first, second = (build_model(build_features(cohort(s)), priors, reusable=True) for s in (1, 2))
    assert first.cramp_structure == second.cramp_structure  # other data, the same structure
    key = compiled.structure_key(first, priors)
    assert key == compiled.structure_key(second, priors)
    other = priors.with_prior("relative_pace", mu=0.1)  # priors are part of the graph
    assert compiled.structure_key(first, other) != key
    table = cohort(1).table
    one_race = table[table["race_id"] == table["race_id"].iloc[0]]  # another number of races
    model = build_model(build_features(cramp.load_records(one_race)), priors, reusable=True)
    assert compiled.structure_key(model, priors) != key


def test_a_reused_model_samples_what_a_fresh_compile_samples():
    compiled.clear()
    cramp.fit(cohort(1), **FIT)  # compiles; the next fit has other data, other sizes
    second = cohort(2, runners=250)
    model = build_model(build_features(second), load_priors(), reusable=True)
    assert compiled.compiled_for(model, load_priors())[1] is True  # reused, not compiled
    reused = cramp.fit(second, **FIT).posterior["posterior"]
    compiled.clear()
    fresh = cramp.fit(second, **FIT).posterior["posterior"]
    for name in ("beta", "log_hazard_per_km", "race_sd", "race_effect", "ck_log_sd"):
        np.testing.assert_array_equal(reused[name].to_numpy(), fresh[name].to_numpy(), name)
    assert list(reused["race"].to_numpy()) == list(fresh["race"].to_numpy())
