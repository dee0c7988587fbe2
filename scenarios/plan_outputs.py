"""A plan in the forms a coach and a runner use: the risk-against-target plot, a printable pace
band (PNG) and a Garmin FIT workout with a target pace per km (what a watch's pacing screen
follows), all from the pace plan the simulator assumes (scenarios/course.py: hills, split)."""

from __future__ import annotations

import datetime
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from model.plots import finish_figure
from scenarios.course import pace_plan
from scenarios.scenario import Scenario

PACE_BAND_S_PER_KM = 5.0  # the watch's target range: the planned pace +- this [s/km]
# a fixed creation time keeps the FIT file byte-identical from run to run (it is a plan, not a
# recording; watches do not use this field for workouts)
FIT_TIME_CREATED = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


def _clock(seconds: float, hours: bool = True) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def plot_plan(curve: pd.DataFrame, plan: dict, title: str, path: Path | None = None, ax=None):
    """Risk of a cramp (mean, 95% interval) and the expected finish incl. time lost to cramps
    against the target time, with the ceiling, the fastest target within it and the best
    expected finish marked."""
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(8, 4.8))
    fig = ax.figure
    hours = curve["target_time_s"] / 3600
    ax.fill_between(hours, curve["risk lo [%]"], curve["risk hi [%]"], alpha=0.25,
                    color="tab:red", label="risk, 95% equal-tailed interval")
    ax.plot(hours, curve["risk mean [%]"], color="tab:red", label="risk, mean")
    ax.axhline(100 * plan["max_risk"], color="tab:red", ls=":", lw=1,
               label=f"ceiling {plan['max_risk']:.0%}"
               + ("" if plan["confidence"] is None else f" (with {plan['confidence']:.0%} "
                                                        "probability)"))
    if plan["fastest_target_time_s"] is not None:
        t = plan["fastest_target_time_s"]
        ax.axvline(t / 3600, color="black", lw=1.2,
                   label=f"fastest target within the ceiling: {_clock(t)}")
    best = plan["best_expected_finish"]
    ax.axvline(best["target_time_s"] / 3600, color="tab:blue", ls="--", lw=1,
               label=f"best expected finish: target {_clock(best['target_time_s'])}")
    ax.set_xlabel("target finishing time [h]")
    ax.set_ylabel("risk of a cramp [%]")
    ax.set_ylim(0, 100)
    twin = ax.twinx()
    twin.plot(hours, (curve["expected_finish_s"] - curve["target_time_s"]) / 60,
              color="tab:blue", lw=1.2)
    twin.set_ylabel("expected time lost to cramps [min]", color="tab:blue")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(title)
    if own:
        fig.tight_layout()
    return finish_figure(fig, path, 120)


def plot_pace_band(spec: Scenario, title: str, path: Path | None = None):
    """A printable pace band: per km the pace to run and the time on the clock at the km mark,
    in columns of up to 22 km (a marathon fits on a strip of two)."""
    p = pace_plan(spec, "baseline")
    rows = [(f"{to:g}", _clock(pace, hours=False), _clock(elapsed))
            for to, pace, elapsed in zip(np.round(p["to_km"], 3), p["pace_s_per_km"],
                                         p["elapsed_s"], strict=True)]
    n_cols = -(-len(rows) // 22)
    per_col = -(-len(rows) // n_cols)
    fig, axes = plt.subplots(1, n_cols, figsize=(2.6 * n_cols, 0.24 * per_col + 1.2),
                             squeeze=False)
    for i, ax in enumerate(axes[0]):
        part = rows[i * per_col:(i + 1) * per_col]
        ax.axis("off")
        table = ax.table(cellText=part, colLabels=["km", "pace /km", "clock"], loc="upper center",
                         cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
    target = _clock(p["elapsed_s"][-1])
    fig.suptitle(f"{title}\ntarget {target}, split {spec.split_pct:+g}%", fontsize=9)
    fig.tight_layout()
    return finish_figure(fig, path, 200)


def fit_workout_bytes(spec: Scenario, title: str) -> bytes:
    """A Garmin FIT workout file: one step per km (the last one to the finish), each to be run
    at the planned pace +- PACE_BAND_S_PER_KM, as a speed target in m/s."""
    from garmin_fit_sdk import Encoder, Profile

    p = pace_plan(spec, "baseline")
    mesg = Profile["mesg_num"]
    encoder = Encoder()
    encoder.write_mesg({"mesg_num": mesg["FILE_ID"], "type": "workout",
                        "manufacturer": "development", "product": 0,
                        "time_created": FIT_TIME_CREATED,
                        "serial_number": int(spec.sha256[:8] or "0", 16) or 1})
    encoder.write_mesg({"mesg_num": mesg["WORKOUT"], "sport": "running",
                        "num_valid_steps": len(p["to_km"]), "wkt_name": title[:40]})
    for i, (start, end, pace) in enumerate(zip(p["from_km"], p["to_km"], p["pace_s_per_km"],
                                               strict=True)):
        slow, fast = pace + PACE_BAND_S_PER_KM, max(pace - PACE_BAND_S_PER_KM, 60.0)
        encoder.write_mesg({
            "mesg_num": mesg["WORKOUT_STEP"], "message_index": i,
            "wkt_step_name": f"km {end:g} at {_clock(pace, hours=False)}",
            "duration_type": "distance",
            "duration_value": round((end - start) * 100_000),  # cm, the FIT unit
            "target_type": "speed", "target_value": 0,
            "custom_target_value_low": round(1_000_000 / slow),  # mm/s
            "custom_target_value_high": round(1_000_000 / fast),
            "intensity": "active"})
    return bytes(encoder.close())


def write_fit_workout(spec: Scenario, title: str, path: Path) -> None:
    """`fit_workout_bytes` written to `path`."""
    Path(path).write_bytes(fit_workout_bytes(spec, title))
