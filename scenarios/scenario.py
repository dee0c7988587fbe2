"""A scenario as the simulator reads it: the course, the weather by clock time, the runner or
the field (attributes as fixed values or distributions), the pacing split, the time a cramp
costs and the plans to compare. Built and validated from a scenario file by scenarios/spec.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from scenarios.interventions import Intervention, Plan

if TYPE_CHECKING:
    from model.data.records import RaceRecords

WALKING_SPEED_KMH = 5.0  # slower than this on average is walking, not a race pace
FASTEST_PACE_MIN_PER_KM = 2.5  # faster than this over any race distance is not plausible
# a target this much faster than a recent result predicts (Riegel) is beyond the runner's ability:
# a realistic season's improvement is a few %, and the model's pace effect was never seen there
MAX_TARGET_OVER_ABILITY_PCT = 20.0
UNBOUNDED_CLIP_SD = 4.0  # normal / lognormal attributes without min/max are clipped at +-4 SD
RUNNER_ATTRIBUTES = ("ref_time_s", "longest_run_km", "taper_days", "ck_pre_u_per_l",
                     "cramp_history", "effort_vs_ability_pct")



@dataclass(frozen=True)
class Distribution:
    """A runner attribute across a population: fixed, normal, lognormal, uniform or bernoulli,
    always with finite bounds (`low`, `high`) so that the slowest runner is known."""

    kind: str
    a: float = 0.0  # fixed value, mean, median or p
    b: float = 0.0  # sd or sd_log
    low: float = -np.inf
    high: float = np.inf

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.kind == "fixed":
            return np.full(n, self.a)
        if self.kind == "normal":
            x = rng.normal(self.a, self.b, n)
        elif self.kind == "lognormal":
            x = self.a * np.exp(rng.normal(0.0, self.b, n))
        elif self.kind == "uniform":
            x = rng.uniform(self.low, self.high, n)
        else:  # bernoulli
            return (rng.random(n) < self.a).astype(float)
        return np.clip(x, self.low, self.high)

    @property
    def bounds(self) -> tuple[float, float]:
        if self.kind == "fixed":
            return self.a, self.a
        if self.kind == "bernoulli":
            return 0.0, 1.0
        return self.low, self.high


@dataclass(frozen=True)
class Course:
    distance_km: float
    start_clock_h: float
    elevation_km: np.ndarray  # profile points [km]; a flat course has none
    elevation_m: np.ndarray


@dataclass(frozen=True)
class Weather:
    """WBGT [degC] by clock time [h after midnight], interpolated linearly in between."""

    clock_h: np.ndarray
    wbgt_c: np.ndarray

    def wbgt_at(self, clock_h: np.ndarray) -> np.ndarray:
        return np.interp(clock_h, self.clock_h, self.wbgt_c)


@dataclass(frozen=True)
class Runners:
    """One runner (`count` 1, every attribute fixed; unknown CK is NaN) or a population."""

    count: int
    single: bool
    ref_distance_km: float
    attributes: dict[str, Distribution]  # RUNNER_ATTRIBUTES; ck_pre_u_per_l absent = not measured
    target_time_s: float | None = None  # single runner: planned finishing time
    past_races: RaceRecords | None = None  # single runner: their earlier races (race records)


@dataclass(frozen=True)
class TimeLoss:
    """The documented assumption for what a cramp costs: a stop of `stop_s` seconds, then the rest
    of the race `slowdown_pct`% slower than planned."""

    slowdown_pct: float = 15.0
    stop_s: float = 60.0


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    sources: tuple[str, ...]
    course: Course
    weather: Weather
    runners: Runners
    split_pct: float
    time_loss: TimeLoss
    interventions: dict[str, Intervention]  # first entry is "baseline"
    seed: int
    path: str = ""
    sha256: str = ""
    text: str = field(default="", repr=False)

    def plan(self) -> Plan:
        return Plan(start_clock_h=self.course.start_clock_h, split_pct=self.split_pct)
