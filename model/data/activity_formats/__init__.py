"""Activity files in every format, decoded to one record: :class:`Activity`.

Definitions shared by all formats (the README's profile section repeats them):

- ``distance_km``: the 2-D distance as the platforms report it. FIT: the session's
  total_distance (the device's figure); TCX: the sum of the laps' DistanceMeters (the device's or
  platform's figure), the track's 2-D length when the laps have none; GPX: the 2-D length of the
  track (gpxpy's ``length_2d`` rule); summary CSVs: their distance column.
- ``moving_s`` (the duration used for pace and load): FIT total_timer_time, TCX the laps'
  TotalTimeSeconds, GPX the moving time (points more than 1 km/h apart), summary CSVs their moving
  time column (Strava ``Moving Time``, Garmin ``Moving Time`` or ``Time``).
- ``elapsed_s``: first to last timestamp (FIT total_elapsed_time), kept alongside.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from model.data.activity_formats import sports
from model.data.activity_formats.fit import FitError, fit_time, read_fit
from model.data.activity_formats.xml_tracks import TrackFileError, read_gpx, read_tcx

FORMATS = (".fit", ".gpx", ".tcx", ".csv")
# keep the richest export of a run seen twice: device files first, summaries last
PREFERENCE = {"fit": 0, "tcx": 1, "gpx": 2, "csv": 3}
MAX_LOCAL_OFFSET_S = 14 * 3600  # time zones span UTC-12..UTC+14


@dataclass
class Activity:
    """One activity as read from a file (units in the names)."""

    source: str  # the file (inside zips: zip/member), "#n" for the n-th activity in a file
    fmt: str  # fit, gpx, tcx or csv
    start_utc: dt.datetime | None
    distance_km: float
    moving_s: float
    elapsed_s: float
    sport: str | None  # family (sports.py); None when the file does not say
    sport_label: str  # the file's own words
    gain_m: float | None = None
    loss_m: float | None = None
    avg_hr_bpm: float | None = None
    timed_points: int | None = None  # GPX/TCX trackpoints with a time
    utc_offset_s: int | None = None  # the file's own local-time offset (FIT activity message)
    local_date: dt.date | None = None  # CSV rows that give a local date only
    linked_file: str | None = None  # summary CSV rows: the activity file the row describes


@dataclass
class LeftOut:
    """A file, activity or CSV row that is not imported, and why (reason is one of REASONS)."""

    source: str
    reason: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


REASONS = ("not a run", "implausible", "duplicate", "damaged", "empty", "unsupported format",
           "bad row")


@dataclass
class Decoded:
    activities: list[Activity] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def decode(name: str, kind: str, data: bytes) -> Decoded:
    """The activities in one FIT, GPX or TCX file's bytes. Raises ValueError (FitError,
    TrackFileError) with the reason when the file cannot be read."""
    if not data.strip():
        raise EmptyFileError("empty file")
    if kind == ".fit":
        return _from_fit(name, data)
    if kind == ".gpx":
        a = read_gpx(data)
        return Decoded([_from_track(name, "gpx", a)])
    if kind == ".tcx":
        found = read_tcx(data)
        return Decoded([_from_track(f"{name}#{i + 1}" if len(found) > 1 else name, "tcx", a)
                        for i, a in enumerate(found)])
    raise ValueError(f"no reader for {kind}")


class EmptyFileError(ValueError):
    """A file with no content."""


def _from_fit(name: str, data: bytes) -> Decoded:
    content = read_fit(data)
    from garmin_fit_sdk import Profile  # the FIT profile's names for sport numbers

    names = Profile["types"]
    offset = None
    for a in content.activities:
        if "local_timestamp" in a and "timestamp" in a:
            candidate = int(a["local_timestamp"] - a["timestamp"])
            if abs(candidate) <= MAX_LOCAL_OFFSET_S:  # else one of the two clocks was not set
                offset = candidate
    default_sport = content.sports[0] if content.sports else {}
    out = Decoded(notes=[f"{name}: {n}" for n in content.notes])
    for i, s in enumerate(content.sessions):
        source = f"{name}#{i + 1}" if len(content.sessions) > 1 else name
        sport = names["sport"].get(s.get("sport", default_sport.get("sport")))
        sub = names["sub_sport"].get(s.get("sub_sport", default_sport.get("sub_sport")))
        label = sport if sub in (None, "generic") else f"{sport}/{sub}"
        moving = s.get("total_timer_time", s.get("total_elapsed_time", float("nan")))
        out.activities.append(Activity(
            source, "fit", fit_time(s.get("start_time", s.get("timestamp"))),
            s.get("total_distance", 0.0) / 1000.0, moving,
            s.get("total_elapsed_time", moving), sports.fit_family(sport, sub), str(label),
            s.get("total_ascent"), s.get("total_descent"), s.get("avg_heart_rate"),
            utc_offset_s=offset))
    return out


def _from_track(name: str, fmt: str, a) -> Activity:
    s = a.summary
    return Activity(name, fmt, s.start, a.distance_m / 1000.0, a.moving_s, s.elapsed_s,
                    sports.family(a.sport_label), a.sport_label or "", s.gain_m, s.loss_m,
                    a.avg_hr, s.timed_points)


__all__ = ["Activity", "Decoded", "EmptyFileError", "FitError", "LeftOut", "TrackFileError",
           "decode"]
