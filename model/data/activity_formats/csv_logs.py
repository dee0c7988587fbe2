"""Activity tables in CSV: the project's own layout, Strava's bulk-export ``activities.csv`` and
Garmin Connect's ``Activities.csv``, told apart by their columns.

- project: ``date`` (YYYY-MM-DD or a local date-time), ``distance_km``, ``duration_s``; optional
  ``elevation_gain_m``, ``elevation_loss_m``, ``avg_hr_bpm``. Dates are local.
- Strava: ``Activity Date`` is UTC ("Mar 15, 2021, 7:02:13 AM"); ``Activity Type`` (Run, Trail Run,
  Ride, Walk...); distance from the second ``Distance`` column (metres, newer exports) or the
  first (km: the metric export; an account set to miles is not detected); duration from
  ``Moving Time`` [s] (newer exports) or ``Elapsed Time`` [s]. ``Filename`` names the activity
  file of the row (``activities/123.fit.gz``), so the row can lend its sport to that file.
- Garmin Connect: ``Date`` is local; ``Activity Type`` (Running, Treadmill Running, Cycling...);
  ``Distance`` in km (an account set to miles is not detected); ``Moving Time`` or ``Time``
  ("01:23:45"); ``Total Ascent``/``Total Descent`` [m]; ``--`` means no value.
"""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from model.data.activity_formats import Activity, Decoded, LeftOut, sports

PROJECT = ("date", "distance_km", "duration_s")
STRAVA = ("Activity ID", "Activity Date", "Activity Type")
GARMIN = ("Activity Type", "Date", "Distance")


class CsvLayoutError(ValueError):
    """A CSV that is none of the known activity tables."""


def read_csv_log(name: str, data: bytes, zone: ZoneInfo) -> Decoded:
    """The activities (one per row) of an activity table, and the rows that break a rule."""
    try:
        table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise CsvLayoutError("empty file") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise CsvLayoutError(f"not a readable CSV ({exc})") from None
    columns = set(table.columns)
    if set(STRAVA) <= columns:
        return _rows(name, table, zone, _strava_row)
    if set(GARMIN) <= columns:
        return _rows(name, table, zone, _garmin_row)
    if set(PROJECT) <= columns:
        return _rows(name, table, zone, _project_row)
    missing = [c for c in PROJECT if c not in columns]
    raise CsvLayoutError(f"not an activity table: missing column(s) {', '.join(missing)} "
                         f"(found: {', '.join(map(str, table.columns[:12]))}; Strava's "
                         f"activities.csv and Garmin's Activities.csv are also read)")


def _rows(name, table, zone, convert) -> Decoded:
    out = Decoded()
    for i, row in enumerate(table.to_dict("records")):
        where = f"{name} row {i + 1}"
        try:
            out.activities.append(convert(where, row, zone))
        except ValueError as exc:
            out.left_out.append(LeftOut(where, "bad row", str(exc)))
    return out


def _number(row: dict, column: str, required: bool = True) -> float:
    text = str(row.get(column, "")).strip().replace(",", "")
    if text in ("", "--", "nan"):
        if required:
            raise ValueError(f"column {column}: no value")
        return np.nan
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"column {column}: not a number ({row[column]!r})") from None


def _clock(row: dict, column: str) -> float:
    """Seconds from "01:23:45", "23:45", "01:23:45.6" or a plain number of seconds."""
    text = str(row.get(column, "")).strip()
    if ":" not in text:
        return _number(row, column, required=False)
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        raise ValueError(f"column {column}: not a duration ({text!r})") from None
    return sum(p * 60 ** k for k, p in enumerate(reversed(parts)))


def _when(row: dict, column: str, zone: ZoneInfo, utc: bool) -> pd.Timestamp:
    moment = pd.to_datetime(row.get(column, ""), errors="coerce")
    if pd.isna(moment):
        raise ValueError(f"column {column}: not a date ({row.get(column)!r})")
    if moment.tzinfo is None:
        moment = moment.tz_localize("UTC" if utc else zone)
    return moment


def _positive(value: float, column: str) -> float:
    if not value > 0:
        raise ValueError(f"column {column}: must be a number > 0 ({value})")
    return value


def _project_row(where: str, row: dict, zone: ZoneInfo) -> Activity:
    local = _when(row, "date", zone, utc=False).tz_convert(zone)
    km = _positive(_number(row, "distance_km"), "distance_km")
    seconds = _positive(_number(row, "duration_s"), "duration_s")
    return Activity(where, "csv", local.tz_convert("UTC").to_pydatetime(), km, seconds, seconds,
                    None, "", _number(row, "elevation_gain_m", False),
                    _number(row, "elevation_loss_m", False), _number(row, "avg_hr_bpm", False),
                    local_date=local.date())


def _strava_row(where: str, row: dict, zone: ZoneInfo) -> Activity:
    start = _when(row, "Activity Date", zone, utc=True)  # Strava's export dates are UTC
    if "Distance.1" in row and str(row["Distance.1"]).strip():
        km = _number(row, "Distance.1") / 1000.0
    else:
        km = _number(row, "Distance")
    elapsed = _number(row, "Elapsed Time")
    moving = _number(row, "Moving Time", False) if "Moving Time" in row else np.nan
    label = str(row["Activity Type"])
    return Activity(where, "csv", start.tz_convert("UTC").to_pydatetime(), km,
                    moving if moving > 0 else elapsed, elapsed, sports.family(label) or "other",
                    label, _number(row, "Elevation Gain", False),
                    _number(row, "Elevation Loss", False),
                    _number(row, "Average Heart Rate", False),
                    linked_file=str(row.get("Filename", "")).strip() or None)


def _garmin_row(where: str, row: dict, zone: ZoneInfo) -> Activity:
    start = _when(row, "Date", zone, utc=False)
    km = _number(row, "Distance")
    moving = _clock(row, "Moving Time") if "Moving Time" in row else np.nan
    total = _clock(row, "Time") if "Time" in row else np.nan
    elapsed = _clock(row, "Elapsed Time") if "Elapsed Time" in row else total
    label = str(row["Activity Type"])
    return Activity(where, "csv", start.tz_convert("UTC").to_pydatetime(), km,
                    moving if moving > 0 else total, elapsed, sports.family(label) or "other",
                    label, _number(row, "Total Ascent", False),
                    _number(row, "Total Descent", False), _number(row, "Avg HR", False),
                    local_date=start.tz_convert(zone).date())
