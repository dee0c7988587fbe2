"""The web form's values and what they become: a scenario document with the scenario file's keys
(validated by `cramp.Scenario`, so the page and `cramp simulate` say the same things), the TOML
text of that document, and which part of the form a problem belongs to.

Pure functions on plain values: no Streamlit here, so all of it is tested directly.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, fields, replace

from cramp import InputError, Problems  # the public names (the page uses the API only)

SOURCE = "the form"  # how problems name the scenario (a file's path on the command line)
DEFAULT_SCENARIO = "goal_marathon_runner"  # the form's defaults are this shipped scenario's
FLAT = "flat course (distance below)"
WEATHER_KINDS = ("temperature + humidity", "WBGT")
#: the form's sections, and the scenario keys whose problems are shown in each
SECTIONS = {"race": ("race", "weather"), "runner": ("runner", "pacing"),
            "plans": ("intervention",), "model": ("seed", "draws", "posterior")}


@dataclass(frozen=True)
class FormValues:
    """Everything the form asks, in the units its labels show."""

    course: str = FLAT  # FLAT, or the name of a shipped scenario whose course is used
    distance_km: float = 42.195
    elevation: str = ""  # optional "km m; km m; ..." profile of a flat-course distance
    start_time: str = "08:30"  # HH:MM
    weather_kind: str = WEATHER_KINDS[0]
    hours: str = ""  # "HH:MM, HH:MM, ..."
    temp_c: str = ""  # one value per hour [degC]
    rh_pct: str = ""  # one value per hour [%]
    wbgt_c: str = ""  # one value per hour [degC]
    ref_distance_km: float = 21.0975
    ref_time: str = "1:42:00"  # H:MM:SS
    target: str = "3:30:00"  # finish time H:MM:SS, or a pace M:SS per km
    split_pct: float = 5.0  # second half slower than the first [%]
    longest_run_km: float = 30.0
    taper_days: int = 10
    ck_measured: bool = True
    ck_pre_u_per_l: float = 180.0
    cramp_history: bool = True
    slower: bool = True
    slower_pct: float = 3.0
    even_pacing: bool = True
    taper: bool = True
    taper_plan_days: int = 14
    long_run: bool = True
    long_run_km: float = 35.0
    earlier: bool = False
    earlier_h: float = 1.0
    combined: bool = False  # also every chosen change at once
    draws: int = 1000
    seed: int = 4


def defaults(document: dict) -> FormValues:
    """The form's starting values from a single-runner scenario document (the shipped
    goal_marathon_runner): its race, weather, runner and pacing."""
    race, weather = document["race"], document["weather"]
    runner, pacing = document["runner"], document["pacing"]
    kind = WEATHER_KINDS[1] if "wbgt_c" in weather else WEATHER_KINDS[0]

    def listed(key: str) -> str:
        return ", ".join(f"{v:g}" for v in weather.get(key, []))

    return replace(
        FormValues(),
        distance_km=float(race["distance_km"]), start_time=race["start_time"],
        weather_kind=kind, hours=", ".join(weather["hours"]), temp_c=listed("temp_c"),
        rh_pct=listed("rh_pct"), wbgt_c=listed("wbgt_c"),
        ref_distance_km=float(runner["ref_distance_km"]), ref_time=runner["ref_time"],
        target=pacing.get("target_time", pacing.get("target_pace", "")),
        split_pct=float(pacing.get("split_pct", 0.0)),
        longest_run_km=float(runner["longest_run_km"]), taper_days=int(runner["taper_days"]),
        ck_measured="ck_pre_u_per_l" in runner,
        ck_pre_u_per_l=float(runner.get("ck_pre_u_per_l", 180.0)),
        cramp_history=bool(runner.get("cramp_history", False)),
        seed=int(document.get("seed", 0)))


def from_mapping(values: dict) -> FormValues:
    """FormValues from a mapping with the field names (e.g. the page's widget keys); unknown
    keys are ignored, missing ones keep their defaults."""
    names = {f.name for f in fields(FormValues)}
    return replace(FormValues(), **{k: v for k, v in values.items() if k in names})


def scenario_document(v: FormValues, courses: dict[str, dict]) -> dict:
    """The scenario document (the scenario file's keys) the form describes; `courses` maps a
    shipped course's name to its [race] table. Raises InputError for text the form cannot
    read (every such problem at once); the scenario's own rules are checked by `cramp.Scenario`.
    """
    problems = Problems(SOURCE)

    def numbers(text: str, key: str) -> list[float]:
        try:
            values = [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
        except ValueError:
            problems.add(key, "must be numbers separated by commas", text)
            return []
        return values

    race: dict = {"start_time": v.start_time.strip()}
    if v.course == FLAT:
        race["distance_km"] = float(v.distance_km)
        if v.elevation.strip():
            race["elevation_m"] = _profile(v.elevation, problems)
    elif v.course in courses:
        race.update({k: courses[v.course][k] for k in ("distance_km", "elevation_m")
                     if k in courses[v.course]})
    else:
        problems.add("race.course", f"unknown course {v.course!r}")
    weather: dict = {"hours": [h.strip() for h in v.hours.split(",") if h.strip()]}
    if v.weather_kind == WEATHER_KINDS[1]:
        weather["wbgt_c"] = numbers(v.wbgt_c, "weather.wbgt_c")
    else:
        weather["temp_c"] = numbers(v.temp_c, "weather.temp_c")
        weather["rh_pct"] = numbers(v.rh_pct, "weather.rh_pct")
    runner: dict = {"ref_distance_km": float(v.ref_distance_km), "ref_time": v.ref_time.strip(),
                    "longest_run_km": float(v.longest_run_km), "taper_days": int(v.taper_days),
                    "cramp_history": bool(v.cramp_history)}
    if v.ck_measured:
        runner["ck_pre_u_per_l"] = float(v.ck_pre_u_per_l)
    target = v.target.strip()
    pacing: dict = {"target_pace" if target.count(":") == 1 else "target_time": target,
                    "split_pct": float(v.split_pct)}
    problems.raise_if_any("the form")
    return {"name": f"{_race_words(race)}, start {race['start_time']}, target {target}",
            "description": "Made on the coach's web page (`cramp app`).",
            "seed": int(v.seed), "race": race, "weather": weather, "runner": runner,
            # the shipped scenarios' assumption, written out so the file shows it
            "pacing": pacing, "cramp_time_loss": {"slowdown_pct": 15, "stop_s": 60},
            "intervention": plans(v)}


def plans(v: FormValues) -> list[dict]:
    """The [[intervention]] tables for the ticked plans (names a coach reads in the table),
    and, if asked and more than one is ticked, all of them at once."""
    chosen: list[tuple[str, dict]] = []
    if v.slower:
        chosen.append((f"{v.slower_pct:g}% slower pace", {"slower_pace_pct": float(v.slower_pct)}))
    if v.even_pacing:
        chosen.append(("even pacing", {"even_pacing": True}))
    if v.taper:
        chosen.append((f"{v.taper_plan_days}-day taper", {"taper_days": int(v.taper_plan_days)}))
    if v.long_run:
        chosen.append((f"longest run {v.long_run_km:g} km",
                       {"longest_run_km": float(v.long_run_km)}))
    if v.earlier:
        chosen.append((f"start {v.earlier_h:g} h earlier", {"earlier_start_h": float(v.earlier_h)}))
    tables = [{"name": name, **keys} for name, keys in chosen]
    if v.combined and len(chosen) > 1:
        together: dict = {"name": "all of these together"}
        for _, keys in chosen:
            together.update(keys)
        tables.append(together)
    return tables


def _profile(text: str, problems: Problems) -> list[list[float]]:
    """'km m; km m; ...' -> [[km, m], ...]; the scenario checks the shape of the profile."""
    points = []
    for pair in text.replace("\n", ";").split(";"):
        if not pair.strip():
            continue
        try:
            km, metres = (float(x) for x in pair.replace(",", " ").split())
        except ValueError:
            problems.add("race.elevation_m", "each point must be 'km metres', separated by ';'",
                         pair.strip())
            return []
        points.append([km, metres])
    return points


def _race_words(race: dict) -> str:
    hilly = " hilly" if race.get("elevation_m") else ""
    distance = race.get("distance_km")
    return f"{distance:g} km{hilly}" if isinstance(distance, float | int) else "race"


def section_of(problem: str) -> str:
    """The form section ("race", "runner", "plans" or "model") a problem line belongs to, read
    from the scenario key it names (``<source>: weather.hours: ...`` -> "race")."""
    key = problem.removeprefix(f"{SOURCE} with changes: ").removeprefix(f"{SOURCE}: ")
    head = key.split(":")[0].split(".")[0].split("[")[0].split(" ")[0].split("/")[0]
    for section, keys in SECTIONS.items():
        if head in keys:
            return section
    return "model" if head.startswith("--") else "race"


def problems_by_section(error: InputError) -> dict[str, list[str]]:
    """An InputError's problem lines grouped by form section, the form's name dropped."""
    grouped: dict[str, list[str]] = {}
    for line in error.problems:
        text = line.removeprefix(f"{SOURCE}: ")
        grouped.setdefault(section_of(line), []).append(text)
    return grouped


def to_toml(document: dict, header: str = "") -> str:
    """A scenario document as TOML text (`header` lines first, as comments); reading it back
    with tomllib gives the same document."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    scalars = {k: v for k, v in document.items() if not isinstance(v, dict | list)
               or (isinstance(v, list) and not (v and isinstance(v[0], dict)))}
    lines += [f"{key} = {_value(value)}" for key, value in scalars.items()]
    for key, value in document.items():
        if isinstance(value, dict):
            lines += ["", f"[{key}]", *(f"{k} = {_value(x)}" for k, x in value.items())]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for table in value:
                lines += ["", f"[[{key}]]", *(f"{k} = {_value(x)}" for k, x in table.items())]
    text = "\n".join(lines) + "\n"
    if tomllib.loads(text) != document:  # a writer bug must not reach a coach's file
        raise ValueError("the scenario does not survive the TOML round trip")
    return text


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML has no place for {value} in a scenario")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(x) for x in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")
