"""The race simulator: for every parameter draw and every simulated runner, the exact probability
of a cramp and where along the course it starts (no coin flips), under every intervention with the
same runners and the same draws, reduced on the fly to per-draw population figures.

What the figures mean (defined here once; `RISK_MEANING` words them for the result):
- A field (a [population]) races on one race day. Per parameter draw the day's unknown conditions
  are one standard-normal draw z_race, shared by every runner of the field and by every
  intervention (common random numbers), entering the log hazard as race_sd * z_race; each runner
  adds their own unknown effect runner_sd * z_effect. A draw's risk is therefore this race day's
  incidence, including the unknown conditions of the day: the share of the field expected to
  cramp on that day, and its spread over the draws is the spread from one race day to the next
  on top of the parameter uncertainty. z_race comes from its own stream (scenario seed,
  `RACE_DAY_STREAM`) indexed by the draw, so a draw keeps its race day whatever the blocks,
  threads, dask or the subset of draws simulated.
- One runner's risk is the expectation over their unknown effect and the unknown race day
  together, Normal(0, sqrt(runner_sd^2 + race_sd^2)), integrated by quadrature: their probability
  of a cramp in a race like this, not on one particular day.

Per cell the work is one matrix product row (features x coefficients), two broadcast adds, an exp,
a running sum along the course and a second exp for the survival; per-draw sums over runners are
matrix-vector products. Memory is bounded: runners come in blocks of `BLOCK_RUNNERS`, draws in
chunks of `DRAW_CHUNK`, so a run needs a few tens of MB per worker whatever the population size.
Blocks are independent tasks: run in threads in-process, or on a dask cluster when asked (the
caller owns the dask client; the numbers are the same either way).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from model.hazard.specification import CELL_FACTORS, FACTORS
from scenarios.course import PlannedRace, Segments, plan_race, record_terms
from scenarios.history import HISTORY_EFFECT_NODES, effect_weights
from scenarios.population import N_NODES_CK, n_blocks, runner_block
from scenarios.scenario import Scenario

DRAW_CHUNK = 16
CELL_DTYPE = np.float32
TASK_DRAWS = 256  # draws per task (a task = one runner block x a range of draws)
# spawn key of the race-day stream: the runner blocks' seeds (scenario seed, block index) have
# none, so the two streams never share a seed
RACE_DAY_STREAM = 1
RISK_MEANING = {
    "field": "this race day's incidence, including the unknown conditions of the day: the "
             "share of the field expected to cramp on the draw's race day",
    "runner": "P(cramp during the race) for this runner, over their unknown effect and the "
              "unknown race day",
}


@dataclass(frozen=True)
class Coefficients:
    """Per-draw coefficient matrices matching the feature layout of `scenarios.course`."""

    cell: np.ndarray  # (draw, CELL_FACTORS)
    course: np.ndarray  # (draw, segment): baseline + shape + log(segment length)
    runner: np.ndarray  # (draw, runner_term_names())
    # (draw, runner): a single runner's quadrature weights per draw, when a race history
    # reweights the effect nodes (scenarios/history.py); None: the block's own weights
    weight: np.ndarray | None = None

    def __getitem__(self, draws: slice) -> Coefficients:
        return Coefficients(self.cell[draws], self.course[draws], self.runner[draws],
                            None if self.weight is None else self.weight[draws])

    @property
    def n_draws(self) -> int:
        return len(self.cell)


def coefficients(params: xr.Dataset, segments: Segments,
                 race_day: np.ndarray | None = None) -> Coefficients:
    """Coefficient matrices from parameter draws (dims `draw` and `factor`).

    `race_day` (draw,): a field's race-day draws (`race_day_z`); the day's effect race_sd * z
    joins the course terms of its draw (every cell of every runner) and each runner's own effect
    is runner_sd * z_effect. None (one runner): the runner's z_effect nodes stand for the runner
    and race-day effects together, Normal(0, sqrt(runner_sd^2 + race_sd^2)) on the log hazard."""
    beta = params["beta"].transpose("draw", "factor")
    b = {f: beta.sel(factor=f).to_numpy() for f in FACTORS}
    intercept = params["log_hazard_per_km"].to_numpy()
    shape = params["distance_shape"].to_numpy()
    course = (intercept[:, None] + shape[:, None] * segments.log_distance_10km[None, :]
              + np.log(segments.length_km)[None, :])
    runner_sd, race_sd = params["runner_sd"].to_numpy(), params["race_sd"].to_numpy()
    if race_day is None:
        effect_sd = np.hypot(runner_sd, race_sd)
    else:
        effect_sd = runner_sd
        course = course + (race_sd * race_day)[:, None]
    bd = b["muscle_damage"]
    # the rows of `runner_term_names()`: damage through the mediator, each other record factor
    runner = np.stack([
        bd, bd * params["ck_log_mean"].to_numpy(), bd * params["ck_taper_effect"].to_numpy(),
        bd * params["ck_log_sd"].to_numpy(),
        *(b[name] for name in record_terms()), effect_sd,
    ], axis=1)
    cell = np.stack([b[f] for f in CELL_FACTORS], axis=1)
    return Coefficients(cell, course, runner)


def race_day_z(seed: int, params: xr.Dataset) -> np.ndarray:
    """A field's standard-normal race-day draw for each parameter draw, (draw,): entry k of the
    stream (`seed`, `RACE_DAY_STREAM`) for the draw whose `draw` coordinate is k (its position
    when the coordinate is not a non-negative integer), so a draw meets the same race day in any
    subset of the draws."""
    n_draw = params.sizes["draw"]
    index = params["draw"].to_numpy() if "draw" in params.coords else np.arange(n_draw)
    if not (np.issubdtype(index.dtype, np.integer) and n_draw and index.min() >= 0):
        index = np.arange(n_draw)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(RACE_DAY_STREAM,)))
    return rng.standard_normal(int(index.max(initial=-1)) + 1)[index]


def score(race: PlannedRace, weight: np.ndarray, coef: Coefficients):
    """Weighted sums over one block's runners, per draw: P(cramp), survival to each segment end,
    and the expected time lost to cramps [s]. Shapes (draw,), (draw, segment), (draw,).

    Cells are computed in float32 in a (segment, draw, runner) layout; sums over blocks are
    float64. The runner-level terms multiply the cumulative hazard (exp(a + b) = e^a e^b), which
    saves a pass over the cells."""
    n_segment, n_runner = race.loss_if_onset_s.shape
    x = np.concatenate([race.cell_x.transpose(1, 0, 2), np.ones((n_segment, 1, n_runner))],
                       axis=1).astype(CELL_DTYPE)  # (segment, CELL_FACTORS + 1, runner)
    w = weight.astype(CELL_DTYPE)
    # expected loss = sum_s (S(s-1) - S(s)) loss_s, rewritten as linear in S(s) for a GEMV
    loss = race.loss_if_onset_s
    gain_each = np.vstack([loss[1:] - loss[:-1], -loss[-1:]])  # (segment, runner)
    gain = (gain_each * weight[None, :]).astype(CELL_DTYPE)
    first_loss = float(loss[0] @ weight)
    survival_sum, lost = [], []
    for start in range(0, coef.n_draws, DRAW_CHUNK):
        c = coef[slice(start, start + DRAW_CHUNK)]
        n_draw = len(c.cell)
        a = np.empty((n_segment, n_draw, len(CELL_FACTORS) + 1), CELL_DTYPE)
        a[:, :, :-1] = c.cell[None]
        a[:, :, -1] = c.course.T
        rate = np.matmul(a, x)  # log hazard without the runner terms, (segment, draw, runner)
        np.exp(rate, out=rate)
        for s in range(1, n_segment):  # cumulative hazard; vectorised over draws and runners
            np.add(rate[s], rate[s - 1], out=rate[s])
        np.multiply(rate, -np.exp(c.runner @ race.runner_x).astype(CELL_DTYPE), out=rate)
        np.exp(rate, out=rate)  # survival to each segment end
        if c.weight is not None:  # per-draw weights: the same sums, one weight row per draw
            wd = c.weight.astype(np.float64)
            survival_sum.append(np.einsum("sdr,dr->ds", rate, wd))
            per_runner = loss[0][None, :] + np.einsum("sdr,sr->dr", rate, gain_each)
            lost.append(np.sum(per_runner * wd, axis=1))
            continue
        survival_sum.append((rate @ w).T.astype(np.float64))
        lost.append(first_loss + np.matmul(rate, gain[:, :, None])[..., 0].astype(np.float64)
                    .sum(axis=0))
    survival = np.concatenate(survival_sum)
    total = weight.sum() if coef.weight is None else coef.weight.sum(axis=1)
    return total - survival[:, -1], survival, np.concatenate(lost)


def _task(scenario: Scenario, names: list[str], block_index: int, coef: Coefficients,
          n_nodes: tuple[int, int] | None):
    """One runner block under every intervention for a range of draws."""
    kwargs = {} if n_nodes is None else {"n_nodes_effect": n_nodes[0], "n_nodes_ck": n_nodes[1]}
    block = runner_block(scenario.runners, scenario.seed, block_index, **kwargs)
    segments = Segments.of(scenario.course)
    risk, survival, lost, finish = [], [], [], []
    for name in names:
        plan = scenario.interventions[name].apply(scenario.plan())
        race = plan_race(scenario, plan, block, segments)
        r, s, t = score(race, block.weight, coef)
        risk.append(r)
        survival.append(s)
        lost.append(t)
        finish.append(race.finish_time_s @ block.weight)
    return np.stack(risk), np.stack(survival), np.stack(lost), np.asarray(finish)


def simulate(
    scenario: Scenario,
    params: xr.Dataset,
    *,
    backend: str = "threads",
    n_threads: int = 2,
    progress: Callable[[int, int], None] | None = None,
    n_nodes: tuple[int, int] | None = None,
    compare_history: bool = True,
) -> xr.Dataset:
    """Simulate the scenario under each of its interventions for every draw of `params`.

    `params` has a `draw` dim (prior draws, or a posterior with chain and draw stacked).
    `backend` "threads" runs in this process; "dask" submits the blocks to the active dask
    scheduler (create a `distributed.Client` first to use a cluster). `progress(done, total)` is
    called as blocks finish. Returns a Dataset over (intervention, draw, segment); with a
    runner's past races (and `compare_history`) also the plan as written without them."""
    segments = Segments.of(scenario.course)
    field_day = None if scenario.runners.single else race_day_z(scenario.seed, params)
    coef = coefficients(params, segments, field_day)
    past = scenario.runners.past_races
    if past is not None:
        n_nodes = n_nodes or (HISTORY_EFFECT_NODES, N_NODES_CK)
        block = runner_block(scenario.runners, scenario.seed, 0, n_nodes_effect=n_nodes[0],
                             n_nodes_ck=n_nodes[1])
        coef = replace(coef, weight=block.weight[None, :]
                       * effect_weights(past, params, block.z_effect))
    names = list(scenario.interventions)
    jobs = [(b, slice(d, d + TASK_DRAWS)) for b in range(n_blocks(scenario.runners))
            for d in range(0, coef.n_draws, TASK_DRAWS)]
    results = _in_order(scenario, names, coef, jobs, backend, n_threads, progress, n_nodes)
    n_draw = coef.n_draws
    risk = np.zeros((len(names), n_draw))
    survival = np.zeros((len(names), n_draw, len(segments.start_km)))
    lost = np.zeros((len(names), n_draw))
    finish = np.zeros(len(names))
    # summed in a fixed order, so the numbers do not depend on which worker finished first
    for (_, draws), (r, s, t, f) in zip(jobs, results, strict=True):
        risk[:, draws] += r
        survival[:, draws] += s
        lost[:, draws] += t
        if draws.start == 0:
            finish += f
    ds = _result(scenario, names, params, segments, risk, survival, lost, finish)
    if field_day is not None:
        ds["race_day_z"] = ("draw", field_day)
        ds["race_day_z"].attrs["description"] = (
            "the draw's race day: its unknown conditions in standard deviations (race_sd) of "
            "the log hazard, shared by the field and every intervention")
    # how much the history moved the risk: the plan as written without it
    if past is not None and compare_history:
        plain = replace(scenario, runners=replace(scenario.runners, past_races=None),
                        interventions={"baseline": scenario.interventions["baseline"]})
        without = simulate(plain, params, backend=backend, n_threads=n_threads)
        ds["baseline_risk_without_history"] = ("draw", without["risk"].to_numpy()[0])
        ds["baseline_risk_without_history"].attrs["description"] = (
            "P(cramp) under the plan as written, without the runner's past races")
        ds.attrs.update(past_races=past.source, past_races_sha256=past.sha256,
                        past_races_count=len(past.table),
                        past_races_cramped=int(past.table["cramped"].sum()))
    return ds


