"""The cached entry points (model/inference/nutpie_entry.py) are nutpie's own wrapper, faster to
compile: the same draws, the same log density and gradient after new data, the same error codes,
no leaked arrays, and loaded from numba's cache by a new process."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import nutpie
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.raise_op import Assert

from model.inference.hazard_model import ieee_arithmetic
from model.inference.nutpie_entry import compile_model

ROOT = Path(__file__).resolve().parents[1]
_DOUBLES = ctypes.POINTER(ctypes.c_double)


def small_model(y: np.ndarray, shared: bool = True) -> pm.Model:
    """Groups of normal data, with data arrays of several dtypes and ranks (float64 vector,
    int64 index, float32 matrix, a float64 scalar) as shared variables or constants, a
    deterministic, and a check that raises when the mean passes 5."""
    group = np.arange(y.size) % 2
    weights = np.linspace(0.5, 1.5, 2 * y.size, dtype="float32").reshape(y.size, 2)
    wrap = (lambda name, v: pytensor.shared(v, name=name)) if shared else (lambda name, v: v)
    y_, group_, weights_, scale_ = (wrap(n, v) for n, v in (
        ("y", y), ("group", group), ("weights", weights), ("scale", np.array(1.0))))
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 1.0)
        offset = pm.Normal("offset", 0.0, 1.0, shape=2)
        sd = pm.HalfNormal("sd", 1.0)
        mean = mu + offset[group_] * weights_[:, 0]
        pm.Potential("y_given_mu", pm.logp(pm.Normal.dist(mean, sd * scale_), y_).sum())
        pm.Potential("check", Assert("mu below 5")(pt.constant(0.0), mu < 5.0))
        pm.Deterministic("twice_mu", 2.0 * mu)
    return model


def entry_logp(compiled, x: np.ndarray, dim: int | None = None) -> tuple[int, float, np.ndarray]:
    """(return code, log density, gradient) from the compiled model's C entry point."""
    gradient, logp = np.zeros(compiled.n_dim), np.zeros(())
    code = compiled.compiled_logp_func.ctypes(
        compiled.n_dim if dim is None else dim, x.ctypes.data_as(_DOUBLES),
        gradient.ctypes.data_as(_DOUBLES), logp.ctypes.data_as(_DOUBLES),
        compiled.user_data.ctypes.data)
    return code, float(logp), gradient


