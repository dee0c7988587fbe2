"""What sampling in coordinates scaled by the posterior's curvature would save, by counts
(issue 20): the fit's sampler on the fit's compiled model against the same sampler in
y = (x - mode) / sd, same run, same starts (PyMC's start, mapped to y).

Tuning starts from an identity mass matrix. The curvature SDs (below) of the unconstrained
parameters span 0.007 (the CK model's) to 0.19 (race effects) at 10^4 synth records, 26x, and
0.0023 to 0.24 at 10^5, 102x; at 10^4 the first tuning draws take ~80 leapfrog steps each
(bench/fit_profile.py), and at 10^6 a fit of 100 + 100 draws had not finished after ~73
minutes. Here the mode
comes from L-BFGS on the compiled log density and each parameter's sd from the curvature there
(central differences of the gradient), so an identity mass matrix in y is about the posterior's
diagonal from the first draw. The change is affine: the same posterior, the log density shifted
by a constant. nutpie's compiled C functions are wrapped in numba cfuncs that call them by
address; the script checks the wrapped log density and gradient against the originals first.

    uv run python bench/laplace_preconditioning.py --design-races 6 --seeds 1 2
    uv run python bench/laplace_preconditioning.py --records 100000 --seeds 1
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import json
import sys
from pathlib import Path

import numba
import numpy as np
from numba import types

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quadrature_cost import cohort  # noqa: E402
from sampler_variants import counts  # noqa: E402

from model.evidence.priors import load_priors  # noqa: E402
from model.hazard.features import build_features  # noqa: E402
from model.inference.hazard_model import build_model, compile_for_nutpie  # noqa: E402

SD_BOUNDS = (1e-4, 10.0)  # on the unconstrained scale
VOID = ctypes.c_void_p
LOGP_C = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_uint64, VOID, VOID, VOID, VOID)
EXPAND_C = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_uint64, ctypes.c_uint64, VOID, VOID, VOID)


def posterior_mode(logp_and_gradient, start: np.ndarray) -> np.ndarray:
    """The log density's maximum from `start` (L-BFGS-B)."""
    from scipy.optimize import minimize

    def negative(x):
        logp, gradient = logp_and_gradient(x)
        return (-float(logp), -np.asarray(gradient)) if np.isfinite(logp) else (
            np.inf, np.zeros_like(x))

    return minimize(negative, start, jac=True, method="L-BFGS-B", options={"maxiter": 500}).x


def curvature_sd(logp_and_gradient, point: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Per parameter 1 / sqrt(-d2 log p / dx_i2) at `point`; 1 (PyMC's jitter scale) where the
    curvature is not negative (the signed runner scale at 0 can be a saddle)."""
    sd = np.ones(point.size)
    for i in range(point.size):
        h = step * max(1.0, abs(point[i]))
        up, down = point.copy(), point.copy()
        up[i], down[i] = point[i] + h, point[i] - h
        second = (logp_and_gradient(up)[1][i] - logp_and_gradient(down)[1][i]) / (2 * h)
        if np.isfinite(second) and second < 0:
            sd[i] = 1.0 / np.sqrt(-second)
    return np.clip(sd, *SD_BOUNDS)


def preconditioned(compiled, centre: np.ndarray, scale: np.ndarray):
    """`compiled` sampled in y = (x - centre) / scale: nutpie's log density and expansion
    called by address from numba cfuncs (the gradient times `scale`)."""
    n = compiled.n_dim
    inner_logp = LOGP_C(compiled.compiled_logp_func.address)
    inner_expand = EXPAND_C(compiled.compiled_expand_func.address)
    centre, scale = np.array(centre, dtype=float), np.array(scale, dtype=float)
    pointer = types.CPointer(types.double)

    @numba.cfunc(types.int64(types.uint64, pointer, pointer, pointer, types.voidptr))
    def logp(dim, y_, gradient_, logp_, user_data):
        x = centre + scale * numba.carray(y_, (n,))
        gradient = numba.carray(gradient_, (n,))
        code = inner_logp(dim, x.ctypes, gradient.ctypes, numba.carray(logp_, (1,)).ctypes,
                          user_data)
        gradient *= scale
        return code

    @numba.cfunc(types.int64(types.uint64, types.uint64, pointer, pointer, types.voidptr))
    def expand(dim, n_expanded, y_, out_, user_data):
        x = centre + scale * numba.carray(y_, (n,))
        return inner_expand(dim, n_expanded, x.ctypes, numba.carray(out_, (n_expanded,)).ctypes,
                            user_data)

    start = compiled.initial_point_func
    wrapped = dataclasses.replace(compiled, compiled_logp_func=logp, compiled_expand_func=expand,
                                  initial_point_func=lambda seed: (start(seed) - centre) / scale)
    return wrapped, logp


def check_wrapper(compiled, logp_cfunc, centre, scale) -> None:
    """The wrapped log density and gradient at a random y equal the original's at x(y)."""
    y = np.random.default_rng(0).normal(size=compiled.n_dim)
    expected, gradient = compiled.logp_func(centre + scale * y)
    out, value = np.zeros(compiled.n_dim), np.zeros(1)
    code = LOGP_C(logp_cfunc.address)(compiled.n_dim, y.ctypes.data, out.ctypes.data,
                                      value.ctypes.data, compiled.user_data.ctypes.data)
    assert code == 0 and value[0] == expected and np.array_equal(out, scale * gradient)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--design-races", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--adaptation", default="low_rank")
    args = parser.parse_args()
    features = build_features(cohort(args.records, 1, args.design_races))
    compiled = compile_for_nutpie(build_model(features, load_priors()))
    for seed in args.seeds:
        mode = posterior_mode(compiled.logp_func, compiled.initial_point_func(seed))
        sd = curvature_sd(compiled.logp_func, mode)
        wrapped, logp_cfunc = preconditioned(compiled, mode, sd)
        check_wrapper(compiled, logp_cfunc, mode, sd)
        for name, model in (("fit's sampler", compiled), ("preconditioned", wrapped)):
            result = counts(model, seed, args.adaptation, {})
            print(json.dumps({"variant": name, "seed": seed, **result}), flush=True)


if __name__ == "__main__":
    main()
