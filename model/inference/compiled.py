"""Keep compiled hazard models in this process and reuse them for other data of their structure.

The hazard model reads every data array as a shared variable, so two data sets with the same
structure (quadrature nodes, which factors vary within a race, the number of races, the priors)
give the same graph. Across processes, PyTensor's disk cache and the cached entry points
(model/inference/nutpie_entry.py) already make a compile of a structure seen before on this
machine take ~1 s. Within one, a model built with `reusable=True` is kept here, and a later fit
of the same structure swaps its arrays into it (`with_data`) and compiles nothing. Array sizes
may differ (records, segments, located onsets); the sampler's parameters may not, hence the race
count in the key. For many fits of one design (a simulation-based calibration, a design grid);
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
    if not model.cramp_structure[0]:  # not to be kept: for this data only
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
