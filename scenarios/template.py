"""A scenario file for a profiled runner: a shipped or user scenario used as a template (race,
weather, time-loss assumption, interventions) with the runner's own [runner] and [pacing]."""

from __future__ import annotations

import tomllib
from pathlib import Path

from model.errors import InputError
from scenarios.spec import load_scenario, parse_scenario, resolve_scenario_path


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
