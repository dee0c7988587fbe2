"""Scenario files (TOML): read and validate a race, its weather, a runner or a population, the
pacing plan, the time a cramp costs, and the named interventions to compare.

Every problem is reported with the file and the key that breaks a rule (e.g. ``race.distance_km:
must be > 0``); a scenario with problems raises `InputError` listing all of them. The file format is
documented in scenarios/README.md, with the shipped scenarios as examples.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import numpy as np

from model.errors import InputError, Problems
from model.hazard.physiology import (
    clock_text,
    predicted_time_s,
    wbgt_from_weather_c,
    world_record_time_s,
)
from model.hazard.specification import MARATHON_KM
from scenarios.file_format import clock_hours, is_number, number, table_of, text_list
from scenarios.interventions import (
    Baseline,
    Combined,
    EarlierStart,
    Intervention,
    LongerLongRuns,
    LongerTaper,
    LongestRun,
    SlowerPace,
    Split,
    StartAt,
    TaperDays,
)
from scenarios.runner_spec import runners_of
from scenarios.scenario import (
    FASTEST_PACE_MIN_PER_KM,
    MAX_TARGET_OVER_ABILITY_PCT,
    WALKING_SPEED_KMH,
    Course,
    Scenario,
    TimeLoss,
    Weather,
)

LIBRARY = Path(__file__).with_name("library")
PROFILE_OVERRUN_KM = 0.1  # an elevation profile may end this far past the distance (GPS noise)

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
    p = Problems(path)
    known = {"name", "description", "sources", "seed", "race", "weather", "runner", "population",
             "pacing", "cramp_time_loss", "intervention"}
    for key in doc:
        if key not in known:
            p.add(key, f"unknown key (expected one of {', '.join(sorted(known))})")
    course = _course(doc.get("race"), p)
    weather = _weather(doc.get("weather"), p)
    runners = runners_of(doc, p)
    pacing = table_of(doc, "pacing", p)
    split = number(p, pacing, "split_pct", "pacing", low=-30, high=30, default=0.0)
    loss = table_of(doc, "cramp_time_loss", p)
    time_loss = TimeLoss(
        slowdown_pct=number(p, loss, "slowdown_pct", "cramp_time_loss", low=0, high=200,
                              default=TimeLoss.slowdown_pct),
        stop_s=number(p, loss, "stop_s", "cramp_time_loss", low=0, high=7200,
                        default=TimeLoss.stop_s),
    )
    interventions = _interventions(doc.get("intervention", []), p)
    sources = text_list(doc, "sources", p)
    for key in ("name", "description"):
        if key in doc and not isinstance(doc[key], str):
            p.add(key, "must be a string", doc[key])
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        p.add("seed", "must be a whole number >= 0", seed)
    p.raise_if_any("the scenario")
    scenario = Scenario(
        name=str(doc.get("name", Path(path).stem)),
        description=str(doc.get("description", "")),
        sources=sources,
        course=course,
        weather=weather,
        runners=runners,
        split_pct=split,
        time_loss=time_loss,
        interventions=interventions,
        seed=seed,
    )
    _check_paces_and_weather(scenario, p)
    _check_ability(scenario, p)
    p.raise_if_any("the scenario")
    return scenario


def _course(race: object, p: Problems) -> Course:
    if not isinstance(race, dict):
        p.add("race", "missing table [race] (distance_km, start_time)")
        return Course(MARATHON_KM, 9.0, np.zeros(0), np.zeros(0))
    given = race.get("distance_km")
    if is_number(given) and given <= 0:
        p.add("race.distance_km", "must be > 0", given)
        distance = None
    else:
        distance = number(p, race, "distance_km", "race", low=0.5, high=250)
    start = clock_hours(race.get("start_time"))
    if start is None:
        p.add("race.start_time", "must be a clock time 'HH:MM'", race.get("start_time"))
    km, metres = np.zeros(0), np.zeros(0)
    profile = race.get("elevation_m")
    if profile is not None:
        try:
            points = np.asarray(profile, dtype=float)
        except (ValueError, TypeError):
            points = np.zeros((0, 0))
        if points.ndim == 2 and points.shape[1] == 2 and len(points) >= 2 \
                and np.isfinite(points).all():
            km, metres = points[:, 0], points[:, 1]
        else:
            p.add("race.elevation_m", "must be a list of at least two [km, metres] pairs of "
                  "finite numbers", profile)
        if len(km) and distance:
            if np.any(np.diff(km) <= 0) or km[0] != 0 or km[-1] < distance - 1e-6:
                p.add("race.elevation_m", "km must increase from 0 to the race distance")
            elif km[-1] > distance + PROFILE_OVERRUN_KM:
                p.add("race.elevation_m", f"the profile runs to {km[-1]:g} km, past the race's "
                      f"{distance:g} km (end it at the distance; up to {PROFILE_OVERRUN_KM:g} km "
                      "over is taken as measuring noise)")
            elif np.max(np.abs(np.diff(metres) / (np.diff(km) * 1000))) > 0.45:
                p.add("race.elevation_m", "gradient steeper than 45% between two points")
    for key in race:
        if key not in ("distance_km", "start_time", "elevation_m", "name"):
            p.add(f"race.{key}", "unknown key")
    return Course(distance or 0.0, start if start is not None else 0.0, km, metres)


def _weather(weather: object, p: Problems) -> Weather:
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
        ok = isinstance(values, list) and all(is_number(v) for v in values)
        if not ok or len(values) != len(clock):
            p.add(f"weather.{key}", f"must be a list of {len(clock)} finite numbers, one per hour",
                  values)
            return None
        if any(v < low or v > high for v in values):
            p.add(f"weather.{key}", f"values must be between {low} and {high}", values)
            return None
        return np.asarray(values, float)

    wbgt = series("wbgt_c", -10, 40)
    temp, rh = series("temp_c", -30, 55), series("rh_pct", 0, 100)
    if "wbgt_c" in weather and ("temp_c" in weather or "rh_pct" in weather):
        # two descriptions of one heat can disagree; neither is silently preferred
        p.add("weather", "give wbgt_c, or temp_c and rh_pct, not both")
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


def _interventions(tables: object, p: Problems) -> dict[str, Intervention]:
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
        if name == "baseline":
            p.add(f"{prefix}.name", "'baseline' is reserved for the plan as written")
            continue
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


def _intervention_part(key: str, value, prefix: str, p: Problems) -> Intervention | None:
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
    amount = number(p, {key: value}, key, prefix, low=low, high=high)
    return None if amount is None else INTERVENTION_KEYS[key](amount)


def _check_paces_and_weather(s: Scenario, p: Problems) -> None:
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
        # a plan that keeps the planned time would only repeat the baseline's message
        if s.runners.target_time_s is not None and (name == "baseline" or plan.time_factor != 1):
            _check_target_within_ability(s, t_fast, where, p)
        first, last = plan.start_clock_h, plan.start_clock_h + t_slow / 3600
        hours = s.weather.clock_h
        if len(hours) and (first < hours[0] - 1e-9 or last > hours[-1] + 1e-9):
            p.add("weather.hours", f"must cover the race{where} from {_clock(first)} to the last "
                  f"planned finish at {_clock(last)} (covers {_clock(hours[0])}-"
                  f"{_clock(hours[-1])})")


def _check_target_within_ability(s: Scenario, planned_s: float, where: str, p: Problems
                                 ) -> None:
    """A single runner's planned time [s] may not beat what their recent result predicts for this
    course (Riegel, hills counted) by more than MAX_TARGET_OVER_ABILITY_PCT."""
    runners = s.runners
    ability = predicted_time_s(runners.attributes["ref_time_s"].a, runners.ref_distance_km,
                               s.course.distance_km) * hill_time_ratio(s.course)
    faster_pct = 100 * (ability / planned_s - 1)
    if faster_pct > MAX_TARGET_OVER_ABILITY_PCT:
        p.add("pacing.target_time / target_pace", f"the planned time{where} "
              f"({_duration(planned_s)}) is {faster_pct:.0f}% faster than the runner's recent "
              f"result predicts for this race ({_duration(ability)}); more than "
              f"{MAX_TARGET_OVER_ABILITY_PCT:g}% faster is beyond their ability")


def _check_ability(s: Scenario, p: Problems) -> None:
    """The fastest runner's recent result may not beat the world record for its distance."""
    low, _ = s.runners.attributes["ref_time_s"].bounds if "ref_time_s" in s.runners.attributes \
        else (np.inf, np.inf)
    distance = s.runners.ref_distance_km
    record = float(world_record_time_s(distance))
    if low < record:
        key = "runner.ref_time" if s.runners.single else "population.ref_time_s"
        p.add(key, f"{clock_text(low)} over {distance:g} km is faster than the world record "
              f"for that distance (about {clock_text(record)}): not a runner's ability")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def _clock(hours: float) -> str:
    h, m = divmod(round(hours * 60), 60)
    return f"{h:02d}:{m:02d}"


def hill_time_ratio(course: Course) -> float:
    """Planned time on this course over the time on a flat one at the same effort."""
    from scenarios.course import equivalent_flat_km

    start = np.array([0.0])
    end = np.array([course.distance_km])
    return float(equivalent_flat_km(course, start, end)[0] / course.distance_km)


