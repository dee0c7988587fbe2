"""What more runner-effect nodes cost: one evaluation of the likelihood kernel and its gradient
(what NUTS calls at every leapfrog step) at several node counts, in the same run, on the
fit_speed cohort (synthesize, 10,000 records) and on an SBC-sized one (600 records over 3 races,
runners in 1-3 of them), or on a design cohort (tests/design_cohorts.py: every runner seen once).

    uv run python bench/quadrature_cost.py                       # 9, 15, 21 nodes
    uv run python bench/quadrature_cost.py --nodes 9 21 27 --records 10000 600
    uv run python bench/quadrature_cost.py --nodes 9 --records 10000 --design-races 6 --seed 1

Pin it to one core (taskset -c 0) and compare variants within one run: on a shared machine the
same call's time varies by tens of percent between runs. `page_faults_per_call` should be ~0, as
in a fit (bench/fit_profile.py): where glibc hands the kernel's freed temporaries back to the
operating system after every call (it depends on what else the process has allocated), fresh
pages cost up to as much as the evaluation itself.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np


def per_call_seconds(calls: dict, repeats: int, rounds: int = 7) -> dict:
    """Per call of each of `calls` (name: function), the best of `rounds` rounds of `repeats`
    calls; the functions take turns within each round, so a busy machine slows them alike."""
    best = dict.fromkeys(calls, np.inf)
    for _ in range(rounds):
        for name, f in calls.items():
            start = time.perf_counter()
            for _ in range(repeats):
                f()
            best[name] = min(best[name], (time.perf_counter() - start) / repeats)
    return best


def cohort(records: int, seed: int, design_races: int | None = None, n_races: int | None = None):
    """Race records: a design cohort of `design_races` races (tests/design_cohorts.py), else the
    synthetic generator's (model/validation/synth.py)."""
    from model.data.records import RaceRecords
    from model.validation.synth import synthesize

    if design_races:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from design_cohorts import Design, draw_cohort

        return RaceRecords(*draw_cohort(Design(design_races, records), seed), "bench", "")
    return RaceRecords(*synthesize(records, seed, n_races=n_races), "bench", "")


def measure(n_records: int, nodes: list[int], repeats: int, design_races: int | None = None,
            seed: int = 5) -> dict:
    from model.hazard.features import build_features
    from model.inference.hazard_model import FIT_QUADRATURE, kernel_data, prepare
    from model.inference.likelihood import loglik_and_gradient

    n_races = 3 if n_records < 1000 else None
    d = prepare(build_features(cohort(n_records, seed, design_races, n_races)))
    rng = np.random.default_rng(1)
    n_coef = 1 + len(d.cell_names)
    point = (rng.normal(-4.9, 0.3, len(d.outcome)), rng.normal(0.0, 0.5, n_coef),
             np.array([0.6, 0.4, 4.4, 0.55, -0.3]))
    calls = {}
    for n in nodes:
        arrays = kernel_data(d, n, FIT_QUADRATURE.damage_nodes).arrays()
        loglik_and_gradient(*point, *arrays)  # compiled (or loaded from numba's cache) first
        calls[n] = lambda arrays=arrays: loglik_and_gradient(*point, *arrays)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    times = per_call_seconds(calls, repeats)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    base = times[nodes[0]]
    return {"records": n_records, "runners": d.n_runner, "design_races": design_races,
            "ms_per_gradient": {n: round(1e3 * t, 3) for n, t in times.items()},
            f"ratio_to_{nodes[0]}_nodes": {n: round(t / base, 2) for n, t in times.items()},
            "page_faults_per_call": round(faults / (7 * repeats * len(nodes)), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[9, 15, 21])
    parser.add_argument("--records", type=int, nargs="+", default=[10_000, 600])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--design-races", type=int, default=None)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    for n in args.records:
        print(json.dumps(measure(n, args.nodes, args.repeats, args.design_races, args.seed)))


if __name__ == "__main__":
    main()
