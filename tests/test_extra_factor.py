"""Adding a factor is cheap (issue 14, item 3): two plain linear factors, a record factor from a
record column and a cell factor from the segment grid, are registered in the specification with
their priors, and nothing else is written for them. The records give their features, the PyMC
model builds on both likelihood backends, which agree in value and gradient, and a scenario runs,
where each factor moves the risk the way its coefficient says."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.records import RaceRecords, load_records
from model.errors import InputError
from model.evidence.priors import DEFAULT_PRIORS_PATH, load_priors
from model.hazard.factor_registry import Factor
from model.hazard.features import build_features
from model.hazard.forward import cell_log_rate, prior_draws
from model.hazard.specification import FACTORS, registered_factor
from model.inference.hazard_model import build_model, kernel_data
from model.inference.likelihood import loglik_and_gradient
from model.inference.likelihood_reference import reference_loglik
from model.validation.synth import synthesize
from scenarios.simulate import simulate
from scenarios.spec import load_scenario

RUNNER_AGE_UNITS = 1.5  # the simulated runner is 55

AGE = Factor("age_decades", "record", "per 10 years above 40; + raises risk",
             unit="10 years above 40", column="age", to_units=lambda age: (age - 40.0) / 10.0,
             absent=40.0, in_race=lambda block, plan: np.full(block.size, RUNNER_AGE_UNITS))
LATE = Factor("late_race", "cell", "per 10 km run beyond 30 km; + raises risk",
              unit="10 km beyond 30 km",
              on_grid=lambda start, end, distance: np.maximum(0.0, 0.5 * (start + end) - 30.0)
              / 10.0)
PRIORS_ADDED = """
[factor.age_decades]
unit = "10 years above 40"
sign = "positive = older runners cramp more"
dist = "normal"
mu = 0.1
sigma = 0.2
evidence = ["E1"]
arithmetic = "a test factor"

