"""Read a runner's training history from their exported activity files, as coaches have them:
a folder (read recursively) or a ``.zip``, with FIT, GPX and TCX files (also as ``.gz`` and inside
nested zips), Strava's and Garmin Connect's summary CSVs, or the project's own CSV.

Each run becomes one row of an activities table (start time in UTC and local date, distance,
moving and elapsed time, climb and descent, heart rate, sport, source). Everything else is left
out *with its reason*, never silently: not a run (cycling, walking...), implausible (speed, date,
duration, too few timed points), duplicate (the same run exported twice), damaged, empty,
unsupported format, bad CSV row. One bad file never stops the import.

Definitions of distance and duration: model/data/activity_formats/__init__.py (2-D distance as the
platforms report it; moving/timer time as the duration, elapsed time kept alongside). Sports:
activity_formats/sports.py (trail and treadmill runs are runs; walks and hikes are not).
Plausibility and duplicates: activity_rules.py.

Local dates: a FIT file's own local-time offset (its activity message) when it has one, else the
time zone given (``--tz``); summary CSV dates as the platform writes them (Strava UTC, Garmin
local).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from model.data import activity_rules
from model.data.activity_formats import REASONS, Activity, EmptyFileError, LeftOut, decode, sports
from model.data.activity_formats.csv_logs import CsvLayoutError, read_csv_log
from model.data.activity_sources import Member, walk
from model.errors import InputError

COLUMNS = ["start_utc", "local_date", "distance_km", "duration_s", "elapsed_s",
           "elevation_gain_m", "elevation_loss_m", "avg_hr_bpm", "sport", "fmt", "source"]


@dataclass
class TrainingLog:
    """Runs read from a folder or zip (`activities`, one row per run: start_utc, local_date,
    distance_km, duration_s = moving time [s], elapsed_s, elevation_gain_m, elevation_loss_m,
    avg_hr_bpm, sport, fmt, source), everything left out with its reason, and notes on files
    that were read despite a defect."""

    activities: pd.DataFrame
    left_out: list[LeftOut] = field(default_factory=list)
    folder: str = ""
    notes: list[str] = field(default_factory=list)
    files_read: int = 0

    @property
    def skipped(self) -> list[str]:
        """Everything left out except duplicates, one line each."""
        return [str(x) for x in self.left_out if x.reason != "duplicate"]

    @property
    def duplicates(self) -> list[str]:
        return [str(x) for x in self.left_out if x.reason == "duplicate"]

    def counts(self) -> dict[str, int]:
        """How many were left out for each reason (in REASONS order)."""
        n = Counter(x.reason for x in self.left_out)
        return {reason: n[reason] for reason in REASONS if n[reason]}

    def summary(self) -> str:
        """One line: runs imported and counts of what was left out, by reason."""
        left = ", ".join(f"{n} {reason}" for reason, n in self.counts().items())
        return (f"{len(self.activities)} runs imported from {self.files_read} files"
                + (f"; left out: {left}" if left else ""))


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; InputError naming --tz when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"--tz {name!r}: not an IANA time zone (e.g. Europe/London)") from None


def read_training_log(folder: str | Path, tz: str = "UTC",
                      now: dt.datetime | None = None) -> TrainingLog:
    """All runs in `folder` (a folder, read recursively, or a .zip), local dates in time zone
    `tz` unless a file states its own offset. `now` (UTC; default the clock) bounds the dates."""
    root = Path(folder)
    if not (root.is_dir() or (root.is_file() and root.suffix.lower() == ".zip")):
        raise InputError(f"{folder}: not a folder (or a .zip of activity files)")
    zone = time_zone(tz)
    now = now or dt.datetime.now(dt.UTC)
    found: list[Activity] = []
    left_out: list[LeftOut] = []
    notes: list[str] = []
    files = 0
    for item in walk(root):
        files += 1
        if isinstance(item, LeftOut):
            left_out.append(item)
            continue
        activities, problems, remarks = _decode(item, zone)
        found.extend(activities)
        left_out.extend(problems)
        notes.extend(remarks)
    found = _merge_summaries(found)
    runs = []
    for a in found:
        if not sports.is_run(a.sport):
            left_out.append(LeftOut(a.source, "not a run", _sport_words(a)))
        elif (why := activity_rules.implausible(a, now)) is not None:
            left_out.append(LeftOut(a.source, "implausible", why))
        else:
            runs.append(a)
    table = _table(runs, zone)
    if not table.empty:
        table, duplicates = activity_rules.drop_duplicates(table)
        left_out.extend(duplicates)
        table = table.sort_values("start_utc", kind="stable").reset_index(drop=True)
    return TrainingLog(table, left_out, str(folder), notes, files)


def _decode(item: Member, zone: ZoneInfo) -> tuple[list[Activity], list[LeftOut], list[str]]:
    try:
        data = item.read()
        if item.kind == ".csv":
            out = read_csv_log(item.name, data, zone)
        else:
            out = decode(item.name, item.kind, data)
    except EmptyFileError:
        return [], [LeftOut(item.name, "empty", "no content")], []
    except CsvLayoutError as exc:
        reason = "empty" if str(exc) == "empty file" else "unsupported format"
        return [], [LeftOut(item.name, reason, str(exc))], []
    except (ValueError, OSError, MemoryError) as exc:  # FitError, TrackFileError, zip errors
        return [], [LeftOut(item.name, "damaged", str(exc))], []
    return out.activities, out.left_out, out.notes


def _merge_summaries(found: list[Activity]) -> list[Activity]:
    """A Strava activities.csv row that names a file read from the same export lends that file
    its sport (the athlete's own classification on Strava) and is not counted again."""
    by_source = {a.source: a for a in found if a.fmt != "csv"}
    merged = []
    for a in found:
        if a.linked_file is None:
            merged.append(a)
            continue
        folder = PurePosixPath(a.source.split(" row ")[0]).parent
        target = by_source.get(str(folder / a.linked_file).removeprefix("./"))
        if target is None:
            merged.append(a)  # a manual entry, or its file is missing: the row stands for it
        else:
            target.sport, target.sport_label = a.sport, f"{a.sport_label} (Strava)"
    return merged


def _sport_words(a: Activity) -> str:
    label = a.sport_label.strip()
    if not label or label == a.sport:
        return str(a.sport)
    return f"{a.sport}: {label}"


def _table(runs: list[Activity], zone: ZoneInfo) -> pd.DataFrame:
    rows = []
    for a in runs:
        start = pd.Timestamp(a.start_utc).tz_convert("UTC") if a.start_utc else pd.NaT
        if a.local_date is not None:
            day = a.local_date
        elif a.utc_offset_s is not None:
            day = (a.start_utc + dt.timedelta(seconds=a.utc_offset_s)).date()
        else:
            day = start.tz_convert(zone).date()
        rows.append([start, day, float(a.distance_km), float(a.moving_s), float(a.elapsed_s),
                     _nan(a.gain_m), _nan(a.loss_m), _nan(a.avg_hr_bpm), a.sport or "running",
                     a.fmt, a.source])
    return pd.DataFrame(rows, columns=COLUMNS)


def _nan(x) -> float:
    return float(x) if x is not None and not pd.isna(x) else np.nan
