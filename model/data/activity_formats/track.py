"""Distance, moving time, elapsed time and climb of a recorded track (GPX and TCX trackpoints):
one definition for every XML format.

- distance: the 2-D length (positions only, no elevation), summed within segments (a gap between
  segments or tracks is not travelled), as Strava and Garmin report it and as gpxpy's
  ``length_2d`` computes it: a flat-earth step for points less than 0.2 degrees apart, haversine
  beyond, on a sphere of radius 6378.137 km.
- moving time: the time between consecutive timed points of a segment whose 2-D speed is above
  1 km/h (gpxpy's ``get_moving_data`` threshold); pauses, stops and gaps between segments are
  left out. This is the counterpart of a FIT file's timer time.
- elapsed time: last timed point minus first, whatever happened between.
- climb/descent: elevations smoothed 0.3/0.4/0.3 over neighbours (as gpxpy), rises and falls
  summed within segments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_M = 6378137.0
ONE_DEGREE_M = 2 * np.pi * EARTH_RADIUS_M / 360
STOPPED_KMH = 1.0  # at or below this speed between two points the runner is stopped


@dataclass
class Segment:
    """Points of one continuous recording; NaN where a value is missing. Times in s since the
    Unix epoch (UTC), latitude/longitude in degrees, elevation in m."""

    lat: np.ndarray
    lon: np.ndarray
    ele: np.ndarray
    t: np.ndarray


@dataclass
class TrackSummary:
    distance_m: float
    moving_s: float
    elapsed_s: float
    start: dt.datetime | None
    gain_m: float
    loss_m: float
    timed_points: int
    points: int


def step_lengths(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """2-D distance [m] between consecutive points (gpxpy's rule, vectorised)."""
    lat1, lat2, lon1, lon2 = lat[:-1], lat[1:], lon[:-1], lon[1:]
    flat = np.hypot(lat1 - lat2, (lon1 - lon2) * np.cos(np.radians(lat1))) * ONE_DEGREE_M
    far = (np.abs(lat1 - lat2) > 0.2) | (np.abs(lon1 - lon2) > 0.2)
    if far.any():
        p1, p2 = np.radians(lat1), np.radians(lat2)
        a = np.sin((p1 - p2) / 2) ** 2 + np.sin(np.radians(lon1 - lon2) / 2) ** 2 * np.cos(
            p1) * np.cos(p2)
        flat = np.where(far, 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a)), flat)
    return flat


def climb(ele: np.ndarray) -> tuple[float, float]:
    """Ascent and descent [m] of one segment's elevations (NaN dropped, gpxpy's smoothing)."""
    e = ele[~np.isnan(ele)]
    if len(e) < 2:
        return 0.0, 0.0
    smooth = e.copy()
    smooth[1:-1] = 0.3 * e[:-2] + 0.4 * e[1:-1] + 0.3 * e[2:]
    d = np.diff(smooth)
    return float(d[d > 0].sum()), float(-d[d < 0].sum())


def summarise(segments: list[Segment]) -> TrackSummary:
    """The track's figures by the definitions in this module's docstring."""
    distance = moving = gain = loss = 0.0
    times, points = [], 0
    for s in segments:
        points += len(s.t)
        if len(s.t) == 0:
            continue
        up, down = climb(s.ele)
        gain, loss = gain + up, loss + down
        timed = s.t[~np.isnan(s.t)]
        if len(timed):
            times.append((timed.min(), timed.max(), len(timed)))
        if len(s.t) < 2:
            continue
        positioned = ~(np.isnan(s.lat) | np.isnan(s.lon))
        lat, lon, t = s.lat[positioned], s.lon[positioned], s.t[positioned]
        if len(lat) < 2:
            continue
        step = step_lengths(lat, lon)
        distance += float(step.sum())
        dt_s = np.diff(t)
        with np.errstate(invalid="ignore", divide="ignore"):
            kmh = step / dt_s * 3.6
        moving += float(dt_s[(dt_s > 0) & (step > 0) & (kmh > STOPPED_KMH)].sum())
    if not times:
        return TrackSummary(distance, 0.0, 0.0, None, gain, loss, 0, points)
    first, last = min(t[0] for t in times), max(t[1] for t in times)
    return TrackSummary(distance, moving, float(last - first),
                        dt.datetime.fromtimestamp(first, dt.UTC), gain, loss,
                        sum(t[2] for t in times), points)


def parse_times(texts: list[str | None]) -> np.ndarray:
    """ISO 8601 times (UTC if no offset is given, as GPX and TCX specify) as s since the Unix
    epoch; NaN where missing or unreadable."""
    out = np.full(len(texts), np.nan)
    plain = [i for i, x in enumerate(texts) if x and x.endswith("Z") and len(x) >= 19]
    if plain:  # the common case, parsed in one go by numpy
        stamps = np.array([texts[i][:-1] for i in plain], dtype="datetime64[ms]")
        out[plain] = stamps.astype("int64") / 1000.0
    for i, x in enumerate(texts):
        if x and not (x.endswith("Z") and len(x) >= 19):
            try:
                moment = dt.datetime.fromisoformat(x.strip())
            except ValueError:
                continue
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            out[i] = moment.timestamp()
    return out
