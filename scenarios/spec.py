"""Scenario files (TOML): read and validate a race, its weather, a runner or a population, the
pacing plan, the time a cramp costs, and the named interventions to compare.

Every problem is reported with the file and the key that breaks a rule (e.g. ``race.distance_km:
must be > 0``); a scenario with problems raises `InputError` listing all of them. The file format is
documented in scenarios/README.md, with the shipped scenarios as examples.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.errors import InputError
from model.hazard.physiology import predicted_time_s, wbgt_from_weather_c
from model.hazard.specification import MARATHON_KM
from scenarios.interventions import (
    Baseline,
    Combined,
    EarlierStart,
    Intervention,
    LongerLongRuns,
    LongerTaper,
    LongestRun,
    Plan,
    SlowerPace,
    Split,
    StartAt,
    TaperDays,
)

WALKING_SPEED_KMH = 5.0  # slower than this on average is walking, not a race pace
FASTEST_PACE_MIN_PER_KM = 2.5  # faster than this over any race distance is not plausible
UNBOUNDED_CLIP_SD = 4.0  # normal / lognormal attributes without min/max are clipped at +-4 SD
LIBRARY = Path(__file__).with_name("library")

#: scenario-file keys of an [[intervention]] table -> the intervention each one builds
INTERVENTION_KEYS = {
    "slower_pace_pct": SlowerPace,
    "split_pct": Split,
    "even_pacing": None,  # a flag: Split(0)
    "longer_taper_days": LongerTaper,
    "taper_days": TaperDays,
    "longer_long_run_km": LongerLongRuns,
    "longest_run_km": LongestRun,
    "earlier_start_h": EarlierStart,
    "start_time": None,  # a clock time: StartAt
}
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


class _Problems:
    """Collects every problem in a scenario file before raising one InputError."""

    def __init__(self, path: str):
        self.path = path
        self.items: list[str] = []

    def add(self, key: str, rule: str, value=None) -> None:
        got = "" if value is None else f" (got {value!r})"
        self.items.append(f"{self.path}: {key}: {rule}{got}")

    def number(self, table: dict, key: str, prefix: str, *, low=None, high=None, default=None,
               required=True) -> float | None:
        value = table.get(key, default)
        name = f"{prefix}.{key}"
        if value is None:
            if required:
                self.add(name, "missing")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(name, "must be a number", value)
            return None
        if low is not None and value < low or high is not None and value > high:
            self.add(name, f"must be between {low} and {high}", value)
            return None
        return float(value)

    def raise_if_any(self) -> None:
        if self.items:
            raise InputError(f"{self.path}: {len(self.items)} problem(s) in the scenario",
                             self.items)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; a bare name (e.g. ``city_marathon_warm``) is looked up
    in the shipped library."""
    path, text, doc = read_scenario_document(path)
    scenario = parse_scenario(doc, str(path))
    return _with_source(scenario, str(path), text.encode("utf-8"))


def read_scenario_document(path: str | Path) -> tuple[Path, str, dict]:
    """(resolved path, text, parsed TOML) of a scenario file or a shipped scenario's name."""
    path = resolve_scenario_path(path)
    try:
        text = path.read_bytes().decode("utf-8")
        return path, text, tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid TOML file: {exc}") from None


def resolve_scenario_path(path: str | Path) -> Path:
    p = Path(path)
    if p.exists():
        return p
    shipped = LIBRARY / f"{p.name if p.suffix else p.name + '.toml'}"
    if shipped.exists():
        return shipped
    names = ", ".join(sorted(f.stem for f in LIBRARY.glob("*.toml")))
    raise InputError(f"{path}: no such scenario file (shipped scenarios: {names})")


def _with_source(s: Scenario, path: str, raw: bytes) -> Scenario:
    from dataclasses import replace

    return replace(s, path=path, sha256=hashlib.sha256(raw).hexdigest(),
                   text=raw.decode("utf-8"))


