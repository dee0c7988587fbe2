"""A runner's profile for a coming race from their training log: the model's features (longest
run, ability, taper) and the training-load picture behind them.

Definitions (all windows end the day before the race, in the runner's local dates):

- ``longest_run_km``: the longest run in the 8 weeks before the race.
- ability (``ref_distance_km``, ``ref_time_s``): the run of >= 5 km in the last 12 weeks whose time,
  scaled to the race distance with Riegel's formula (T2 = T1 (D2/D1)^1.06), is fastest. Training
  runs are rarely all-out, so this errs towards a slower prediction; a recent race is better.
- ``weekly_km``: distance in each of the 8 weeks before the race (week 1 = the last 7 days).
- training load per run (rTSS convention, TrainingPeaks): hours x IF^2 x 100, IF = run speed /
  threshold speed, threshold speed = the speed the ability predicts for a 60-minute race (Riegel).
- Performance Manager Chart (TrainingPeaks convention): daily CTL (fitness) and ATL (fatigue) are
  exponentially weighted averages of daily load with time constants 42 and 7 days,
  ``CTL_d = CTL_{d-1} + (load_d - CTL_{d-1}) / 42``; form ``TSB_d = CTL_{d-1} - ATL_{d-1}``;
  days without a run have load 0; the series starts at 0, 180 days before the race.
- taper: among the 7-day windows ending in the 6 weeks before the race, the last one still at
  full volume (>= 90% of the busiest window's km) marks the end of training; the taper starts the
  day after that window's last run, and ``taper_days`` counts from there to the race. Volume
  reduction = 1 - (km in the last 7 days) / (km in the busiest window). (A plateau of several
  equally big weeks then ends at the last of them, not the first.)
- muscle-damage proxies (when no CK is measured): km of long runs (>= 25 km or >= 2 h) and metres
  of descent in the last 7 days, and days since the last long run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.errors import InputError
from model.hazard.physiology import RIEGEL_EXPONENT

CTL_DAYS, ATL_DAYS = 42.0, 7.0
HISTORY_DAYS = 180
ABILITY_WINDOW_DAYS, ABILITY_MIN_KM = 84, 5.0
LONG_RUN_KM, LONG_RUN_S = 25.0, 2 * 3600.0
FULL_VOLUME_SHARE = 0.9  # a 7-day window with >= 90% of the peak volume is still full training


@dataclass(frozen=True)
class RunnerProfile:
    race_date: dt.date
    race_distance_km: float
    n_runs: int
    longest_run_km: float
    ref_distance_km: float
    ref_time_s: float
    ref_date: dt.date | None
    predicted_race_time_s: float
    weekly_km: list[float]  # week 1 = the last 7 days before the race
    taper_days: int
    taper_volume_reduction: float
    ctl: float  # on race morning (after the day before)
    atl: float
    tsb: float
    long_run_km_last_7d: float
    descent_m_last_7d: float
    days_since_long_run: int | None
    daily: pd.DataFrame  # date, km, load, ctl, atl, tsb

    def runner_table(self) -> dict:
        """The [runner] block of a scenario file."""
        return {"ref_distance_km": round(self.ref_distance_km, 3),
                "ref_time_s": round(self.ref_time_s), "longest_run_km":
                round(self.longest_run_km, 1), "taper_days": int(self.taper_days)}


def pmc(daily_load: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CTL, ATL (after each day) and TSB (on each day, from the day before) of a daily load."""
    ctl, atl = np.zeros(len(daily_load)), np.zeros(len(daily_load))
    c = a = 0.0
    for i, load in enumerate(daily_load):
        c += (load - c) / CTL_DAYS
        a += (load - a) / ATL_DAYS
        ctl[i], atl[i] = c, a
    tsb = np.concatenate([[0.0], ctl[:-1] - atl[:-1]])
    return ctl, atl, tsb


def threshold_speed_kmh(ref_distance_km: float, ref_time_s: float) -> float:
    """Speed [km/h] the ability predicts for a 60-minute race (Riegel)."""
    return ref_distance_km * (3600.0 / ref_time_s) ** (1.0 / RIEGEL_EXPONENT)  # km in 1 h


def run_load(distance_km, duration_s, threshold_kmh: float) -> np.ndarray:
    """rTSS-style load: hours x (speed / threshold speed)^2 x 100."""
    hours = np.asarray(duration_s, float) / 3600.0
    intensity = np.asarray(distance_km, float) / hours / threshold_kmh
    return hours * intensity**2 * 100.0


