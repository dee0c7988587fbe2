"""The Laplace scaling: the sampler works in coordinates centred on the posterior's mode and
scaled by its curvature there, and the chains start near the mode.

Why. nutpie's tuning starts from an identity mass matrix, at PyMC's start (the priors' support
point, jittered by +-1 on the unconstrained scale). The unconstrained parameters' posterior SDs
span 0.007 to 0.19 at 10^4 synthetic records and 0.0023 to 0.24 at 10^5 (the CK model's narrow
as 1/sqrt(records)), so until the mass matrix has adapted the step size must suit the narrowest
direction while the chains cross the widest: at 10^6 records the first tuning draws ran to the
tree-depth limit (1,023 gradients at ~0.3 s each), and a fit of 100 + 100 draws had not finished
after 73 minutes. In coordinates where each parameter's curvature at the mode is 1, an identity
mass matrix is about right from the first draw.

What. L-BFGS on the sampler's log density finds the mode (from the model's initial point); each
coordinate's SD is 1 / sqrt(-d2 log p / dx2) there, by central differences of the gradient, and
1 (PyMC's jitter scale) where the curvature is not negative (the signed runner scale at 0 can be
a saddle). The chains start at the mode plus Uniform(-2, 2) in each scaled coordinate (+-2 SDs),
drawn from the chain's seed. It is an affine change of variables, so the posterior is the same
whatever the mode and SDs are; where no mode is found the model is sampled as before. The cost
is the L-BFGS iterations plus 2 log-density evaluations per parameter.

Not in the fit (fit.as_sampled). Measured with bench/laplace_preconditioning.py (Nov 2026): on the
6-race design cohort of 10,000 records it took 21.7 gradients per effective draw against 23.5
(first 50 tuning draws: 7% of gradients against 14%); on the synthetic cohort of 100,000 records
(250 races), sampler seed 1, one chain's step size fell from ~0.4 to ~0.007 at tuning draw ~350
and its draws ran to 511-1,023 leapfrog steps, where the model's own coordinates took 531.6 s
for the whole fit (17.2 gradients per effective draw; first 50 tuning draws 7%). Also: the mode
search leaves the signed runner scale at 0, where its gradient is 0 by symmetry, so the mode and
SDs are conditional on runner_sd = 0. Until that is understood this stays a tool for the bench.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from scipy.optimize import minimize

#: bounds of a coordinate's scale [unconstrained units]: a mode on a flat ridge gives no scale
SD_BOUNDS = (1e-4, 10.0)
#: the chains start within this many posterior SDs of the mode, per coordinate (uniform)
START_SPREAD_SD = 2.0
#: central-difference step, relative to max(1, |x|) [unconstrained units]
CURVATURE_STEP = 1e-4


@dataclasses.dataclass(frozen=True)
class LaplaceScaling:
    """What the scaling found: the mode and SDs on the model's unconstrained scale (empty where
    it fell back to the model's own coordinates, with the reason), log-density evaluations and
    seconds it took."""

    mode: np.ndarray
    sd: np.ndarray
    evaluations: int
    seconds: float
    fallback: str = ""

    def describe(self) -> str:
        """One line for a fit's provenance."""
        if self.fallback:
            return f"none ({self.fallback})"
        return (f"mode and curvature from {self.evaluations} log-density evaluations in "
                f"{self.seconds:.1f} s; posterior SDs {self.sd.min():.2g} to {self.sd.max():.2g}")


def with_laplace_scaling(compiled, start: np.ndarray):
    """(`compiled` sampled in y = (x - mode) / sd, starting near the mode; the LaplaceScaling).
    `compiled` is an EntryCompiledModel in the model's own coordinates; `start` is where the mode
    search begins (the model's initial point, in the sampler's order)."""
    counted = _Counted(compiled.log_density)
    began = time.perf_counter()
    try:
        mode = posterior_mode(counted, start)
        sd = curvature_sd(counted, mode)
    except (FloatingPointError, ArithmeticError) as error:
        return compiled, LaplaceScaling(np.zeros(0), np.zeros(0), counted.calls,
                                        time.perf_counter() - began, f"no mode: {error}")
    scaling = LaplaceScaling(mode, sd, counted.calls, time.perf_counter() - began)
    return compiled.scaled(mode, sd, initial_point_func=_start_near_mode(compiled.n_dim)), scaling


def posterior_mode(log_density, start: np.ndarray) -> np.ndarray:
    """The log density's maximum from `start` (L-BFGS-B); raises FloatingPointError where the
    search ends at a non-finite point or below the start."""
    def negative(x):
        try:
            logp, gradient = log_density(x)
        except FloatingPointError:
            return np.inf, np.zeros_like(x)
        return -logp, -gradient

    found = minimize(negative, np.asarray(start, dtype=float), jac=True, method="L-BFGS-B",
                     options={"maxiter": 1000})
    if not (np.all(np.isfinite(found.x)) and np.isfinite(found.fun)
            and found.fun <= negative(start)[0]):
        raise FloatingPointError("the mode search did not reach a finite maximum")
    return found.x


def curvature_sd(log_density, point: np.ndarray) -> np.ndarray:
    """Per coordinate 1 / sqrt(-d2 log p / dx_i2) at `point`, within SD_BOUNDS; 1 where the
    curvature is not negative."""
    steps = CURVATURE_STEP * np.maximum(1.0, np.abs(point))
    second = np.empty(point.size)
    for i, h in enumerate(steps):  # n_dim pairs of evaluations; no vector form exists
        up, down = point.copy(), point.copy()
        up[i] += h
        down[i] -= h
        second[i] = (log_density(up)[1][i] - log_density(down)[1][i]) / (2.0 * h)
    sd = np.ones(point.size)
    curved = np.isfinite(second) & (second < 0)
    sd[curved] = 1.0 / np.sqrt(-second[curved])
    return np.clip(sd, *SD_BOUNDS)


def _start_near_mode(n_dim: int):
    """A chain's start in the scaled coordinates: Uniform(-START_SPREAD_SD, START_SPREAD_SD) per
    coordinate, from the chain's seed (as nutpie passes it)."""
    def start(seed) -> np.ndarray:
        return np.random.default_rng(seed).uniform(-START_SPREAD_SD, START_SPREAD_SD, n_dim)

    return start


class _Counted:
    """A log density that counts its calls."""

    def __init__(self, log_density):
        self.log_density, self.calls = log_density, 0

    def __call__(self, x: np.ndarray):
        self.calls += 1
        return self.log_density(x)