[factor.late_race]
unit = "10 km beyond 30 km"
sign = "positive = the hazard rises late in a race"
dist = "normal"
mu = 0.2
sigma = 0.3
evidence = ["E1"]
arithmetic = "a test factor"
"""


@pytest.fixture(scope="module")
def extra_priors(tmp_path_factory):
    path = tmp_path_factory.mktemp("priors") / "priors.toml"
    path.write_text(DEFAULT_PRIORS_PATH.read_text() + PRIORS_ADDED)
    with registered_factor(AGE), registered_factor(LATE):
        yield load_priors(path)


@pytest.fixture(scope="module")
def cohort(extra_priors):
    records, splits = synthesize(150, 4, {"log_hazard_per_km": -6.2},
                                 ck_measured_fraction=0.5, onset_known_fraction=0.5)
    records["age"] = np.random.default_rng(0).uniform(22.0, 70.0, len(records)).round()
    return records, splits, build_features(load_records(records, splits=splits))


def test_registration_is_undone_and_a_factor_needs_a_definition():
    shipped = tuple(FACTORS)
    with registered_factor(AGE):
        assert tuple(FACTORS) == (*shipped, "age_decades")
        with pytest.raises(ValueError, match="already registered"):
            with registered_factor(AGE):
                pass
    assert tuple(FACTORS) == shipped
    with pytest.raises(ValueError, match="feature definition"):
        Factor("vague", "cell", "no definition")
    # without its prior, the priors file says which one is missing
    with registered_factor(AGE), pytest.raises(InputError, match=r"factor\.age_decades"):
        load_priors()


def test_the_records_give_the_features(cohort):
    records, splits, features = cohort
    assert features["age_decades"].dims == ("record",)
    np.testing.assert_allclose(features["age_decades"], (records["age"] - 40) / 10)
    assert features["late_race"].dims == ("record", "segment")
    mid = features["segment_start_km"] + 0.5 * features["segment_length_km"]
    valid = features["segment_length_km"] > 0
    np.testing.assert_allclose(features["late_race"].where(valid, 0),
                               (np.maximum(0, mid - 30) / 10).where(valid, 0), atol=1e-12)
    # a blank value of the factor's column is refused with its row and column
    blank = records.copy()
    blank.loc[3, "age"] = np.nan
    with pytest.raises(InputError) as error:
        load_records(blank, splits=splits)
    assert error.value.problems == ["<race records DataFrame>: row 4, column age: missing value "
                                    "(give it for every row, or leave the column out)"]
    # without the column, the factor's stated value for an absent column, and a note says so
    loaded = load_records(records.drop(columns="age"), splits=splits)
    assert ("no age column: age_decades set to its value for a record without it (age 40); "
            "its coefficient stays at its prior") in loaded.notes
    without = build_features(RaceRecords(records.drop(columns="age"), splits, "s", ""))
    assert float(np.abs(without["age_decades"]).max()) == 0.0


def test_the_forward_evaluation_adds_beta_times_the_feature(cohort, extra_priors):
    *_, features = cohort
    features = features.assign(muscle_damage=features["muscle_damage"].fillna(0.0))
    params = prior_draws(extra_priors, 3, 0)
    assert list(params["factor"].to_numpy())[-2:] == ["age_decades", "late_race"]
    moved = params.copy(deep=True)
    moved["beta"].loc[{"factor": "late_race"}] += 0.7
    moved["beta"].loc[{"factor": "age_decades"}] -= 0.4
    change = cell_log_rate(features, moved) - cell_log_rate(features, params)
    expected = 0.7 * features["late_race"] - 0.4 * features["age_decades"]
    valid = (features["segment_length_km"] > 0).broadcast_like(change)
    np.testing.assert_allclose(change.to_numpy()[valid.to_numpy()],
                               expected.broadcast_like(change).to_numpy()[valid.to_numpy()],
                               atol=1e-9)


def test_the_model_builds_and_the_likelihoods_agree(cohort, extra_priors):
    import pytensor
    import pytensor.tensor as pt

    *_, features = cohort
    model = build_model(features, extra_priors)
    assert model.coords["factor"][-2:] == ("age_decades", "late_race")
    assert model["beta"].shape.eval()[0] == len(FACTORS) == 8
    # late_race varies along the course: a cell coefficient of the kernel; age_decades enters
    # the records' constant log rate
    d = model.cramp_data
    assert "late_race" in d.cell_names and "age_decades" in d.record_names
    data = kernel_data(d, 9, 5)
    assert data.cell_x.shape[0] == 1 + len(d.cell_names)
    const, b_cell, params = pt.dvector("const"), pt.dvector("b_cell"), pt.dvector("params")
    total = reference_loglik(const, b_cell, params, data)
    reference = pytensor.function([const, b_cell, params],
                                  [total, *pt.grad(total, [const, b_cell, params])])
    rng = np.random.default_rng(11)
    for _ in range(3):
        point = (rng.normal(-4.9, 0.3, data.record_order.size),
                 rng.normal(0.0, 0.5, data.cell_x.shape[0]),
                 np.array([rng.normal(0, 0.7), rng.normal(0.4, 0.2), rng.normal(4.4, 0.2),
                           rng.uniform(0.2, 0.9), rng.normal(-0.2, 0.2)]))
        kernel = loglik_and_gradient(*point, *data.arrays())
        expected = reference(*point)
        assert kernel[0] == pytest.approx(float(expected[0]), rel=1e-11)
        for got, want in zip(kernel[1:], expected[1:], strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


@pytest.mark.slow
def test_the_model_on_either_backend_has_the_same_log_density(cohort, extra_priors):
    # the whole graph: priors, the new factors' coefficients in the constant and the cells
    *_, features = cohort
    numba_model = build_model(features, extra_priors)
    reference_model = build_model(features, extra_priors, backend="reference")
    at = {k: v + np.random.default_rng(5).normal(0, 0.2, np.shape(v))
          for k, v in numba_model.initial_point().items()}
    assert reference_model.compile_logp()(at) == pytest.approx(
        numba_model.compile_logp()(at), rel=1e-11)
    reference, kernel = reference_model.compile_dlogp()(at), numba_model.compile_dlogp()(at)
    np.testing.assert_allclose(reference, kernel, rtol=1e-8, atol=1e-9)
    assert np.all(reference[:len(FACTORS)] != 0)  # beta's gradient, the new ones included


def _risk(scenario, params, **beta):
    p = params.copy(deep=True)
    for name, value in beta.items():
        p["beta"].loc[{"factor": name}] = value
    return simulate(scenario, p, compare_history=False)


def test_a_scenario_moves_with_each_factor_as_its_coefficient_says(extra_priors):
    scenario = load_scenario("goal_marathon_runner")
    params = prior_draws(extra_priors, 24, 2)
    off = _risk(scenario, params, age_decades=0.0, late_race=0.0)
    # a record factor: beta x added to every cell's log hazard, as a shift of the baseline
    older = _risk(scenario, params, age_decades=0.3, late_race=0.0)
    shifted = params.copy(deep=True)
    shifted["log_hazard_per_km"] += 0.3 * RUNNER_AGE_UNITS
    as_shift = _risk(scenario, shifted, age_decades=0.0, late_race=0.0)
    np.testing.assert_allclose(older["risk"], as_shift["risk"], rtol=2e-6)
    assert np.all(older["risk"] > off["risk"])
    # a cell factor: nothing changes before 30 km; risk rises with a positive coefficient, falls
    # with a negative one
    late, early = _risk(scenario, params, age_decades=0.0, late_race=0.5), \
        _risk(scenario, params, age_decades=0.0, late_race=-0.5)
    before = off["segment_end_km"] <= 30.0
    np.testing.assert_array_equal(late["survival"].where(before, 0),
                                  off["survival"].where(before, 0))
    assert np.all(late["risk"] > off["risk"]) and np.all(early["risk"] < off["risk"])