def parse_scenario(doc: dict, path: str = "<scenario>") -> Scenario:
    """Validate a parsed scenario document; raises InputError naming every bad key."""
    p = _Problems(path)
    known = {"name", "description", "sources", "seed", "race", "weather", "runner", "population",
             "pacing", "cramp_time_loss", "intervention"}
    for key in doc:
        if key not in known:
            p.add(key, f"unknown key (expected one of {', '.join(sorted(known))})")
    course = _course(doc.get("race"), p)
    weather = _weather(doc.get("weather"), p)
    runners = _runners(doc, p)
    pacing = _table(doc, "pacing", p)
    split = p.number(pacing, "split_pct", "pacing", low=-30, high=30, default=0.0)
    loss = _table(doc, "cramp_time_loss", p)
    time_loss = TimeLoss(
        slowdown_pct=p.number(loss, "slowdown_pct", "cramp_time_loss", low=0, high=200,
                              default=TimeLoss.slowdown_pct),
        stop_s=p.number(loss, "stop_s", "cramp_time_loss", low=0, high=7200,
                        default=TimeLoss.stop_s),
    )
    interventions = _interventions(doc.get("intervention", []), p)
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        p.add("seed", "must be a whole number >= 0", seed)
    p.raise_if_any()
    scenario = Scenario(
        name=str(doc.get("name", Path(path).stem)),
        description=str(doc.get("description", "")),
        sources=tuple(str(s) for s in doc.get("sources", [])),
        course=course,
        weather=weather,
        runners=runners,
        split_pct=split,
        time_loss=time_loss,
        interventions=interventions,
        seed=seed,
    )
    _check_paces_and_weather(scenario, p)
    p.raise_if_any()
    return scenario


def _table(doc: dict, key: str, p: _Problems) -> dict:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        p.add(key, "must be a table", value)
        return {}
    return value


