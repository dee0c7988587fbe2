"""A planned race along the course: for a block of runners under one plan, each runner's elapsed
time at every 1 km segment and the hazard model's features there (relative pace so far, distance
beyond the longest run, WBGT met at that clock time), plus the runner-level terms and the time a
cramp starting in each segment would cost.

Layout is (segment, runner): runners vary fastest, so the simulator's cumulative sums along the
course are vectorised adds over runners.

Pacing: runners hold an even *effort*. On a hilly course each segment's time is proportional to its
flat-equivalent distance, the energy cost of running on its gradient relative to the flat (Minetti
et al. 2002, J Appl Physiol 93:1039, valid for gradients -45% to +45%; real runners gain less
downhill than the energy cost suggests). A split moves time between the halves (by distance)
without changing the finishing time. Relative pace compares the runner's time so far with the
prediction for this course from their ability (Riegel, scaled by the flat-equivalent distance), so
on a flat course it is exactly the model's feature definition (model/hazard/features.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.hazard.features import cumulative_relative_pace, predicted_time_s, segment_grid
from model.hazard.specification import (
    CELL_FACTORS,
    CK_REFERENCE_U_PER_L,
    LN2,
    LOG_CK_REFERENCE,
    RECORD_FACTORS,
    REGISTRY,
    excess_distance_units,
    heat_units,
    log_distance_10km,
    taper_units,
)
from scenarios.interventions import Plan
from scenarios.population import RunnerBlock
from scenarios.scenario import Course, Scenario

#: the first rows of `PlannedRace.runner_x`: pre-race damage through the CK mediator
DAMAGE_TERMS = ("damage_offset", "damage_ck_mean", "damage_ck_taper", "damage_ck_sd")


def record_terms() -> tuple[str, ...]:
    """The record factors with a row of their own in `PlannedRace.runner_x`: all but damage
    (it enters through `DAMAGE_TERMS`), in the specification's order."""
    return tuple(f for f in RECORD_FACTORS if f != "muscle_damage")


def runner_term_names() -> tuple[str, ...]:
    """Rows of `PlannedRace.runner_x` (`runner_terms`): the damage terms, `record_terms()` and
    the unknown effect."""
    return (*DAMAGE_TERMS, *record_terms(), "effect")


def minetti_cost_ratio(gradient: np.ndarray) -> np.ndarray:
    """Energy cost of running at `gradient` (rise/run) relative to the flat (Minetti 2002)."""
    i = np.clip(gradient, -0.45, 0.45)
    cost = 155.4 * i**5 - 30.4 * i**4 - 43.3 * i**3 + 46.3 * i**2 + 19.5 * i + 3.6
    return cost / 3.6


def equivalent_flat_km(course: Course, start_km: np.ndarray, end_km: np.ndarray) -> np.ndarray:
    """Flat-equivalent distance [km] between `start_km` and `end_km` at even effort."""
    if len(course.elevation_km) < 2:
        return np.asarray(end_km, float) - np.asarray(start_km, float)
    km = course.elevation_km
    ratio = minetti_cost_ratio(np.diff(course.elevation_m) / (np.diff(km) * 1000.0))
    cumulative = np.concatenate([[0.0], np.cumsum(ratio * np.diff(km))])
    return np.interp(end_km, km, cumulative) - np.interp(start_km, km, cumulative)


@dataclass(frozen=True)
class Segments:
    """The course's 1 km segments (the last may be shorter)."""

    start_km: np.ndarray
    end_km: np.ndarray
    equivalent_start_km: np.ndarray
    equivalent_end_km: np.ndarray

    @classmethod
    def of(cls, course: Course) -> Segments:
        start, end, _ = segment_grid(np.array([course.distance_km]))
        start, end = start[0], end[0]
        zero = np.zeros_like(start)
        return cls(start, end, equivalent_flat_km(course, zero, start),
                   equivalent_flat_km(course, zero, end))

    @property
    def length_km(self) -> np.ndarray:
        return self.end_km - self.start_km

    @property
    def log_distance_10km(self) -> np.ndarray:
        return log_distance_10km(self.start_km, self.end_km)


