"""The [runner] or [population] table of a scenario file: each runner attribute as a fixed value
(one runner) or a distribution (a field), checked against plausible bounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.data.cell_formats import duration_s
from model.errors import InputError, Problems
from scenarios.file_format import is_number, number, pace_s_per_km
from scenarios.scenario import RUNNER_ATTRIBUTES, UNBOUNDED_CLIP_SD, Distribution, Runners

_BOUNDS = {  # plausible range of each runner attribute
    "ref_time_s": (600.0, 86400.0),
    "longest_run_km": (0.0, 250.0),
    "taper_days": (0.0, 60.0),
    "ck_pre_u_per_l": (10.0, 20000.0),
    "cramp_history": (0.0, 1.0),
    "effort_vs_ability_pct": (-50.0, 50.0),
}
_DEFAULTS = {"taper_days": 7.0, "cramp_history": 0.0, "effort_vs_ability_pct": 0.0}


def runners_of(doc: dict, p: Problems) -> Runners:
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
    ref_distance = number(p, table, "ref_distance_km", prefix, low=1, high=250)
    merged = dict(table)
    if "ref_time" in table and "ref_time_s" in table:
        p.add(prefix, "give ref_time or ref_time_s, not both")
    if "ref_time" in table:  # a clock-style duration is friendlier for one runner
        merged["ref_time_s"] = duration_s(table["ref_time"])
        if merged["ref_time_s"] is None:
            p.add(f"{prefix}.ref_time", "must be a duration 'H:MM:SS' > 0", table["ref_time"])
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
    past = _past_races(table.get("past_races"), prefix, is_single, p)
    for key in table:
        if key not in (*RUNNER_ATTRIBUTES, "ref_time", "ref_distance_km", "count", "name",
                       "past_races"):
            p.add(f"{prefix}.{key}", "unknown key")
    target = None
    if "target_time" in pacing and "target_pace" in pacing:
        p.add("pacing", "give target_time or target_pace, not both")
    elif "target_time" in pacing:
        target = duration_s(pacing["target_time"])
        if target is None:
            p.add("pacing.target_time", "must be a duration 'H:MM:SS' > 0", pacing["target_time"])
    elif "target_pace" in pacing:
        per_km = pace_s_per_km(pacing["target_pace"])
        distance = doc.get("race", {}).get("distance_km") if isinstance(doc.get("race"),
                                                                        dict) else None
        if per_km is None:
            p.add("pacing.target_pace", "must be a pace 'M:SS' per km > 0", pacing["target_pace"])
        elif is_number(distance) and distance > 0:
            target = per_km * distance
    if target is not None and not is_single:
        p.add("pacing.target_time" if "target_time" in pacing else "pacing.target_pace",
              "only for a single [runner]; a population paces by effort_vs_ability_pct")
        target = None
    for key in pacing:
        if key not in ("target_time", "target_pace", "split_pct", "effort_vs_ability_pct"):
            p.add(f"pacing.{key}", "unknown key")
    return Runners(count, is_single, ref_distance or 21.0975, attributes, target, past)


def _past_races(value, prefix: str, single: bool, p: Problems):
    """The runner's earlier races: a race-record file (CSV/Parquet, the columns of `cramp check`)
    named relative to the scenario file, validated as race records."""
    if value is None:
        return None
    if not single:
        p.add(f"{prefix}.past_races", "only for a single [runner]")
        return None
    if not isinstance(value, str) or not value.strip():
        p.add(f"{prefix}.past_races", "must be a file name (race records, CSV)", value)
        return None
    from model.data.records import load_records

    scenario_file = Path(p.source.removesuffix(" with changes"))
    folder = scenario_file.parent if scenario_file.suffix == ".toml" else Path.cwd()
    path = Path(value) if Path(value).is_absolute() else folder / value
    try:
        return load_records(path)
    except InputError as exc:
        for problem in exc.problems:
            p.add(f"{prefix}.past_races", problem)
        return None


def _distribution(value, key: str, bounds, *, single: bool, p: Problems) -> Distribution | None:
    low, high = bounds
    if isinstance(value, bool):
        value = float(value)
    if isinstance(value, int | float):
        if not (is_number(value) and low <= value <= high):
            p.add(key, f"must be a finite number between {low:g} and {high:g}", value)
            return None
        return Distribution("fixed", float(value))
    if single or not isinstance(value, dict):
        p.add(key, "must be a number" if single else "must be a number or a table "
              "{dist = normal|lognormal|uniform|bernoulli, ...}", value)
        return None
    kind = value.get("dist")
    need = {"normal": ("mean", "sd"), "lognormal": ("median", "sd_log"),
            "uniform": ("min", "max"), "bernoulli": ("p",)}
    if not isinstance(kind, str) or kind not in need:
        p.add(f"{key}.dist", "must be normal, lognormal, uniform or bernoulli", kind)
        return None
    allowed = set(need[kind]) | {"dist", "min", "max"}
    for extra in set(value) - allowed:
        p.add(f"{key}.{extra}", f"unknown key for a {kind} distribution")
    numbers = {}
    for name in (*need[kind], "min", "max"):
        if name in value:
            v = value[name]
            if not is_number(v):
                p.add(f"{key}.{name}", "must be a finite number", v)
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
