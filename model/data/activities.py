"""Read a runner's training history from a folder of activity files: FIT (Garmin's FIT SDK),
GPX (gpxpy) and CSV exports with one row per activity.

Each readable run becomes one row of an activities table (start time in UTC and the local date in
the runner's time zone, distance, duration, climb and descent, heart rate, source file). Files
that cannot be read, and rows of a CSV that break a rule, are skipped and listed with the reason;
one bad file never stops the import. The same run exported twice (e.g. FIT and GPX) is kept once.

CSV columns (units in the names): ``date`` (YYYY-MM-DD, or a local date-time), ``distance_km``,
``duration_s``; optional ``elevation_gain_m``, ``elevation_loss_m``, ``avg_hr_bpm``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from model.errors import InputError

COLUMNS = ["start_utc", "local_date", "distance_km", "duration_s", "elevation_gain_m",
           "elevation_loss_m", "avg_hr_bpm", "source"]
RUNNING_SPORTS = {"running", "trail_running", "treadmill_running", None}
DUPLICATE_WINDOW_S = 120.0  # same start within 2 min ...
DUPLICATE_DISTANCE_FRACTION = 0.03  # ... and distance within 3%: the same run exported twice
SOURCE_PREFERENCE = {".fit": 0, ".gpx": 1, ".csv": 2}  # keep the richest export of a duplicate


@dataclass
class TrainingLog:
    """Runs read from a folder, plus every file or row skipped (with why) and duplicates dropped."""

    activities: pd.DataFrame
    skipped: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    folder: str = ""


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"--tz {name!r}: not an IANA time zone (e.g. Europe/London)") from None


def read_training_log(folder: str | Path, tz: str = "UTC") -> TrainingLog:
    """All runs in `folder` (FIT, GPX, CSV; not recursive), local dates in time zone `tz`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder")
    zone = time_zone(tz)
    rows, skipped = [], []
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if not path.is_file() or suffix not in SOURCE_PREFERENCE:
            continue
        reader = {".fit": _read_fit, ".gpx": _read_gpx, ".csv": _read_csv}[suffix]
        try:
            found, problems = reader(path, zone)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is skipped and reported
            found, problems = [], [f"{path.name}: unreadable ({type(exc).__name__}: {exc})"]
        rows.extend(found)
        skipped.extend(problems)
    table = pd.DataFrame(rows, columns=COLUMNS)
    if table.empty:
        return TrainingLog(table, skipped, [], str(folder))
    table["local_date"] = [t.tz_convert(zone).date() if pd.isna(d) else d
                           for t, d in zip(table["start_utc"], table["local_date"], strict=True)]
    table, duplicates = _drop_duplicates(table)
    return TrainingLog(table.reset_index(drop=True), skipped, duplicates, str(folder))


def _drop_duplicates(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    order = table["source"].map(lambda s: SOURCE_PREFERENCE[Path(s).suffix.lower()])
    table = table.assign(_pref=order).sort_values(["start_utc", "_pref"]).reset_index(drop=True)
    keep, dropped = [], []
    for i, row in table.iterrows():
        same = [k for k in keep
                if abs((row["start_utc"] - table.at[k, "start_utc"]).total_seconds())
                <= DUPLICATE_WINDOW_S
                and abs(row["distance_km"] - table.at[k, "distance_km"])
                <= DUPLICATE_DISTANCE_FRACTION * table.at[k, "distance_km"]]
        if same:
            dropped.append(f"{row['source']}: duplicate of {table.at[same[0], 'source']} "
                           f"(same start and distance)")
        else:
            keep.append(i)
    return table.loc[keep].drop(columns="_pref"), dropped


def _read_fit(path: Path, zone: ZoneInfo):
    from garmin_fit_sdk import Decoder, Stream

    data = path.read_bytes()
    if not data:
        return [], [f"{path.name}: empty file"]
    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    if not decoder.is_fit():
        return [], [f"{path.name}: not a FIT file"]
    if not Decoder(Stream.from_byte_array(bytearray(data))).check_integrity():
        return [], [f"{path.name}: damaged or truncated FIT file (integrity check failed)"]
    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    if errors:
        return [], [f"{path.name}: FIT decoding error ({errors[0]})"]
    sessions = messages.get("session_mesgs", [])
    if not sessions:
        return [], [f"{path.name}: no session in the FIT file"]
    rows, problems = [], []
    for s in sessions:
        sport = s.get("sport")
        if sport not in RUNNING_SPORTS:
            problems.append(f"{path.name}: not a run ({sport}), left out")
            continue
        rows.append(_row(s.get("start_time"), None, (s.get("total_distance") or 0) / 1000,
                         s.get("total_timer_time") or s.get("total_elapsed_time"),
                         s.get("total_ascent"), s.get("total_descent"),
                         s.get("avg_heart_rate"), path.name))
    return rows, problems


def _read_gpx(path: Path, zone: ZoneInfo):
    import gpxpy

    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        return [], [f"{path.name}: empty file"]
    gpx = gpxpy.parse(text)
    start, end = gpx.get_time_bounds()
    if start is None or end is None:
        return [], [f"{path.name}: no timestamps in the GPX track"]
    if start.tzinfo is None:  # GPX times are UTC by the standard; some tools omit the Z
        start, end = start.replace(tzinfo=dt.UTC), end.replace(tzinfo=dt.UTC)
    climb = gpx.get_uphill_downhill()
    distance_km = (gpx.length_3d() or gpx.length_2d()) / 1000
    return [_row(start, None, distance_km, (end - start).total_seconds(), climb.uphill,
                 climb.downhill, None, path.name)], []


def _read_csv(path: Path, zone: ZoneInfo):
    try:
        table = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return [], [f"{path.name}: empty file"]
    missing = [c for c in ("date", "distance_km", "duration_s") if c not in table]
    if missing:
        return [], [f"{path.name}: missing column(s) {', '.join(missing)} "
                    f"(found: {', '.join(map(str, table.columns))})"]
    rows, problems = [], []
    for i, r in table.iterrows():
        where = f"{path.name}: row {i + 1}"
        when = pd.to_datetime(r["date"], errors="coerce")
        distance = pd.to_numeric(r["distance_km"], errors="coerce")
        duration = pd.to_numeric(r["duration_s"], errors="coerce")
        if pd.isna(when):
            problems.append(f"{where}, column date: not a date ({r['date']!r})")
        elif not (distance > 0):
            problems.append(f"{where}, column distance_km: must be a number > 0 "
                            f"({r['distance_km']!r})")
        elif not (duration > 0):
            problems.append(f"{where}, column duration_s: must be a number > 0 "
                            f"({r['duration_s']!r})")
        else:
            local = when.tz_localize(zone) if when.tzinfo is None else when.tz_convert(zone)
            rows.append(_row(local, local.date(), distance, duration,
                             r.get("elevation_gain_m"), r.get("elevation_loss_m"),
                             r.get("avg_hr_bpm"), path.name))
    return rows, problems


def _row(start, local_date, distance_km, duration_s, gain, loss, hr, source) -> list:
    def number(x):
        return float(x) if x is not None and not pd.isna(x) else np.nan

    return [pd.Timestamp(start).tz_convert("UTC"), local_date, float(distance_km),
            number(duration_s), number(gain), number(loss), number(hr), source]
