"""The runner SD's shear: the baseline and the factor effects are sampled shifted along the
runner SD's square, so that the posterior the sampler sees is straight where it was curved.

Why. The runner effect u ~ Normal(0, runner_sd) is integrated out of the likelihood, and with
every runner seen once the data tell runner_sd only through how outcomes spread beyond the
factors. As runner_sd grows, the baseline that fits the data falls (a runner's mean hazard is
exp(runner_sd^2 / 2) times the median runner's) and the effects of the factors grow (an effect
averaged over runners is attenuated by their spread), each about in proportion to runner_sd^2.
The sampler's signed scale (hazard_model: runner_sd = |runner_scale|) makes this a banana that is
symmetric about 0: every linear correlation is ~0, so no mass matrix can follow it. On the
6-race design cohort of 10,000 runner-races, the squared scale correlated with the intercept at
-0.54, with cramp history's effect at +0.46 and the distance shape at +0.40, and runner_sd mixed
slowest (bulk ESS 528 of 2,000 draws, lag-1 autocorrelation 0.56).

What. The model samples theta - c * runner_scale^2 for theta = the intercept, the distance shape
and each factor's effect (`sheared`, `unsheared`; the intercept is flat). It is a shear: an exact
change of variables with unit Jacobian, so the posterior is the same whatever c is, and c only
decides how straight the sampler's space is. `runner_shear` finds c before sampling from the
conditional posterior modes of theta at a few values of the scale: theta_hat(s) - theta_hat(0)
~ c s^2 (least squares through the origin). A few dozen log-density evaluations; no compile (the
sampler's own entry point, `EntryCompiledModel.log_density`). Measured in bench/fit_speed.py.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
from scipy.optimize import minimize

from model.evidence.priors import Priors
from model.hazard.specification import FACTORS
from model.inference.nutpie_entry import flat_point

#: the sampled variables shifted along runner_scale^2, in the order of the model's
#: `runner_shear` data: the intercept, the distance shape, then each factor's effect
SHEARED = ("intercept_offset", "distance_shape_sheared", "beta_sheared")
#: the scales at which the conditional modes are found, in units of runner_sd's prior scale:
#: about where its posterior lies when the data say little about it (its prior's 38% and 68%
#: quantiles of |scale|)
PROBE_SCALES = (0.5, 1.0)
SCALE = "runner_scale"


def n_sheared() -> int:
    """How many coefficients the shear has: the intercept, the distance shape and each factor
    (a function: factors can be registered at run time, model/hazard/factor_registry.py)."""
    return 2 + len(FACTORS)


def sheared(name: str, mu, dims: str | None = None):
    """The sampled (flat) variable `name`_sheared, started at the prior mean `mu`."""
    return pm.Flat(f"{name}_sheared", dims=dims, initval=np.asarray(mu, dtype=float))


def unsheared(name: str, free, shift, mu, sigma, dims: str | None = None):
    """`name` = `free` + `shift`, with its Normal(mu, sigma) prior added as a Potential: a shear
    with unit Jacobian, so the posterior of `name` does not depend on the shift."""
    value = pm.Deterministic(name, free + shift, dims=dims)
    pm.Potential(f"{name}_prior", pm.logp(pm.Normal.dist(
        np.asarray(mu, dtype=float), np.asarray(sigma, dtype=float)), value).sum())
    return value


def runner_shear(compiled, start: dict[str, np.ndarray], prior_scale: float) -> np.ndarray:
    """The shear coefficients c (in `SHEARED` order) of the compiled hazard model with its
    `runner_shear` data at 0, from `start` (the model's initial point, unconstrained values by
    name). Zeros (no shear; the model as without it) where a conditional mode cannot be found:
    the posterior does not depend on c."""
    where = dict(zip(compiled.shape_info[0], compiled.shape_info[1], strict=False))
    x0 = flat_point(compiled, start)
    scale_at = where[SCALE].start
    block = np.concatenate([np.arange(len(x0))[where[n]] for n in SHEARED])
    free = np.flatnonzero(np.arange(len(x0)) != scale_at)
    try:
        base = _conditional_mode(compiled, x0, scale_at, free, 0.0)
        scales = prior_scale * np.array(PROBE_SCALES)
        shifts = np.array([_conditional_mode(compiled, base, scale_at, free, s)[block]
                           for s in scales]) - base[block]
    except (FloatingPointError, ArithmeticError):
        return np.zeros(n_sheared())
    squared = scales**2
    return squared @ shifts / (squared @ squared)


def _conditional_mode(compiled, x0: np.ndarray, scale_at: int, free: np.ndarray,
                      scale: float) -> np.ndarray:
    """The posterior mode over the `free` coordinates with runner_scale fixed at `scale`."""
    x = x0.copy()
    x[scale_at] = scale

    def negative(v):
        x[free] = v
        logp, gradient = compiled.log_density(x)
        return -logp, -gradient[free]

    found = minimize(negative, x0[free], jac=True, method="L-BFGS-B",
                     options={"maxiter": 500, "gtol": 1e-6})
    if not np.all(np.isfinite(found.x)):
        raise FloatingPointError("no conditional mode")
    x[free] = found.x
    return x


def with_runner_shear(compiled, model: pm.Model, priors: Priors):
    """(compiled with the model's `runner_shear` data set to `runner_shear`'s coefficients, the
    coefficients). `compiled` must read the model's data as shared variables (the numba
    backend); `priors` are the model's (runner_sd's prior scale sets where the modes are
    found)."""
    shear = runner_shear(compiled, model.initial_point(), priors["runner_sd"].sigma)
    return compiled.with_data(runner_shear=shear), shear
