"""Compile time of a fit, by what this machine has compiled before, against nutpie's own wrapper
in the same run (model/inference/nutpie_entry.py, model/inference/compiled.py).

Each compile runs in a fresh process, so nothing but the disk caches carries over. Two sets of
caches start empty (NUMBA_CACHE_DIR and PyTensor's compiledir in a new temporary directory):

- the fit's path (entry points, data shared): 1. the first fit ever (the likelihood kernel and
  the entry points compiled too); 2. the same structure, other data (another cohort of the same
  design): what most fits are; 3. another race count (other graph shapes);
- the fit's path before (nutpie's own wrapper, data as constants): 4. the first fit ever;
  5. the same structure, other data;
- 6. nutpie's own wrapper with the data shared, caches as 1-3's;
- 7. within one process, a kept model given new data (`compiled_for`, `reusable=True`);

then the time per log density and gradient through the entry point and through nutpie's
wrapper on one model, alternated in one process. Ratios are taken within the run.

    uv run python bench/compile_reuse.py                    # 10,000 runner-races, 6 races
    uv run python bench/compile_reuse.py --races 25 --records 2000
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quadrature_cost import cohort  # noqa: E402

from model.evidence.priors import load_priors  # noqa: E402
from model.hazard.features import build_features  # noqa: E402
from model.inference import compiled, hazard_model  # noqa: E402
from model.inference.hazard_model import build_model, compile_for_nutpie, ieee_arithmetic  # noqa: E402

_DOUBLES = ctypes.POINTER(ctypes.c_double)


def compile_once(records: int, races: int, seed: int, wrapper: str) -> dict:
    """Build the model of one design cohort and compile it with `wrapper` ("entry", or nutpie's
    own with the data "shared" or as "constants"); seconds of the compile alone."""
    import nutpie

    features = build_features(cohort(records, seed, races))
    if wrapper == "constants":  # the model as built before: its data arrays as constants
        constants = SimpleNamespace(shared=lambda value, name: value)
        with mock.patch.object(hazard_model, "pytensor", constants):
            model = build_model(features, load_priors())
    else:
        model = build_model(features, load_priors())
    start = time.perf_counter()
    if wrapper == "entry":
        compile_for_nutpie(model)
    else:
        with ieee_arithmetic():
            nutpie.compile_pymc_model(model)
    return {"compile_s": round(time.perf_counter() - start, 2)}


def in_process_reuse(records: int, races: int) -> dict:
    """A kept model (`reusable=True`) given the data of a second cohort of the same design."""
    priors = load_priors()
    models = [build_model(build_features(cohort(records, seed, races)), priors, reusable=True)
              for seed in (11, 12)]
    compiled.clear()
    compiled.compiled_for(models[0], priors)
    start = time.perf_counter()
    _, reused = compiled.compiled_for(models[1], priors)
    return {"compile_s": round(time.perf_counter() - start, 3), "reused": reused}


def gradient_ms(records: int, races: int, repeats: int = 5, calls: int = 200) -> dict:
    """Median ms per log density and gradient through each wrapper, one model, alternated."""
    import nutpie

    model = build_model(build_features(cohort(records, 12, races)), load_priors())
    with ieee_arithmetic():
        wrappers = {"entry": compile_for_nutpie(model), "nutpie": nutpie.compile_pymc_model(model)}
    x = np.random.default_rng(0).normal(0.0, 0.1, wrappers["entry"].n_dim)
    gradient, logp = np.zeros(x.size), np.zeros(())
    times: dict[str, list[float]] = {name: [] for name in wrappers}
    for _ in range(repeats):
        for name, c in wrappers.items():
            call, user_data = c.compiled_logp_func.ctypes, c.user_data.ctypes.data
            start = time.perf_counter()
            for _ in range(calls):
                call(x.size, x.ctypes.data_as(_DOUBLES), gradient.ctypes.data_as(_DOUBLES),
                     logp.ctypes.data_as(_DOUBLES), user_data)
            times[name].append((time.perf_counter() - start) / calls * 1e3)
    return {name: round(float(np.median(t)), 3) for name, t in times.items()}


def child(args: list[str], caches: Path) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(caches / "numba"),
           "PYTENSOR_FLAGS": f"base_compiledir={caches / 'pytensor'}"}
    done = subprocess.run([sys.executable, __file__, "--child", *args], env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--races", type=int, default=6)
    parser.add_argument("--child", nargs=4, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, records, races, seed = args.child
        if kind == "gradient":
            result = gradient_ms(int(records), int(races))
        elif kind == "reuse":
            result = in_process_reuse(int(records), int(races))
        else:
            result = compile_once(int(records), int(races), int(seed), kind)
        print(json.dumps(result))
        return
    n, r = str(args.records), args.races
    steps = {  # name: (cache set, child arguments)
        "1 fit's path: first fit ever": ("a", ["entry", n, str(r), "1"]),
        "2 fit's path: same structure, other data": ("a", ["entry", n, str(r), "2"]),
        "3 fit's path: another race count": ("a", ["entry", n, str(r + 1), "3"]),
        "4 before (nutpie, constants): first fit ever": ("b", ["constants", n, str(r), "1"]),
        "5 before: same structure, other data": ("b", ["constants", n, str(r), "2"]),
        "6 nutpie's wrapper, data shared, caches as 2": ("a", ["shared", n, str(r), "4"]),
        "7 kept in one process, new data": ("a", ["reuse", n, str(r), "0"]),
    }
    with tempfile.TemporaryDirectory(prefix="cramp-compile-") as tmp:
        results = {}
        for name, (caches, child_args) in steps.items():
            results[name] = child(child_args, Path(tmp) / caches)
            print(name, json.dumps(results[name]), flush=True)
        seconds = [r["compile_s"] for r in results.values()]
        print(f"ratio first fit ever, now / before: {seconds[0] / seconds[3]:.3f}")
        print(f"ratio same structure, now / before: {seconds[1] / seconds[4]:.3f}")
        print(f"ratio another race count, now / before (same structure): "
              f"{seconds[2] / seconds[4]:.3f}")
        per_gradient = child(["gradient", n, str(r), "0"], Path(tmp) / "a")
        print("ms per log density and gradient", json.dumps(per_gradient),
              f"ratio entry / nutpie: {per_gradient['entry'] / per_gradient['nutpie']:.3f}")


if __name__ == "__main__":
    main()
