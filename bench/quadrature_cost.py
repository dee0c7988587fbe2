"""What more runner-effect nodes cost: one evaluation of the likelihood kernel and its gradient
(what NUTS calls at every leapfrog step) at several node counts, in the same run, on the
fit_speed cohort (synthesize, 10,000 records) and on an SBC-sized one (600 records over 3 races,
runners in 1-3 of them).

    uv run python bench/quadrature_cost.py                       # 9, 15, 21 nodes
    uv run python bench/quadrature_cost.py --nodes 9 21 27 --records 10000 600
"""

from __future__ import annotations

import argparse
import json
import time

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


def measure(n_records: int, nodes: list[int], repeats: int) -> dict:
    from model.data.records import RaceRecords
    from model.hazard.features import build_features
    from model.inference.hazard_model import FIT_QUADRATURE, kernel_data, prepare
    from model.inference.likelihood import loglik_and_gradient
    from model.validation.synth import synthesize

    n_races = 3 if n_records < 1000 else None
    records, splits = synthesize(n_records, 5, n_races=n_races)
    d = prepare(build_features(RaceRecords(records, splits, "bench", "")))
    rng = np.random.default_rng(1)
    n_coef = 1 + len(d.cell_names)
    point = (rng.normal(-4.9, 0.3, len(d.outcome)), rng.normal(0.0, 0.5, n_coef),
             np.array([0.6, 0.4, 4.4, 0.55, -0.3]))
    calls = {}
    for n in nodes:
        arrays = kernel_data(d, n, FIT_QUADRATURE.damage_nodes).arrays()
        loglik_and_gradient(*point, *arrays)  # compiled (or loaded from numba's cache) first
        calls[n] = lambda arrays=arrays: loglik_and_gradient(*point, *arrays)
    times = per_call_seconds(calls, repeats)
    base = times[nodes[0]]
    return {"records": n_records, "runners": d.n_runner,
            "ms_per_gradient": {n: round(1e3 * t, 3) for n, t in times.items()},
            f"ratio_to_{nodes[0]}_nodes": {n: round(t / base, 2) for n, t in times.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[9, 15, 21])
    parser.add_argument("--records", type=int, nargs="+", default=[10_000, 600])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    for n in args.records:
        print(json.dumps(measure(n, args.nodes, args.repeats)))


if __name__ == "__main__":
    main()
