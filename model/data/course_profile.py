"""A race course from a GPX file of the course, as race websites and route planners publish it (a
track or a route): its distance and elevation profile in the form a scenario's `[race]` takes
(`distance_km`, `elevation_m` = [[km, m], ...])."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.data.activity_formats.track import step_lengths
from model.data.activity_formats.xml_tracks import TrackFileError, course_points
from model.errors import InputError

#: spacing of the profile's points [km]: finer than the simulator's 1 km segments, coarse
#: enough that GPS elevation noise between neighbouring points averages out
PROFILE_STEP_KM = 0.25


def course_from_gpx(source: str | Path | bytes, *, name: str = "course.gpx",
                    step_km: float = PROFILE_STEP_KM) -> dict:
    """{"distance_km", "elevation_m"} of the course in a GPX file (a path, or its bytes with
    `name` for messages). Distance is 2-D along the points (as the activity reader measures it),
    within each recorded segment (a jump between segments is not counted), elevation linearly
    interpolated every `step_km` km, rounded to 1 m. InputError when the file
    is not GPX, has fewer than two points, or no elevations."""
    if isinstance(source, str | Path):
        name = str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise InputError(f"{name}: cannot read the course file ({exc.strerror})") from None
    else:
        data = source
    try:
        lat, lon, ele, segment = course_points(data)
    except TrackFileError as exc:
        raise InputError(f"{name}: not a readable GPX course ({exc})") from None
    placed = np.isfinite(lat) & np.isfinite(lon)
    lat, lon, ele, segment = lat[placed], lon[placed], ele[placed], segment[placed]
    if lat.size < 2:
        raise InputError(f"{name}: a course needs at least two points with a position")
    # the jump between two recorded segments is not distance run (as in the activity reader)
    steps = np.where(np.diff(segment) == 0, step_lengths(lat, lon), 0.0)
    km = np.concatenate([[0.0], np.cumsum(steps)]) / 1000.0
    known = np.isfinite(ele)
    if known.sum() < 2:
        raise InputError(f"{name}: the course has no elevations (<ele>); give the profile as "
                         "[km, metres] points instead")
    distance_km = float(km[-1])
    if distance_km <= 0:
        raise InputError(f"{name}: the course's points are all at one place")
    grid = np.unique(np.append(np.arange(0.0, distance_km, step_km), distance_km))
    # np.interp needs increasing km: where a segment jump repeats a km, its last point counts
    last = np.append(np.diff(km[known]) > 0, True)
    metres = np.interp(grid, km[known][last], ele[known][last])
    return {"distance_km": round(distance_km, 3),
            "elevation_m": [[round(float(k), 3), round(float(m))] for k, m in zip(
                grid, metres, strict=True)]}
