"""The Laplace scaling (model/inference/laplace.py): on a posterior known in closed form (two
normal means, one informed by a million observations and one by its prior only, so their SDs
differ 5,000-fold), it finds the mode and SDs, the chains start within 2 SDs of the mode, and
the scaled sampler draws the same posterior, reproducibly; where no mode is found the model is
sampled in its own coordinates and the fit says why."""

from __future__ import annotations

import arviz as az
import numpy as np
import nutpie
import pymc as pm
import pytest

from model.inference.hazard_model import ieee_arithmetic
from model.inference.laplace import START_SPREAD_SD, curvature_sd, with_laplace_scaling
from model.inference.nutpie_entry import compile_model, flat_point

N_OBSERVATIONS, OBSERVED_MEAN = 1_000_000, 0.37
NARROW_PRIOR_SD, WIDE_MEAN, WIDE_SD = 10.0, 3.0, 5.0
MC_Z = 4.0  # a posterior mean within 4 Monte Carlo standard errors of the truth


def known_posterior() -> tuple[np.ndarray, np.ndarray]:
    """(mode, sd) of (narrow, wide): conjugate normal updates."""
    precision = N_OBSERVATIONS + NARROW_PRIOR_SD**-2
    return (np.array([N_OBSERVATIONS * OBSERVED_MEAN / precision, WIDE_MEAN]),
            np.array([precision**-0.5, WIDE_SD]))


@pytest.fixture(scope="module")
def compiled():
    with pm.Model() as model:
        narrow = pm.Normal("narrow", 0.0, NARROW_PRIOR_SD)
        pm.Normal("wide", WIDE_MEAN, WIDE_SD)
        # the likelihood of N unit-variance observations with this mean, up to a constant
        pm.Potential("observations", -0.5 * N_OBSERVATIONS * (narrow - OBSERVED_MEAN) ** 2)
    with ieee_arithmetic():
        return model, compile_model(model)


def _order(compiled) -> list[int]:
    """The sampler's positions of (narrow, wide)."""
    names = list(compiled.shape_info[0])
    return [compiled.shape_info[1][names.index(n)].start for n in ("narrow", "wide")]


def test_the_mode_and_sds_are_the_posteriors(compiled):
    model, plain = compiled
    scaled, scaling = with_laplace_scaling(plain, flat_point(plain, model.initial_point()))
    mode, sd = known_posterior()
    order = _order(plain)
    assert np.all(np.abs(scaling.mode[order] - mode) <= 1e-3 * sd)
    np.testing.assert_allclose(scaling.sd[order], sd, rtol=1e-4)
    assert not scaling.fallback and "posterior SDs" in scaling.describe()
    for seed in range(5):  # each chain starts within START_SPREAD_SD posterior SDs of the mode
        y = scaled.initial_point_func(seed)
        x = scaling.mode + scaling.sd * y
        assert np.all(np.abs(x[order] - mode) <= START_SPREAD_SD * sd)
        assert not np.array_equal(y, scaled.initial_point_func(seed + 1))
    np.testing.assert_array_equal(scaled.initial_point_func(3), scaled.initial_point_func(3))


def test_the_scaled_sampler_draws_the_posterior_reproducibly(compiled):
    model, plain = compiled
    scaled, _ = with_laplace_scaling(plain, flat_point(plain, model.initial_point()))
    mode, sd = known_posterior()

    def draws(seed):
        posterior = nutpie.sample(scaled, draws=1000, tune=300, chains=2, cores=2, seed=seed,
                                  progress_bar=False)["posterior"]
        return np.stack([posterior[n].to_numpy().ravel() for n in ("narrow", "wide")])

    first = draws(11)
    np.testing.assert_array_equal(first, draws(11))
    for k, name in enumerate(("narrow", "wide")):
        ess = float(az.ess(first[k].reshape(2, -1)))
        assert abs(first[k].mean() - mode[k]) <= MC_Z * sd[k] / np.sqrt(ess), name
        # the sample SD within 4 of its own standard errors (sd / sqrt(2 ESS) for a normal)
        assert abs(first[k].std() - sd[k]) <= MC_Z * sd[k] / np.sqrt(2 * ess), name


def test_without_a_mode_the_model_keeps_its_coordinates_and_says_why(compiled):
    model, plain = compiled

    class Failing:
        n_dim = plain.n_dim

        def log_density(self, x):
            raise FloatingPointError("log density returned error code 4")

    failing = Failing()
    same, scaling = with_laplace_scaling(failing, flat_point(plain, model.initial_point()))
    assert same is failing
    assert scaling.describe().startswith("none (no mode:")


def test_a_flat_direction_gets_the_jitter_scale_not_an_infinite_one():
    def log_density(x):  # curved in x[0] only
        return -0.5 * x[0] ** 2 / 0.01, np.array([-x[0] / 0.01, 0.0])

    np.testing.assert_allclose(curvature_sd(log_density, np.zeros(2)), [0.1, 1.0], rtol=1e-6)
