"""The runner SD's shear (model/inference/shear.py): an exact change of variables, found from the
data, that straightens the posterior the sampler sees; on a cohort drawn by tests/design_cohorts.py
(independent of the project's generator), 6 races, every runner seen once, WBGT per race day."""

from __future__ import annotations

import arviz as az
import numpy as np
import nutpie
import pytest
from design_cohorts import Design, draw_cohort

from model.data.records import RaceRecords
from model.evidence.priors import load_priors
from model.hazard.features import build_features
from model.hazard.specification import FACTORS
from model.inference.diagnostics import TARGET_ACCEPT
from model.inference.fit import adaptation_options, fit
from model.inference.hazard_model import build_model, compile_for_nutpie
from model.inference.shear import SHEARED, n_sheared, runner_shear, with_runner_shear

MC_Z = 4.0  # posterior means of two fits: |difference| <= 4 Monte Carlo standard errors


@pytest.fixture(scope="module")
def cohort():
    records, splits = draw_cohort(Design(6, 3000), seed=5)
    return build_features(RaceRecords(records, splits, "design cohort", ""))


@pytest.fixture(scope="module")
def compiled(cohort):
    priors = load_priors()
    model = build_model(cohort, priors)
    return model, priors, compile_for_nutpie(model)


def _positions(compiled) -> tuple[int, np.ndarray]:
    """runner_scale's position in the sampler's vector, and the sheared variables' (in order)."""
    where = dict(zip(compiled.shape_info[0], compiled.shape_info[1], strict=False))
    sheared = np.concatenate([np.arange(compiled.n_dim)[where[n]] for n in SHEARED])
    return where["runner_scale"].start, sheared


def test_the_shear_is_an_exact_change_of_variables(compiled):
    """With coefficients c, the density at (s, theta') is the unsheared density at
    (s, theta' + c s^2), and the gradients follow the chain rule: the posterior is the same."""
    _, _, plain = compiled
    rng = np.random.default_rng(0)
    shear = rng.normal(0.0, 0.5, n_sheared())
    sheared = plain.with_data(runner_shear=shear)
    scale_at, block = _positions(plain)
    start = np.concatenate([np.atleast_1d(v).ravel() for v in compiled[0].initial_point().values()])
    for _ in range(5):
        x = start + rng.normal(0.0, 0.05, len(start))
        x[scale_at] = rng.uniform(-1.0, 1.0)
        moved = x.copy()
        moved[block] += shear * x[scale_at] ** 2
        logp, gradient = sheared.log_density(x)
        logp0, gradient0 = plain.log_density(moved)
        assert logp == pytest.approx(logp0, rel=1e-12, abs=1e-9)
        expected = gradient0.copy()
        expected[scale_at] += 2.0 * x[scale_at] * shear @ gradient0[block]
        np.testing.assert_allclose(gradient, expected, rtol=1e-9, atol=1e-8)


def test_the_shear_falls_back_to_none_where_no_mode_is_found(compiled):
    model, priors, plain = compiled

    class Failing:
        shape_info, n_dim = plain.shape_info, plain.n_dim

        def log_density(self, x):
            raise FloatingPointError("error code 4")

    shear = runner_shear(Failing(), model.initial_point(), priors["runner_sd"].sigma)
    np.testing.assert_array_equal(shear, np.zeros(n_sheared()))


def test_a_fit_samples_the_same_posterior_straightened(cohort, compiled):
    """The fit (sheared) and the model sampled without the shear agree within Monte Carlo error;
    without the shear the intercept follows runner_sd^2 (the banana), with it the sampled
    intercept much less; runner_sd mixes better; the fit records the coefficients."""
    model, priors, plain = compiled
    settings = {"draws": 1000, "tune": 500, "chains": 2, "cores": 2, "seed": 3,
                "progress_bar": False, "target_accept": TARGET_ACCEPT,
                **adaptation_options("low_rank")}
    unsheared = nutpie.sample(plain, **settings)["posterior"].to_dataset()
    tree = fit(cohort, priors, draws=1000, tune=500, seed=3, adaptation="low_rank",
               extend=False)
    straightened = tree["posterior"].to_dataset()
    recorded = tree.attrs["sampler_runner_shear"]
    # the sheared coordinates are sampling devices, not parameters a user reads
    assert not {"beta_sheared", "distance_shape_sheared"} & set(straightened.data_vars)
    _, shear = with_runner_shear(plain, model, priors)
    assert recorded and all(f in recorded for f in FACTORS)
    assert shear[0] < -0.2  # the baseline falls as runner_sd grows (exp(sd^2 / 2))

    def banana(posterior):
        """The sampled intercept's slope on runner_sd^2, and their correlation."""
        squared = posterior["runner_sd"].to_numpy().ravel() ** 2
        intercept = posterior["intercept_offset"].to_numpy().ravel()
        slope = np.polyfit(squared, intercept, 1)[0]
        return slope, np.corrcoef(squared, intercept)[0, 1]

    (slope, correlation), (slope_left, _) = banana(unsheared), banana(straightened)
    assert correlation < -0.5 and slope == pytest.approx(shear[0], rel=0.25)
    assert abs(slope_left) < 0.25 * abs(slope)  # measured: -0.42 without, 0.04 with the shear
    assert float(az.ess(straightened["runner_sd"])) > float(az.ess(unsheared["runner_sd"]))
    for name in ("runner_sd", "log_hazard_per_km", "distance_shape", "beta", "race_sd"):
        a, b = unsheared[name], straightened[name]
        se = np.sqrt(a.std(("chain", "draw")) ** 2 / az.ess(unsheared[[name]])[name]
                     + b.std(("chain", "draw")) ** 2 / az.ess(straightened[[name]])[name])
        z = np.abs(a.mean(("chain", "draw")) - b.mean(("chain", "draw"))) / se
        assert float(z.max()) <= MC_Z, (name, z.to_numpy())
