"""The inverse question for one runner: how fast can they go and keep the cramp risk under a
ceiling, and which target minimises the expected finishing time once time lost to cramps counts.

Every target is simulated exactly (scenarios/simulate.py) with the same parameter draws (common
random numbers), so the risk at a target is a deterministic function of the target. The mean risk
(and each quantile) falls as the target gets slower: relative pace falls, and the only opposing
term, the later clock time in a warming day, moves the WBGT by a fraction of a degree per minute
(single draws whose pace effect is near zero can rise slightly; the criterion over the draws does
not). So the smallest whole second meeting the ceiling is found by bisection on whole seconds
between the first grid target that meets it and the one before, not read off a grid: re-simulating
the scenario at that target gives the same numbers, not nearly the same.

The targets searched run from the runner's fastest plausible time (the scenarios layer refuses a
target more than MAX_TARGET_OVER_ABILITY_PCT faster than their recent result predicts, or faster
than FASTEST_PACE_MIN_PER_KM) to a walking pace, cut where the forecast given ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from model.conventions import INTERVAL_PROB
from model.errors import InputError
from model.hazard.physiology import predicted_time_s
from scenarios.interventions import Baseline
from scenarios.scenario import (
    FASTEST_PACE_MIN_PER_KM,
    MAX_TARGET_OVER_ABILITY_PCT,
    WALKING_SPEED_KMH,
    Scenario,
)
from scenarios.simulate import simulate
from scenarios.spec import hill_time_ratio

CURVE_POINTS = 41  # targets on the plotted curve (the answers are searched exactly, not on it)


@dataclass(frozen=True)
class TargetRange:
    """The targets a plan may choose from [s], and what sets each end."""

    fastest_s: int
    slowest_s: int
    fastest_reason: str
    slowest_reason: str


@dataclass(frozen=True)
class Outcome:
    """One target simulated: per draw the risk and the expected time lost to cramps [s]."""

    target_time_s: int
    risk: np.ndarray
    lost_s: np.ndarray

    @property
    def expected_finish_s(self) -> float:
        return float(self.target_time_s + self.lost_s.mean())


@dataclass(frozen=True)
class PlanSearch:
    """What `search` found; times in s, risks as probabilities (0-1)."""

    max_risk: float
    confidence: float | None
    fastest: Outcome | None  # None: no target in range meets the ceiling
    best: Outcome  # the target with the smallest expected finish incl. cramps
    curve: list[Outcome]
    bounds: TargetRange
    evaluations: int


def interval(x: np.ndarray, prob: float = INTERVAL_PROB) -> dict[str, float]:
    """Mean and equal-tailed interval over the draws."""
    lo, hi = np.quantile(x, [(1 - prob) / 2, (1 + prob) / 2])
    return {"mean": float(np.mean(x)), "lo": float(lo), "hi": float(hi)}


def target_range(spec: Scenario) -> TargetRange:
    """Whole-second targets [s] the scenarios layer accepts for this runner and course: not more
    than MAX_TARGET_OVER_ABILITY_PCT faster than the ability predicts (hills counted), not faster
    than FASTEST_PACE_MIN_PER_KM, not slower than walking, and finished within the forecast."""
    runners, course = spec.runners, spec.course
    ability = predicted_time_s(runners.attributes["ref_time_s"].a, runners.ref_distance_km,
                               course.distance_km) * hill_time_ratio(course)
    by_ability = math.ceil(ability / (1 + MAX_TARGET_OVER_ABILITY_PCT / 100))
    by_pace = math.ceil(FASTEST_PACE_MIN_PER_KM * 60 * course.distance_km)
    walking = math.floor(course.distance_km / WALKING_SPEED_KMH * 3600)
    weather_end = math.floor((spec.weather.clock_h[-1] - course.start_clock_h) * 3600 + 1e-6)
    fastest = max(by_ability, by_pace)
    slowest = min(walking, weather_end)
    if slowest < fastest:
        raise InputError(f"{spec.path}: weather.hours: the forecast ends before even the fastest "
                         f"plausible finish; give the weather until the last finish")
    return TargetRange(
        fastest, slowest,
        f"{MAX_TARGET_OVER_ABILITY_PCT:g}% faster than the runner's ability predicts"
        if by_ability >= by_pace else f"{FASTEST_PACE_MIN_PER_KM} min/km",
        f"walking pace ({WALKING_SPEED_KMH:g} km/h)" if walking <= weather_end
        else "the end of the weather forecast")


def retargeted(spec: Scenario, target_time_s: float) -> Scenario:
    """The scenario's runner at another target [s], same split, course and start; only the
    baseline plan (the other plans are relative to the target and are not searched)."""
    return replace(spec, runners=replace(spec.runners, target_time_s=float(target_time_s)),
                   interventions={"baseline": Baseline()})


def search(spec: Scenario, params: xr.Dataset, max_risk: float,
           confidence: float | None = None) -> PlanSearch:
    """The fastest whole-second target [s] whose risk is at most `max_risk` (the posterior-mean
    risk; with `confidence` P, the target at which P(risk <= max_risk) >= P over the draws), the
    target minimising the expected finish incl. time lost to cramps, and the curve of both."""
    if not spec.runners.single:
        raise InputError(f"{spec.path}: plan is for a single [runner]; this scenario has a "
                         "[population] (use `cramp simulate` to compare plans for a field)")
    if not 0 < max_risk < 1:
        raise InputError(f"max_risk must be between 0 and 1 (a probability), got {max_risk}")
    if confidence is not None and not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}")
    bounds = target_range(spec)
    cache: dict[int, Outcome] = {}

    def at(target_s: int) -> Outcome:
        if target_s not in cache:
            ds = simulate(retargeted(spec, target_s), params, compare_history=False)
            cache[target_s] = Outcome(target_s, ds["risk"].isel(intervention=0).to_numpy(),
                                      ds["expected_time_lost_s"].isel(intervention=0).to_numpy())
        return cache[target_s]

    def meets(target_s: int) -> bool:
        risk = at(target_s).risk
        if confidence is None:
            return bool(risk.mean() <= max_risk)
        return bool(np.mean(risk <= max_risk) >= confidence)

    grid = np.unique(np.round(np.linspace(bounds.fastest_s, bounds.slowest_s, CURVE_POINTS)))
    curve_targets = [int(t) for t in grid]
    # the first grid target that meets the ceiling brackets the answer; bisection then finds
    # the exact whole second (scanning first keeps the answer the fastest even if the
    # criterion were not monotone between grid points far apart)
    first = next((i for i, t in enumerate(curve_targets) if meets(t)), None)
    fastest: Outcome | None = None
    if first is not None:
        lo, hi = (curve_targets[first - 1] if first else curve_targets[0]), curve_targets[first]
        while hi - lo > 1:  # invariant: lo fails, hi meets the ceiling
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if meets(mid) else (mid, hi)
        fastest = at(hi)
    best = _best_expected_finish(at, curve_targets)
    extra = [o.target_time_s for o in (fastest, best) if o is not None]
    curve = [at(t) for t in sorted({*curve_targets, *extra})]
    return PlanSearch(max_risk, confidence, fastest, best, curve, bounds, len(cache))


def _best_expected_finish(at, grid: list[int]) -> Outcome:
    """Golden-section search on whole seconds around the grid's minimum of the expected finish
    (it has one valley: the cramp cost falls and the target rises with a slower target)."""
    values = [at(t).expected_finish_s for t in grid]
    i = int(np.argmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    ratio = (math.sqrt(5) - 1) / 2
    while hi - lo > 2:
        a = round(hi - ratio * (hi - lo))
        b = round(lo + ratio * (hi - lo))
        if a == b:
            b += 1
        if at(a).expected_finish_s <= at(b).expected_finish_s:
            hi = b
        else:
            lo = a
    return min((at(t) for t in range(lo, hi + 1)), key=lambda o: o.expected_finish_s)