@dataclass(frozen=True)
class PlannedRace:
    """One block of runners under one plan."""

    cell_x: np.ndarray  # (CELL_FACTORS, segment, runner)
    runner_x: np.ndarray  # (runner_term_names(), runner)
    loss_if_onset_s: np.ndarray  # (segment, runner): time a cramp starting there costs [s]
    finish_time_s: np.ndarray  # (runner) planned
    elapsed_at_end_s: np.ndarray  # (segment, runner)


def planned_finish_time_s(scenario: Scenario, plan: Plan, block: RunnerBlock) -> np.ndarray:
    """Planned finishing time [s] of each runner: the target time, or the course prediction from
    their ability at their effort; times the plan's pace factor."""
    if scenario.runners.target_time_s is not None:
        base = np.full(block.size, scenario.runners.target_time_s)
    else:
        base = course_prediction_s(scenario, block) / (1 + block.effort_vs_ability_pct / 100)
    return base * plan.time_factor


def course_prediction_s(scenario: Scenario, block: RunnerBlock) -> np.ndarray:
    """Time [s] each runner's ability predicts for this course at even effort."""
    course = scenario.course
    flat = predicted_time_s(block.ref_time_s, scenario.runners.ref_distance_km,
                            course.distance_km)
    total = equivalent_flat_km(course, np.array([0.0]), np.array([course.distance_km]))[0]
    return flat * total / course.distance_km


def plan_race(scenario: Scenario, plan: Plan, block: RunnerBlock,
              segments: Segments | None = None) -> PlannedRace:
    """Features of every (segment, runner) cell and the runner-level terms under `plan`."""
    seg = segments or Segments.of(scenario.course)
    finish = planned_finish_time_s(scenario, plan, block)
    elapsed_end = elapsed_at_km_s(seg, finish, plan.split_pct, seg.equivalent_end_km)
    elapsed_start = np.vstack([np.zeros((1, block.size)), elapsed_end[:-1]])
    prediction = course_prediction_s(scenario, block)
    total_eq = seg.equivalent_end_km[-1]
    # the model's definition, in flat-equivalent km (identical to km on a flat course)
    pace = cumulative_relative_pace(
        prediction, np.full(block.size, total_eq),
        np.broadcast_to(seg.equivalent_start_km, (block.size, len(seg.start_km))),
        elapsed_end.T,
    ).T
    longest = np.maximum(
        0.0, block.longest_run_km + plan.long_run_add_km if plan.long_run_set_km is None
        else np.full(block.size, plan.long_run_set_km))
    excess = excess_distance_units(
        np.broadcast_to(seg.start_km, (block.size, len(seg.start_km))),
        np.broadcast_to(seg.end_km, (block.size, len(seg.start_km))), longest).T
    mid_elapsed = 0.5 * (elapsed_start + elapsed_end)
    heat = heat_units(scenario.weather.wbgt_at(plan.start_clock_h + mid_elapsed / 3600.0))
    loss = scenario.time_loss
    loss_if_onset = loss.stop_s + loss.slowdown_pct / 100.0 * (finish[None, :] - mid_elapsed)
    # the cell factors with their own definition here (the specification's `special`); any
    # other from the segment grid, the same for every runner
    own = {"relative_pace": pace, "excess_distance": excess, "heat": heat}
    grid = (seg.start_km[:, None], seg.end_km[:, None], scenario.course.distance_km)
    return PlannedRace(
        cell_x=np.stack([own[name] if name in own else np.broadcast_to(
            REGISTRY[name].from_grid(*grid), pace.shape) for name in CELL_FACTORS]),
        runner_x=runner_terms(block, plan),
        loss_if_onset_s=loss_if_onset,
        finish_time_s=finish,
        elapsed_at_end_s=elapsed_end,
    )