def data(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(1.0, 2.0, n)


@pytest.mark.parametrize("shared", [True, False])
def test_the_entry_points_sample_what_nutpies_own_wrapper_samples(shared):
    model = small_model(data(40, 1), shared)
    with ieee_arithmetic():
        ours, theirs = compile_model(model), nutpie.compile_pymc_model(model)
    assert ours.compiled_logp_func is not theirs.compiled_logp_func
    draws = [nutpie.sample(c, draws=150, tune=150, chains=2, cores=2, seed=4,
                           progress_bar=False)["posterior"] for c in (ours, theirs)]
    for name in ("mu", "offset", "sd", "twice_mu"):
        np.testing.assert_array_equal(draws[0][name].to_numpy(), draws[1][name].to_numpy())


def test_new_data_give_what_a_fresh_compile_of_them_gives():
    with ieee_arithmetic():
        first = compile_model(small_model(data(40, 1)))
        other = data(73, 2)  # another size, as a later cohort's
        swapped = first.with_data(y=other, group=np.arange(73) % 2,
                                  weights=np.linspace(0.5, 1.5, 146).reshape(73, 2))
        fresh = compile_model(small_model(other))
    for x in np.random.default_rng(3).normal(0.0, 0.5, (5, first.n_dim)):
        code, logp, gradient = entry_logp(swapped, x)
        assert code == 0
        assert logp == entry_logp(fresh, x)[1]
        np.testing.assert_array_equal(gradient, entry_logp(fresh, x)[2])
        assert logp != entry_logp(first, x)[1]  # the swap changed what is computed
        graph_logp, graph_gradient = fresh.logp_func(x)  # the graph called from Python
        assert logp == float(graph_logp)
        np.testing.assert_array_equal(gradient, graph_gradient)



def test_scaled_coordinates_give_the_models_density_and_draws_at_the_mapped_point():
    """In y = (x - centre) / scale the log density is the model's at x, the gradient the
    model's times the scale (the chain rule), the expanded draws the model's at x; new data keep
    the scaling, a second scaling is in the model's coordinates, and a bad scale is refused."""
    with ieee_arithmetic():
        plain = compile_model(small_model(data(40, 1)))
    rng = np.random.default_rng(5)
    centre, scale = rng.normal(0.0, 0.3, plain.n_dim), rng.uniform(0.01, 3.0, plain.n_dim)
    scaled = plain.scaled(centre, scale)
    expand = plain.compiled_expand_func.ctypes

    def expanded(compiled, x):
        values = np.zeros(compiled.n_expanded)
        assert expand(compiled.n_dim, compiled.n_expanded, x.ctypes.data_as(_DOUBLES),
                      values.ctypes.data_as(_DOUBLES), compiled.user_data.ctypes.data) == 0
        return values

    for y in rng.normal(0.0, 1.0, (5, plain.n_dim)):
        x = centre + scale * y
        code, logp, gradient = entry_logp(scaled, y)
        assert code == 0 and logp == entry_logp(plain, x)[1]
        np.testing.assert_array_equal(gradient, scale * entry_logp(plain, x)[2])
        np.testing.assert_array_equal(expanded(scaled, y), expanded(plain, x))
        assert scaled.log_density(y)[0] == logp
    start = plain.initial_point_func(7)
    np.testing.assert_allclose(scaled.initial_point_func(7), (start - centre) / scale)
    again = scaled.scaled(np.zeros(plain.n_dim), 2.0 * np.ones(plain.n_dim))
    y = rng.normal(0.0, 1.0, plain.n_dim)
    assert entry_logp(again, y)[1] == entry_logp(plain, 2.0 * y)[1]
    np.testing.assert_allclose(again.initial_point_func(7), start / 2.0)
    other = data(73, 2)
    swapped = scaled.with_data(y=other, group=np.arange(73) % 2,
                               weights=np.linspace(0.5, 1.5, 146).reshape(73, 2))
    assert entry_logp(swapped, y)[1] == entry_logp(
        plain.with_data(y=other, group=np.arange(73) % 2,
                        weights=np.linspace(0.5, 1.5, 146).reshape(73, 2)),
        centre + scale * y)[1]
    for bad in (np.zeros(plain.n_dim), np.full(plain.n_dim, np.nan), np.ones(plain.n_dim + 1)):
        with pytest.raises(ValueError, match="scale > 0"):
            plain.scaled(centre if bad.size == plain.n_dim else bad, bad)

def test_errors_come_back_as_nutpies_codes_not_crashes():
    with ieee_arithmetic():
        compiled = compile_model(small_model(data(40, 1)))
    x = np.zeros(compiled.n_dim)
    assert entry_logp(compiled, x)[0] == 0
    mu = compiled.shape_info[0].index("mu")  # the check raises for mu >= 5: an exception
    beyond = x.copy()
    beyond[compiled.shape_info[1][mu]] = 6.0
    assert entry_logp(compiled, beyond)[0] == 1
    offset = compiled.shape_info[0].index("offset")
    not_a_number = x.copy()
    not_a_number[compiled.shape_info[1][offset]] = np.nan
    assert entry_logp(compiled, not_a_number)[0] == 3  # a non-finite gradient
    assert entry_logp(compiled, x, dim=compiled.n_dim + 1)[0] == -1  # wrong size
    values = np.zeros(compiled.n_expanded)
    expand = compiled.compiled_expand_func.ctypes
    for expanded, code in ((compiled.n_expanded, 0), (compiled.n_expanded + 1, -1)):
        assert expand(compiled.n_dim, expanded, x.ctypes.data_as(_DOUBLES),
                      values.ctypes.data_as(_DOUBLES), compiled.user_data.ctypes.data) == code


_IN_A_NEW_PROCESS = """
import json, numpy as np, test_nutpie_entry as t
from numba.core.runtime import rtsys
from model.inference.hazard_model import ieee_arithmetic
from model.inference.nutpie_entry import compile_model
with ieee_arithmetic():
    compiled = compile_model(t.small_model(t.data(40, 1)))
before = rtsys.get_allocation_stats()
for x in np.random.default_rng(0).normal(0.0, 0.5, (200, compiled.n_dim)):
    assert t.entry_logp(compiled, x)[0] == 0
after = rtsys.get_allocation_stats()
print(json.dumps({"cache_hits": compiled.compiled_logp_func.cache_hits
                  + compiled.compiled_expand_func.cache_hits,
                  "allocated": after.alloc - before.alloc,
                  "not_freed": (after.alloc - after.free) - (before.alloc - before.free)}))
"""


def test_a_new_process_loads_the_entry_points_from_the_cache_and_frees_what_graphs_allocate(
        tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "NUMBA_NRT_STATS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}

    def run() -> dict:
        done = subprocess.run([sys.executable, "-c", _IN_A_NEW_PROCESS], env=env, cwd=ROOT,
                              capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    first, second = run(), run()
    assert first["cache_hits"] == 0 and second["cache_hits"] == 2  # compiled once, then loaded
    for result in (first, second):
        assert result["allocated"] > 0 and result["not_freed"] == 0


def test_a_fit_compiles_the_hazard_model_through_the_entry_points_with_its_data_shared():
    import cramp
    from model.evidence.priors import load_priors
    from model.hazard.features import build_features
    from model.inference.hazard_model import build_model, compile_for_nutpie
    from model.inference.nutpie_entry import EntryCompiledModel

    table, splits = cramp.synthesize(200, 3)
    model = build_model(build_features(cramp.load_records(table, splits=splits)), load_priors())
    compiled = compile_for_nutpie(model)
    assert isinstance(compiled, EntryCompiledModel)
    # every data array is read through the user data, none is compiled in as a constant
    assert {v.name for v in compiled.shared_var_keys} == set(model.cramp_graph_data)
    # ... and read where the model holds it, not from copies (~1 GB at 10^6 runner-races)
    for variable, key in compiled.shared_var_keys.items():
        assert compiled.shared_data[key] is model.cramp_graph_data[variable.name]
    x = np.random.default_rng(1).normal(0.0, 0.1, compiled.n_dim)
    code, logp, gradient = entry_logp(compiled, x)
    graph_logp, graph_gradient = compiled.logp_func(x)
    assert code == 0 and logp == float(graph_logp)
    np.testing.assert_array_equal(gradient, graph_gradient)