def clock_hours(text: object) -> float | None:
    """'HH:MM' (24 h clock) -> hours after midnight; None if not such a time."""
    if not isinstance(text, str) or text.count(":") != 1:
        return None
    hours, minutes = text.split(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        return None
    h, m = int(hours), int(minutes)
    return h + m / 60 if h < 24 and m < 60 else None


def duration_s(text: object) -> float | None:
    """'H:MM:SS' -> seconds; None if not such a duration."""
    if not isinstance(text, str) or text.count(":") != 2:
        return None
    parts = text.split(":")
    if not all(part.isdigit() for part in parts) or any(len(x) != 2 for x in parts[1:]):
        return None
    h, m, s = (int(x) for x in parts)
    return h * 3600.0 + m * 60.0 + s if m < 60 and s < 60 else None


def _pace_s_per_km(text: object) -> float | None:
    """'M:SS' per km -> seconds per km; None if not such a pace."""
    if not isinstance(text, str) or text.count(":") != 1:
        return None
    minutes, seconds = text.split(":")
    if not (minutes.isdigit() and seconds.isdigit() and len(seconds) == 2 and int(seconds) < 60):
        return None
    return int(minutes) * 60.0 + int(seconds)


def _course(race: object, p: _Problems) -> Course:
    if not isinstance(race, dict):
        p.add("race", "missing table [race] (distance_km, start_time)")
        return Course(MARATHON_KM, 9.0, np.zeros(0), np.zeros(0))
    given = race.get("distance_km")
    if isinstance(given, int | float) and not isinstance(given, bool) and given <= 0:
        p.add("race.distance_km", "must be > 0", given)
        distance = None
    else:
        distance = p.number(race, "distance_km", "race", low=0.5, high=250)
    start = clock_hours(race.get("start_time"))
    if start is None:
        p.add("race.start_time", "must be a clock time 'HH:MM'", race.get("start_time"))
    km, metres = np.zeros(0), np.zeros(0)
    profile = race.get("elevation_m")
    if profile is not None:
        try:
            points = np.asarray(profile, dtype=float)
            assert points.ndim == 2 and points.shape[1] == 2 and len(points) >= 2
            km, metres = points[:, 0], points[:, 1]
        except (ValueError, TypeError, AssertionError):
            p.add("race.elevation_m", "must be a list of [km, metres] pairs", profile)
        if len(km) and distance:
            if np.any(np.diff(km) <= 0) or km[0] != 0 or km[-1] < distance - 1e-6:
                p.add("race.elevation_m", "km must increase from 0 to the race distance")
            elif np.max(np.abs(np.diff(metres) / (np.diff(km) * 1000))) > 0.45:
                p.add("race.elevation_m", "gradient steeper than 45% between two points")
    for key in race:
        if key not in ("distance_km", "start_time", "elevation_m", "name"):
            p.add(f"race.{key}", "unknown key")
    return Course(distance or 0.0, start if start is not None else 0.0, km, metres)


def _weather(weather: object, p: _Problems) -> Weather:
    if not isinstance(weather, dict):
        p.add("weather", "missing table [weather] (hours and temp_c + rh_pct, or wbgt_c)")
        return Weather(np.array([0.0, 24.0]), np.array([15.0, 15.0]))
    hours = weather.get("hours")
    clock = [clock_hours(h) for h in hours] if isinstance(hours, list) else [None]
    if None in clock or len(clock) < 1:
        p.add("weather.hours", "must be a list of clock times 'HH:MM'", hours)
        clock = []
    elif np.any(np.diff(clock) <= 0):
        p.add("weather.hours", "clock times must increase", hours)

    def series(key, low, high):
        values = weather.get(key)
        if values is None:
            return None
        ok = isinstance(values, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if not ok or len(values) != len(clock):
            p.add(f"weather.{key}", f"must be a list of {len(clock)} numbers, one per hour",
                  values)
            return None
        if any(v < low or v > high for v in values):
            p.add(f"weather.{key}", f"values must be between {low} and {high}", values)
            return None
        return np.asarray(values, float)

    wbgt = series("wbgt_c", -10, 40)
    temp, rh = series("temp_c", -30, 55), series("rh_pct", 0, 100)
    if wbgt is None and (temp is None or rh is None):
        if "wbgt_c" not in weather and not ("temp_c" in weather and "rh_pct" in weather):
            p.add("weather", "give wbgt_c, or temp_c and rh_pct, for every hour")
        wbgt = np.full(len(clock), 15.0)
    elif wbgt is None:
        wbgt = wbgt_from_weather_c(temp, rh)
    for key in weather:
        if key not in ("hours", "wbgt_c", "temp_c", "rh_pct"):
            p.add(f"weather.{key}", "unknown key")
    return Weather(np.asarray(clock, float), np.asarray(wbgt, float))


_BOUNDS = {  # plausible range of each runner attribute
    "ref_time_s": (600.0, 86400.0),
    "longest_run_km": (0.0, 250.0),
    "taper_days": (0.0, 60.0),
    "ck_pre_u_per_l": (10.0, 20000.0),
    "cramp_history": (0.0, 1.0),
    "effort_vs_ability_pct": (-50.0, 50.0),
}
_DEFAULTS = {"taper_days": 7.0, "cramp_history": 0.0, "effort_vs_ability_pct": 0.0}


def _runners(doc: dict, p: _Problems) -> Runners:
    single, population = doc.get("runner"), doc.get("population")
    pacing = doc.get("pacing", {}) if isinstance(doc.get("pacing"), dict) else {}
    if (single is None) == (population is None):
        p.add("runner/population", "give exactly one of [runner] or [population]")
        return Runners(1, True, 21.0975, {k: Distribution("fixed", 1.0) for k in _DEFAULTS})
    is_single = single is not None
    table, prefix = (single, "runner") if is_single else (population, "population")
    if not isinstance(table, dict):
        p.add(prefix, "must be a table", table)
        table = {}
    count = 1
    if not is_single:
        count = table.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            p.add("population.count", "must be a whole number >= 1", count)
            count = 1
    ref_distance = p.number(table, "ref_distance_km", prefix, low=1, high=250)
    merged = dict(table)
    if "ref_time" in table:  # a clock-style duration is friendlier for one runner
        merged["ref_time_s"] = duration_s(table["ref_time"])
        if merged["ref_time_s"] is None:
            p.add(f"{prefix}.ref_time", "must be a duration 'H:MM:SS'", table["ref_time"])
            merged.pop("ref_time_s")
    if "effort_vs_ability_pct" in pacing:
        merged["effort_vs_ability_pct"] = pacing["effort_vs_ability_pct"]
    attributes = {}
    for name in RUNNER_ATTRIBUTES:
        key = f"pacing.{name}" if name == "effort_vs_ability_pct" else f"{prefix}.{name}"
        if name not in merged:
            if name in _DEFAULTS:
                attributes[name] = Distribution("fixed", _DEFAULTS[name])
            elif name != "ck_pre_u_per_l":
                p.add(key, "missing")
            continue
        dist = _distribution(merged[name], key, _BOUNDS[name], single=is_single, p=p)
        if dist is not None:
            attributes[name] = dist
    for key in table:
        if key not in (*RUNNER_ATTRIBUTES, "ref_time", "ref_distance_km", "count", "name"):
            p.add(f"{prefix}.{key}", "unknown key")
    target = None
    if "target_time" in pacing and "target_pace" in pacing:
        p.add("pacing", "give target_time or target_pace, not both")
    elif "target_time" in pacing:
        target = duration_s(pacing["target_time"])
        if target is None:
            p.add("pacing.target_time", "must be a duration 'H:MM:SS'", pacing["target_time"])
    elif "target_pace" in pacing:
        per_km = _pace_s_per_km(pacing["target_pace"])
        distance = doc.get("race", {}).get("distance_km") if isinstance(doc.get("race"),
                                                                        dict) else None
        if per_km is None:
            p.add("pacing.target_pace", "must be a pace 'M:SS' per km", pacing["target_pace"])
        elif isinstance(distance, int | float) and distance > 0:
            target = per_km * distance
    if target is not None and not is_single:
        p.add("pacing.target_time" if "target_time" in pacing else "pacing.target_pace",
              "only for a single [runner]; a population paces by effort_vs_ability_pct")
        target = None
    for key in pacing:
        if key not in ("target_time", "target_pace", "split_pct", "effort_vs_ability_pct"):
            p.add(f"pacing.{key}", "unknown key")
    return Runners(count, is_single, ref_distance or 21.0975, attributes, target)


def _distribution(value, key: str, bounds, *, single: bool, p: _Problems) -> Distribution | None:
    low, high = bounds
    if isinstance(value, bool):
        value = float(value)
    if isinstance(value, int | float):
        if not low <= value <= high:
            p.add(key, f"must be between {low:g} and {high:g}", value)
            return None
        return Distribution("fixed", float(value))
    if single or not isinstance(value, dict):
        p.add(key, "must be a number" if single else "must be a number or a table "
              "{dist = normal|lognormal|uniform|bernoulli, ...}", value)
        return None
    kind = value.get("dist")
    need = {"normal": ("mean", "sd"), "lognormal": ("median", "sd_log"),
            "uniform": ("min", "max"), "bernoulli": ("p",)}
    if kind not in need:
        p.add(f"{key}.dist", "must be normal, lognormal, uniform or bernoulli", kind)
        return None
    allowed = set(need[kind]) | {"dist", "min", "max"}
    for extra in set(value) - allowed:
        p.add(f"{key}.{extra}", f"unknown key for a {kind} distribution")
    numbers = {}
    for name in (*need[kind], "min", "max"):
        if name in value:
            v = value[name]
            if isinstance(v, bool) or not isinstance(v, int | float):
                p.add(f"{key}.{name}", "must be a number", v)
                return None
            numbers[name] = float(v)
        elif name in need[kind]:
            p.add(f"{key}.{name}", f"missing (a {kind} distribution needs {', '.join(need[kind])})")
            return None
    if kind == "bernoulli":
        if not 0 <= numbers["p"] <= 1:
            p.add(f"{key}.p", "must be between 0 and 1", numbers["p"])
            return None
        return Distribution("bernoulli", numbers["p"])
    if kind == "uniform":
        a, b = numbers["min"], numbers["max"]
    elif kind == "normal":
        a, b = numbers["mean"], numbers["sd"]
    else:
        a, b = numbers["median"], numbers["sd_log"]
    if kind != "uniform" and b < 0:
        p.add(f"{key}.{need[kind][1]}", "must be >= 0", b)
        return None
    if kind == "lognormal" and a <= 0:
        p.add(f"{key}.median", "must be > 0", a)
        return None
    spread = {"normal": (a - UNBOUNDED_CLIP_SD * b, a + UNBOUNDED_CLIP_SD * b),
              "lognormal": (a * np.exp(-UNBOUNDED_CLIP_SD * b), a * np.exp(UNBOUNDED_CLIP_SD * b)),
              "uniform": (a, b)}[kind]
    lo, hi = numbers.get("min", spread[0]), numbers.get("max", spread[1])
    if lo > hi:
        p.add(key, "min must not exceed max", value)
        return None
    if lo < low or hi > high:
        p.add(key, f"range [{lo:g}, {hi:g}] leaves the plausible range [{low:g}, {high:g}]")
        return None
    return Distribution(kind, a, b, lo, hi)


def _interventions(tables: object, p: _Problems) -> dict[str, Intervention]:
    out: dict[str, Intervention] = {"baseline": Baseline()}
    if not isinstance(tables, list):
        p.add("intervention", "must be an array of tables [[intervention]]")
        return out
    for i, table in enumerate(tables):
        prefix = f"intervention[{i}]"
        name = table.get("name") if isinstance(table, dict) else None
        if not isinstance(name, str) or not name.strip():
            p.add(f"{prefix}.name", "missing (each intervention needs a name)")
            continue
        prefix = f"intervention '{name}'"
        if name in out:
            p.add(f"{prefix}.name", "duplicate intervention name")
            continue
        parts = []
        for key, value in table.items():
            if key == "name":
                continue
            part = _intervention_part(key, value, prefix, p)
            if part is not None:
                parts.append(part)
        if len(table) == 1:
            p.add(prefix, f"says nothing to change (keys: {', '.join(INTERVENTION_KEYS)})")
        elif parts and len(parts) == len(table) - 1:
            out[name] = parts[0] if len(parts) == 1 else Combined(tuple(parts))
    return out


def _intervention_part(key: str, value, prefix: str, p: _Problems) -> Intervention | None:
    if key not in INTERVENTION_KEYS:
        p.add(f"{prefix}.{key}", f"unknown intervention (known: {', '.join(INTERVENTION_KEYS)})")
        return None
    if key == "even_pacing":
        if value is not True:
            p.add(f"{prefix}.even_pacing", "must be true", value)
            return None
        return Split(0.0)
    if key == "start_time":
        clock = clock_hours(value)
        if clock is None:
            p.add(f"{prefix}.start_time", "must be a clock time 'HH:MM'", value)
            return None
        return StartAt(clock)
    limits = {"slower_pace_pct": (-20, 50), "split_pct": (-30, 30), "longer_taper_days": (-30, 30),
              "taper_days": (0, 60), "longer_long_run_km": (-100, 100),
              "longest_run_km": (0, 250), "earlier_start_h": (-12, 12)}
    low, high = limits[key]
    number = p.number({key: value}, key, prefix, low=low, high=high)
    return None if number is None else INTERVENTION_KEYS[key](number)


def _check_paces_and_weather(s: Scenario, p: _Problems) -> None:
    """Under every intervention, the slowest and fastest planned runner must run (not walk, not
    beat world records), and the weather must cover the race from the start to the last finisher."""
    attrs = s.runners.attributes
    distance = s.course.distance_km
    if s.runners.target_time_s is not None:
        slowest = fastest = s.runners.target_time_s
        source = "pacing.target_time / target_pace"
    else:
        ref_lo, ref_hi = attrs["ref_time_s"].bounds
        eff_lo, eff_hi = attrs["effort_vs_ability_pct"].bounds
        ref_distance = s.runners.ref_distance_km
        slowest = predicted_time_s(ref_hi, ref_distance, distance) / (1 + eff_lo / 100)
        fastest = predicted_time_s(ref_lo, ref_distance, distance) / (1 + eff_hi / 100)
        source = "population.ref_time_s / pacing.effort_vs_ability_pct"
    hill = hill_time_ratio(s.course)
    for name, intervention in s.interventions.items():
        plan = intervention.apply(s.plan())
        t_slow = float(slowest) * plan.time_factor * (1 if s.runners.target_time_s else hill)
        t_fast = float(fastest) * plan.time_factor * (1 if s.runners.target_time_s else hill)
        where = "" if name == "baseline" else f" under intervention '{name}'"
        if distance / (t_slow / 3600) < WALKING_SPEED_KMH:
            p.add(source, f"the slowest planned pace{where} is slower than walking "
                  f"({t_slow / 60 / distance:.1f} min/km > {60 / WALKING_SPEED_KMH:.0f} min/km)")
        if t_fast / 60 / distance < FASTEST_PACE_MIN_PER_KM:
            p.add(source, f"the fastest planned pace{where} is faster than "
                  f"{FASTEST_PACE_MIN_PER_KM} min/km ({t_fast / 60 / distance:.2f} min/km)")
        first, last = plan.start_clock_h, plan.start_clock_h + t_slow / 3600
        hours = s.weather.clock_h
        if len(hours) and (first < hours[0] - 1e-9 or last > hours[-1] + 1e-9):
            p.add("weather.hours", f"must cover the race{where} from {_clock(first)} to the last "
                  f"planned finish at {_clock(last)} (covers {_clock(hours[0])}-"
                  f"{_clock(hours[-1])})")


def _clock(hours: float) -> str:
    h, m = divmod(round(hours * 60), 60)
    return f"{h:02d}:{m:02d}"


def hill_time_ratio(course: Course) -> float:
    """Planned time on this course over the time on a flat one at the same effort."""
    from scenarios.course import equivalent_flat_km

    start = np.array([0.0])
    end = np.array([course.distance_km])
    return float(equivalent_flat_km(course, start, end)[0] / course.distance_km)


def scenario_with_runner(template: str | Path, runner: dict, race_distance_km: float,
                         note: str = "") -> str:
    """A scenario file's text: the template's race, weather, time-loss assumption and
    interventions, with `runner` as its [runner] and pacing at the runner's predicted effort
    (the template's split kept). Validated before it is returned."""
    path = resolve_scenario_path(template)
    base = load_scenario(path)
    if abs(base.course.distance_km - race_distance_km) > 1e-6:
        raise InputError(f"--race-distance-km {race_distance_km:g} differs from {path}'s "
                         f"race.distance_km {base.course.distance_km:g}")
    kept, skip = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        header = line.strip()
        if header.startswith("["):
            skip = header in ("[runner]", "[population]", "[pacing]")
        if not skip:
            kept.append(line)
    block = ["[runner]", *(f"{k} = {v}" for k, v in runner.items()), "",
             "[pacing]", "effort_vs_ability_pct = 0.0  # at the predicted time",
             f"split_pct = {base.split_pct}"]
    text = note + "\n".join(kept).rstrip() + "\n\n" + "\n".join(block) + "\n"
    parse_scenario(tomllib.loads(text), f"{path} with the profiled runner")
    return text
