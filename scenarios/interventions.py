"""Interventions as small composable objects: each turns a race plan into another race plan.

A `Plan` holds what an intervention can change: the pacing (a time factor on every runner's
target time and the split), the start clock time, and changes to each runner's preparation (taper,
longest run). Interventions never touch the parameters, so whatever they change acts only through
the hazard model's features: a longer taper acts directly (taper coefficient) and through lower
pre-race muscle damage (the model's CK mediator); an earlier start acts through the WBGT the runners
meet along the course. Combine with `+`: ``SlowerPace(3) + TaperDays(14)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Plan:
    """A race as planned: values the scenario sets, changed by interventions."""

    start_clock_h: float
    split_pct: float  # second half slower than the first by this much [% of first-half time]
    time_factor: float = 1.0  # multiplies every runner's planned finishing time
    taper_add_days: float = 0.0
    taper_set_days: float | None = None  # replaces each runner's taper when set
    long_run_add_km: float = 0.0
    long_run_set_km: float | None = None


class Intervention:
    """Base class: `apply` returns the changed plan; `+` combines interventions in order."""

    def apply(self, plan: Plan) -> Plan:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def __add__(self, other: Intervention) -> Combined:
        return Combined((self, other))


@dataclass(frozen=True)
class Baseline(Intervention):
    """The scenario as written."""

    def apply(self, plan: Plan) -> Plan:
        return plan

    def describe(self) -> str:
        return "as planned"


@dataclass(frozen=True)
class SlowerPace(Intervention):
    """Run every km `pct`% slower (time per km x (1 + pct/100)); negative = faster."""

    pct: float

    def apply(self, plan: Plan) -> Plan:
        return replace(plan, time_factor=plan.time_factor * (1.0 + self.pct / 100.0))

    def describe(self) -> str:
        return f"{self.pct:g}% slower pace"


@dataclass(frozen=True)
class Split(Intervention):
    """Second half `pct`% slower than the first (0 = even pacing, negative = negative split),
    same finishing time."""

    pct: float

    def apply(self, plan: Plan) -> Plan:
        return replace(plan, split_pct=self.pct)

    def describe(self) -> str:
        return "even pacing" if self.pct == 0 else f"{self.pct:+g}% split"


def EvenPacing() -> Split:  # noqa: N802 - reads as a class in scenario code
    """Even pacing: the same finishing time without a fast first half."""
    return Split(0.0)


@dataclass(frozen=True)
class LongerTaper(Intervention):
    """Taper `days` longer than planned (each runner)."""

    days: float

    def apply(self, plan: Plan) -> Plan:
        return replace(plan, taper_add_days=plan.taper_add_days + self.days)

    def describe(self) -> str:
        return f"taper {self.days:+g} days"


@dataclass(frozen=True)
class TaperDays(Intervention):
    """A taper of exactly `days` days (each runner)."""

    days: float

    def apply(self, plan: Plan) -> Plan:
        return replace(plan, taper_set_days=self.days, taper_add_days=0.0)

    def describe(self) -> str:
        return f"{self.days:g}-day taper"


@dataclass(frozen=True)
class LongerLongRuns(Intervention):
    """Longest training run `km` longer than planned (each runner)."""

    km: float

    def apply(self, plan: Plan) -> Plan:
        return replace(plan, long_run_add_km=plan.long_run_add_km + self.km)

    def describe(self) -> str:
        return f"longest run {self.km:+g} km"


@dataclass(frozen=True)
class LongestRun(Intervention):
    """A longest training run of exactly `km` km (each runner)."""

    km: float

    def apply(self, plan: Plan) -> Plan:
        return replace(plan, long_run_set_km=self.km, long_run_add_km=0.0)

    def describe(self) -> str:
        return f"longest run {self.km:g} km"


@dataclass(frozen=True)
class EarlierStart(Intervention):
    """Start `hours` earlier (cooler hours on a warm day); negative = later."""

    hours: float

    def apply(self, plan: Plan) -> Plan:
        return replace(plan, start_clock_h=plan.start_clock_h - self.hours)

    def describe(self) -> str:
        return f"start {self.hours:g} h earlier"


@dataclass(frozen=True)
class StartAt(Intervention):
    """Start at a given clock time [h after midnight]."""

    clock_h: float

    def apply(self, plan: Plan) -> Plan:
        return replace(plan, start_clock_h=self.clock_h)

    def describe(self) -> str:
        hours, minutes = divmod(round(self.clock_h * 60), 60)
        return f"start at {hours:02d}:{minutes:02d}"


@dataclass(frozen=True)
class Combined(Intervention):
    """Several interventions applied in order."""

    parts: tuple[Intervention, ...]

    def apply(self, plan: Plan) -> Plan:
        for part in self.parts:
            plan = part.apply(plan)
        return plan

    def describe(self) -> str:
        return " + ".join(part.describe() for part in self.parts)

    def __add__(self, other: Intervention) -> Combined:
        return Combined((*self.parts, other))
