"""Compile the hazard model once per structure and reuse it for other data of that structure.

A reusable model (`build_model(..., reusable=True)`) reads every data array as a shared
variable, so two data sets with the same structure (quadrature nodes, which factors vary within
a race, the number of races, the priors) give the same graph: the second fit swaps its arrays
into the first fit's compiled model (`with_data`) instead of compiling again. Array sizes may
differ (records, segments, located onsets); the sampler's parameters may not, hence the race
count in the key. Measured (bench/compile_reuse.py, 2,000 records) while graphs still linked
the kernel as a numba function: the first compile 21-27 s against 10-14 s for a one-off model
with its data as constants (PyTensor folds those into fewer ops), every later one 0.03 s. Since
graphs call the kernel by symbol (model/inference/likelihood.py) a one-off compile of a
10,000-record model takes ~7 s (bench/fit_speed.py), the reusable one 21-24 s (nutpie's
numba.cfunc calls timed, Nov 2026). Neither is reused across processes: PyTensor's disk
cache holds the graph's compiled parts, but nutpie's C wrapper links the whole graph into
itself and compiles it again (~5 s of the 7; 18-20 s of the reusable one's 21-24).
For many fits of one design (a simulation-based calibration, a design grid); kept per process,
a few models at most (each holds its data).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict

import pymc as pm

from model.evidence.priors import Priors
from model.inference.hazard_model import compile_for_nutpie

MAX_CACHED = 4
_cache: OrderedDict[tuple, object] = OrderedDict()


def structure_key(model: pm.Model, priors: Priors) -> tuple:
    """What the compiled model depends on besides its data arrays."""
    prior_values = tuple((name, p.dist, p.mu, p.sigma, p.correlation)
                         for name, p in sorted(priors.entries.items()))
    return (*model.cramp_structure, prior_values)


def compiled_for(model: pm.Model, priors: Priors):
    """nutpie's compiled model for `model`, reusing one compiled for the same structure.
    Returns (compiled, reused)."""
    key = structure_key(model, priors)
    if not model.cramp_structure[0]:  # built with its data as constants: for this data only
        return compile_for_nutpie(model), False
    if key in _cache:
        _cache.move_to_end(key)
        compiled = _cache[key].with_data(**model.cramp_graph_data)
        # the race labels are coordinates of the sampled variables, not data
        coords = {**(compiled._coords or {}), "race": list(model.coords["race"])}
        return dataclasses.replace(compiled, _coords=coords), True
    compiled = compile_for_nutpie(model)
    _cache[key] = compiled
    while len(_cache) > MAX_CACHED:
        _cache.popitem(last=False)
    return compiled, False


def cached_structures() -> frozenset[tuple]:
    """The structure keys compiled in this process (a caller can tell whether a fit compiled)."""
    return frozenset(_cache)


def clear() -> None:
    """Forget every compiled model (tests compare a fresh compile with a reused one)."""
    _cache.clear()