def _in_order(scenario, names, coef, jobs, backend, n_threads, progress, n_nodes):
    """Yield each job's result in job order, with a bounded number of tasks in flight so that
    memory does not grow with the number of runner blocks."""
    total = len(jobs)
    window = max(2, 2 * n_threads)
    if backend == "dask":
        import dask

        window = 64
        for start in range(0, total, window):
            batch = [dask.delayed(_task)(scenario, names, b, coef[d], n_nodes)
                     for b, d in jobs[start:start + window]]
            yield from dask.compute(*batch)
            if progress:
                progress(min(start + window, total), total)
        return
    if backend != "threads":
        raise ValueError(f"unknown backend {backend!r} (threads or dask)")
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        pending = deque()
        for done in range(total):
            while len(pending) < window and done + len(pending) < total:
                b, d = jobs[done + len(pending)]
                pending.append(pool.submit(_task, scenario, names, b, coef[d], n_nodes))
            yield pending.popleft().result()
            if progress:
                progress(done + 1, total)


def _result(scenario, names, params, segments, risk, survival, lost, finish) -> xr.Dataset:
    draw = params["draw"].to_numpy() if "draw" in params.coords else np.arange(risk.shape[1])
    ds = xr.Dataset(
        {
            "risk": (("intervention", "draw"), risk),
            "survival": (("intervention", "draw", "segment"), survival),
            "expected_time_lost_s": (("intervention", "draw"), lost),
            "planned_finish_time_s": ("intervention", finish),
            "segment_start_km": ("segment", segments.start_km),
            "segment_end_km": ("segment", segments.end_km),
        },
        coords={
            "intervention": names,
            "draw": np.arange(len(draw)),
            "segment": np.arange(1, len(segments.start_km) + 1),
            "description": ("intervention",
                            [scenario.interventions[n].describe() for n in names]),
        },
    )
    ds["risk"].attrs["description"] = RISK_MEANING["runner" if scenario.runners.single
                                                   else "field"]
    ds["survival"].attrs["description"] = "P(no cramp by the end of the segment), runner average"
    ds["expected_time_lost_s"].attrs["description"] = (
        "expected time lost to cramps [s] under the scenario's cramp_time_loss assumption")
    ds["planned_finish_time_s"].attrs["description"] = "planned finishing time [s], runner average"
    return ds
