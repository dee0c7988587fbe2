"""Benchmark the scenario simulator against a naive loop and a bare numpy exp.

Workload (issue 3): 2,000 draws x 10,000 runners x the marathon's 43 km segments (42 of 1 km and
one of 0.195 km) x 5 plans (baseline + 4 interventions of `city_marathon_warm`). Reported in the
same run, as ratios:

- simulator cells/s (2 worker threads, and 1),
- a naive pure-Python loop over cells (math.exp, per-cell survival), timed on a subset,
- bare `np.exp` over the same number of elements, in the simulator's chunk size (float64 and
  float32, 1 thread and 2 threads): the practical limit of any per-cell exp,
- peak memory: numpy/Python allocations during the run (tracemalloc) and the process's max RSS,
  for 10,000 and 100,000 runners (fewer draws), to show it does not grow with the population.

Run: ``uv run python bench/simulate_speed.py [--draws 2000] [--runners 10000]``
"""

from __future__ import annotations

import argparse
import math
import resource
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from model.evidence.priors import load_priors
from model.hazard.forward import prior_draws
from scenarios.course import Segments, plan_race
from scenarios.population import BLOCK_RUNNERS, runner_block
from scenarios.simulate import DRAW_CHUNK, coefficients, simulate
from scenarios.spec import load_scenario


def scenario_with(runners: int):
    s = load_scenario("city_marathon_warm")
    return replace(s, runners=replace(s.runners, count=runners))


def time_simulator(s, params, threads: int) -> float:
    start = time.perf_counter()
    simulate(s, params, n_threads=threads)
    return time.perf_counter() - start


def naive_cells_per_s(s, params, n_runners: int = 100, n_draws: int = 3) -> float:
    """Per cell: linear predictor, exp, cumulative hazard, survival, onset and time lost, in
    Python loops (what one would write first)."""
    seg = Segments.of(s.course)
    coef = coefficients(params.isel(draw=slice(0, n_draws)), seg)
    block = runner_block(s.runners, s.seed, 0)
    races = [plan_race(s, i.apply(s.plan()), block, seg) for i in s.interventions.values()]
    n_seg = len(seg.start_km)
    start = time.perf_counter()
    total = 0.0
    for race in races:
        for d in range(n_draws):
            for r in range(n_runners):
                const = float(coef.runner[d] @ race.runner_x[:, r])
                cumulative, survival_before, lost = 0.0, 1.0, 0.0
                for k in range(n_seg):
                    eta = (coef.course[d, k] + const + coef.cell[d, 0] * race.cell_x[0, k, r]
                           + coef.cell[d, 1] * race.cell_x[1, k, r]
                           + coef.cell[d, 2] * race.cell_x[2, k, r])
                    cumulative += math.exp(eta)
                    survival = math.exp(-cumulative)
                    lost += (survival_before - survival) * race.loss_if_onset_s[k, r]
                    survival_before = survival
                total += survival_before + lost
    elapsed = time.perf_counter() - start
    return len(races) * n_draws * n_runners * n_seg / elapsed


def bare_exp_s(n_cells: int, chunk: int, dtype, threads: int) -> float:
    """np.exp over n_cells elements, `chunk` at a time, into a preallocated output."""
    rng = np.random.default_rng(0)
    n_chunks = -(-n_cells // chunk)
    per_thread = [(-(-n_chunks // threads)) for _ in range(threads)]

    def work(n: int) -> None:
        x = rng.normal(-5.0, 1.0, chunk).astype(dtype)
        out = np.empty_like(x)
        for _ in range(n):
            np.exp(x, out=out)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, per_thread))
    return time.perf_counter() - start


def peak_memory_mb(s, params) -> float:
    tracemalloc.start()
    simulate(s, params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--runners", type=int, default=10000)
    args = parser.parse_args()
    priors = load_priors()
    s = scenario_with(args.runners)
    params = prior_draws(priors, args.draws, 0)
    n_seg = len(Segments.of(s.course).start_km)
    n_cells = args.draws * args.runners * n_seg * len(s.interventions)
    print(f"workload: {args.draws} draws x {args.runners} runners x {n_seg} segments x "
          f"{len(s.interventions)} plans = {n_cells / 1e9:.2f} G cells")
    simulate(s, params.isel(draw=slice(0, 16)))  # warm-up
    sim2 = time_simulator(s, params, threads=2)
    sim1 = time_simulator(s, params, threads=1)
    naive = naive_cells_per_s(s, params)
    chunk = DRAW_CHUNK * n_seg * BLOCK_RUNNERS
    bare = {(np.dtype(dt).name, th): bare_exp_s(n_cells, chunk, dt, th)
            for dt in (np.float64, np.float32) for th in (1, 2)}
    rows = [("simulator, 2 threads", sim2), ("simulator, 1 thread", sim1)]
    rows += [(f"bare np.exp {dt}, {th} thread{'s' if th > 1 else ''}", t)
             for (dt, th), t in bare.items()]
    print(f"\n{'':34s} {'seconds':>9s} {'G cells/s':>10s} {'sim(2 thr) / this':>18s}")
    for name, t in rows:
        print(f"{name:34s} {t:9.2f} {n_cells / t / 1e9:10.2f} {t / sim2:18.2f}x")
    print(f"{'naive Python loop (subset)':34s} {n_cells / naive:9.0f} {naive / 1e9:10.4f} "
          f"{n_cells / naive / sim2:18.0f}x  (extrapolated)")
    print("\npeak memory (tracemalloc: numpy + Python allocations during simulate)")
    for runners, n_draws in ((10_000, args.draws), (100_000, args.draws // 4)):
        mb = peak_memory_mb(scenario_with(runners), params.isel(draw=slice(0, n_draws)))
        print(f"  {runners:>7d} runners x {n_draws} draws: {mb:7.1f} MB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS over the whole benchmark: {rss:.0f} MB")


if __name__ == "__main__":
    main()