def runner_profile(activities: pd.DataFrame, race_date: dt.date,
                   race_distance_km: float) -> RunnerProfile:
    """The profile for a race on `race_date` (local date) over `race_distance_km`."""
    runs = activities[activities["local_date"] < race_date]
    recent = runs[runs["local_date"] >= race_date - dt.timedelta(days=ABILITY_WINDOW_DAYS)]
    candidates = recent[recent["distance_km"] >= ABILITY_MIN_KM].dropna(subset=["duration_s"])
    if candidates.empty:
        raise InputError(f"no run of >= {ABILITY_MIN_KM:g} km in the {ABILITY_WINDOW_DAYS} days "
                         f"before {race_date}: ability cannot be estimated")
    predicted = candidates["duration_s"] * (race_distance_km / candidates["distance_km"]) ** (
        RIEGEL_EXPONENT)
    best = candidates.loc[predicted.idxmin()]
    days = pd.date_range(race_date - dt.timedelta(days=HISTORY_DAYS), periods=HISTORY_DAYS,
                         freq="D").date
    km = _per_day(runs, days, runs["distance_km"])
    load_per_run = run_load(runs["distance_km"], runs["duration_s"].fillna(0.0),
                            threshold_speed_kmh(best["distance_km"], best["duration_s"]))
    load = _per_day(runs, days, pd.Series(np.nan_to_num(load_per_run), index=runs.index))
    ctl, atl, tsb = pmc(load)
    in_8w = runs[runs["local_date"] >= race_date - dt.timedelta(days=56)]
    weekly = [float(km[len(km) - 7 * (w + 1): len(km) - 7 * w].sum()) for w in range(8)]
    taper_days, reduction = _taper(km)
    last_7 = runs[runs["local_date"] >= race_date - dt.timedelta(days=7)]
    long_runs = runs[(runs["distance_km"] >= LONG_RUN_KM) | (runs["duration_s"] >= LONG_RUN_S)]
    long_7 = last_7[last_7.index.isin(long_runs.index)]
    return RunnerProfile(
        race_date=race_date,
        race_distance_km=race_distance_km,
        n_runs=len(runs),
        longest_run_km=float(in_8w["distance_km"].max()) if len(in_8w) else 0.0,
        ref_distance_km=float(best["distance_km"]),
        ref_time_s=float(best["duration_s"]),
        ref_date=best["local_date"],
        predicted_race_time_s=float(predicted.min()),
        weekly_km=weekly,
        taper_days=taper_days,
        taper_volume_reduction=reduction,
        ctl=float(ctl[-1]),
        atl=float(atl[-1]),
        tsb=float(ctl[-1] - atl[-1]),
        long_run_km_last_7d=float(long_7["distance_km"].sum()),
        descent_m_last_7d=float(last_7["elevation_loss_m"].fillna(0.0).sum()),
        days_since_long_run=(race_date - long_runs["local_date"].max()).days
        if len(long_runs) else None,
        daily=pd.DataFrame({"date": days, "km": km, "load": load, "ctl": ctl, "atl": atl,
                            "tsb": tsb}),
    )


def _per_day(runs: pd.DataFrame, days, values: pd.Series) -> np.ndarray:
    index = {d: i for i, d in enumerate(days)}
    out = np.zeros(len(days))
    for d, v in zip(runs["local_date"], values, strict=True):
        if d in index:
            out[index[d]] += v
    return out


def _taper(km_per_day: np.ndarray) -> tuple[int, float]:
    """Taper length [days] and volume reduction from the daily km ending the day before race."""
    rolling = np.convolve(km_per_day, np.ones(7), mode="valid")  # window j ends on day j + 6
    first = len(rolling) - 42  # windows ending in the 42 days before the race
    last_42 = rolling[first:]
    peak = last_42.max()
    if peak <= 0:
        return 0, 0.0
    full = first + int(np.flatnonzero(last_42 >= FULL_VOLUME_SHARE * peak)[-1])
    last_run_day = full + int(np.flatnonzero(km_per_day[full:full + 7] > 0)[-1])
    taper_days = len(km_per_day) - last_run_day - 1  # day after that run .. race day
    return int(taper_days), float(1.0 - rolling[-1] / peak)


def profiles_table(root, race_date: dt.date, race_distance_km: float, tz: str = "UTC"):
    """One row per runner for a folder holding one sub-folder of activity files per runner (the
    sub-folder's name is the runner_id): the record columns a training log can give
    (ref_distance_km, ref_time_s, longest_run_km, taper_days) plus the other profile figures.
    Returns (table, problems); a runner whose log cannot give a profile is listed, not fatal."""
    from pathlib import Path

    from model.data.activities import read_training_log

    rows, problems = [], []
    folders = sorted(p for p in Path(root).iterdir() if p.is_dir())
    if not folders:
        raise InputError(f"{root}: no sub-folders (one per runner expected)")
    for folder in folders:
        log = read_training_log(folder, tz)
        # every file left out, duplicates included, so a runner's row can be checked
        problems.extend(f"{folder.name}/{line}" for line in log.left_out)
        try:
            p = runner_profile(log.activities, race_date, race_distance_km)
        except InputError as exc:
            problems.append(f"{folder.name}: no profile ({exc})")
            continue
        rows.append({"runner_id": folder.name, **p.runner_table(),
                     "ref_date": p.ref_date, "n_runs": p.n_runs,
                     "taper_volume_reduction": round(p.taper_volume_reduction, 3),
                     "weekly_km_mean_8w": round(float(np.mean(p.weekly_km)), 1),
                     "ctl": round(p.ctl, 1), "atl": round(p.atl, 1), "tsb": round(p.tsb, 1),
                     "long_run_km_last_7d": p.long_run_km_last_7d,
                     "descent_m_last_7d": p.descent_m_last_7d,
                     "days_since_long_run": p.days_since_long_run})
    return pd.DataFrame(rows), problems