def elapsed_at_km_s(seg: Segments, finish_time_s: np.ndarray, split_pct: float,
                    equivalent_km: np.ndarray) -> np.ndarray:
    """Planned elapsed time [s] at the flat-equivalent km points, (point, runner): even effort
    within each half (by distance), the second half at an effort `split_pct`% slower than the
    first (time per flat-equivalent km x (1 + split_pct/100))."""
    total = seg.equivalent_end_km[-1]
    half_km = 0.5 * seg.end_km[-1]
    half = np.interp(half_km, seg.end_km, seg.equivalent_end_km, left=0.0)
    share = half / total  # of the even-effort time spent in the first half
    first = finish_time_s * share / (share + (1.0 - share) * (1.0 + split_pct / 100.0))
    second = finish_time_s - first
    in_first = np.minimum(equivalent_km, half) / half
    in_second = np.maximum(equivalent_km - half, 0.0) / (total - half)
    return in_first[:, None] * first[None, :] + in_second[:, None] * second[None, :]


def runner_terms(block: RunnerBlock, plan: Plan) -> np.ndarray:
    """Runner-level terms, (`runner_term_names()`, runner), such that with per-draw
    coefficients ``[b_damage, b_damage*ck_log_mean, b_damage*ck_taper_effect,
    b_damage*ck_log_sd, b_taper, b_history, (b of any other record factor), effect_sd]`` their
    dot product is the runner's constant log-hazard shift (effect_sd: runner_sd in a field,
    whose race day joins the course terms; one runner's nodes cover both effects,
    `scenarios.simulate.coefficients`). A record factor other than damage and taper comes from
    its definition in the specification (`Factor.for_runners`).

    Damage [doublings of CK over 70 U/L] = (offset + mean*ck_log_mean + taper*ck_taper_effect +
    sd*ck_log_sd) / ln 2. A measured CK keeps its value and moves by the mediator's effect of the
    plan's change of taper; an unmeasured one is drawn from the mediator at the planned taper."""
    base_taper = block.taper_days
    taper_days = np.maximum(0.0, base_taper + plan.taper_add_days if plan.taper_set_days is None
                            else np.full(block.size, plan.taper_set_days))
    taper = taper_units(taper_days)
    measured = np.isfinite(block.ck_pre_u_per_l)
    ln2 = LN2
    offset = np.where(measured, np.log(np.where(measured, block.ck_pre_u_per_l, 1.0)
                                       / CK_REFERENCE_U_PER_L), -LOG_CK_REFERENCE)
    own = {"taper": taper}
    return np.stack([
        offset / ln2,
        (~measured) / ln2,
        np.where(measured, taper - taper_units(base_taper), taper) / ln2,
        np.where(measured, 0.0, block.z_ck) / ln2,
        *(own[name] if name in own else REGISTRY[name].for_runners(block, plan)
          for name in record_terms()),
        block.z_effect,
    ])


def pace_plan(scenario: Scenario, intervention: str) -> dict[str, np.ndarray]:
    """A single runner's planned race per 1 km segment under one of the scenario's plans: km
    from/to, segment time [s], pace [s/km], elapsed time at the segment's end [s], clock time
    there [h after midnight] and the WBGT met in the segment [degC] - what the simulator assumes.
    """
    from scenarios.population import runner_block

    if not scenario.runners.single:
        raise ValueError("a pace plan is for a single [runner]")
    plan = scenario.interventions[intervention].apply(scenario.plan())
    block = runner_block(scenario.runners, scenario.seed, 0, n_nodes_effect=1, n_nodes_ck=1)
    seg = Segments.of(scenario.course)
    finish = planned_finish_time_s(scenario, plan, block)[:1]
    elapsed = elapsed_at_km_s(seg, finish, plan.split_pct, seg.equivalent_end_km)[:, 0]
    seconds = np.diff(np.concatenate([[0.0], elapsed]))
    mid = elapsed - seconds / 2
    return {"from_km": seg.start_km, "to_km": seg.end_km, "segment_time_s": seconds,
            "pace_s_per_km": seconds / seg.length_km, "elapsed_s": elapsed,
            "clock_h": plan.start_clock_h + elapsed / 3600.0,
            "wbgt_c": scenario.weather.wbgt_at(plan.start_clock_h + mid / 3600.0)}
