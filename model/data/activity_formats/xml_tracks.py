"""GPX and TCX files, parsed with the standard library's ElementTree (namespaces taken from the
root element, so GPX 1.0, GPX 1.1 and TCX v2 all read).

GPX has no summary: distance and moving time come from the track (see track.py). The sport is the
``<trk><type>`` text (Garmin Connect words, Strava numbers); a file's tracks are one activity.

TCX holds laps with the device's own figures: distance is the sum of the laps' DistanceMeters and
moving time the sum of their TotalTimeSeconds (the timer time, like FIT); the track gives them
when the laps do not (and gives the elapsed time and the climb). Each ``<Activity>`` is one
activity;
its ``Sport`` attribute is Running, Biking or Other.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np

from model.data.activity_formats.track import Segment, TrackSummary, parse_times, summarise


class TrackFileError(ValueError):
    """Not a readable GPX/TCX file (the message says why)."""


@dataclass
class XmlActivity:
    sport_label: str | None
    summary: TrackSummary
    distance_m: float  # the file's own figure when it has one, else the track's
    moving_s: float
    avg_hr: float | None


def _root(data: bytes) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise TrackFileError(f"not well-formed XML ({exc})") from None


def _namespace(tag: str) -> str:
    return tag[: tag.index("}") + 1] if tag.startswith("{") else ""


def _float(text: str | None) -> float:
    try:
        return float(text) if text is not None else np.nan
    except ValueError:
        return np.nan


def read_gpx(data: bytes) -> XmlActivity:
    """The one activity a GPX file's tracks hold."""
    root = _root(data)
    ns = _namespace(root.tag)
    if root.tag != ns + "gpx":
        raise TrackFileError(f"root element is <{root.tag[len(ns):]}>, not <gpx>")
    time_tag, ele_tag, ext_tag = ns + "time", ns + "ele", ns + "extensions"
    segments, labels, hrs = [], [], []
    for track in root.iter(ns + "trk"):
        kind = track.findtext(ns + "type")
        for seg in track.iter(ns + "trkseg"):
            lat, lon, ele, times = [], [], [], []
            for pt in seg.iter(ns + "trkpt"):
                lat.append(_float(pt.get("lat")))
                lon.append(_float(pt.get("lon")))
                e = t = None
                for child in pt:
                    if child.tag == time_tag:
                        t = child.text
                    elif child.tag == ele_tag:
                        e = child.text
                    elif child.tag == ext_tag:
                        hrs.extend(_float(x.text) for x in child.iter() if x.tag.endswith("}hr"))
                ele.append(_float(e))
                times.append(t.strip() if t else None)
            if lat:
                segments.append(Segment(np.array(lat), np.array(lon), np.array(ele),
                                        parse_times(times)))
                if kind and kind.strip():
                    labels.append(kind.strip())
    if not segments:
        raise TrackFileError("no track points (a route or waypoints only?)")
    summary = summarise(segments)
    hr = float(np.nanmean(hrs)) if hrs and not np.all(np.isnan(hrs)) else None
    return XmlActivity(labels[0] if labels else None, summary, summary.distance_m,
                       summary.moving_s, hr)


def course_points(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Latitude, longitude [degrees], elevation [m] (NaN where missing) and segment number of a
    GPX course's points in order: its tracks' segments, or, for a planned route, the route."""
    root = _root(data)
    ns = _namespace(root.tag)
    if root.tag != ns + "gpx":
        raise TrackFileError(f"root element is <{root.tag[len(ns):]}>, not <gpx>")
    parts = [list(seg.iter(ns + "trkpt")) for seg in root.iter(ns + "trkseg")]
    parts = [p for p in parts if p] or [list(root.iter(ns + "rtept"))]
    points = [p for part in parts for p in part]
    if not points:
        raise TrackFileError("no track or route points")
    lat = np.array([_float(p.get("lat")) for p in points])
    lon = np.array([_float(p.get("lon")) for p in points])
    ele = np.array([_float(p.findtext(ns + "ele")) for p in points])
    segment = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    return lat, lon, ele, segment


def read_tcx(data: bytes) -> list[XmlActivity]:
    """Every ``<Activity>`` of a TCX file."""
    root = _root(data)
    ns = _namespace(root.tag)
    if root.tag != ns + "TrainingCenterDatabase":
        raise TrackFileError(f"root element is <{root.tag[len(ns):]}>, not "
                             f"<TrainingCenterDatabase>")
    found = []
    for activity in root.iter(ns + "Activity"):
        laps = activity.findall(ns + "Lap")
        lap_m = float(np.nansum([_float(lap.findtext(ns + "DistanceMeters")) for lap in laps]))
        lap_s = [_float(lap.findtext(ns + "TotalTimeSeconds")) for lap in laps]
        lap_hr = [_float(lap.findtext(f"{ns}AverageHeartRateBpm/{ns}Value")) for lap in laps]
        segments, hrs = [], []
        for track in activity.iter(ns + "Track"):
            lat, lon, ele, times = [], [], [], []
            for pt in track.iter(ns + "Trackpoint"):
                lat.append(_float(pt.findtext(f"{ns}Position/{ns}LatitudeDegrees")))
                lon.append(_float(pt.findtext(f"{ns}Position/{ns}LongitudeDegrees")))
                ele.append(_float(pt.findtext(ns + "AltitudeMeters")))
                times.append(pt.findtext(ns + "Time"))
                hrs.append(_float(pt.findtext(f"{ns}HeartRateBpm/{ns}Value")))
            if times:
                segments.append(Segment(np.array(lat), np.array(lon), np.array(ele),
                                        parse_times([t.strip() if t else None for t in times])))
        summary = summarise(segments)
        moving = float(np.nansum(lap_s)) if laps and not np.all(np.isnan(lap_s)) else \
            summary.moving_s
        weights = np.array(lap_s)
        hr_laps = np.array(lap_hr)
        use = ~np.isnan(hr_laps) & ~np.isnan(weights) & (weights > 0)
        if use.any():
            hr = float(np.average(hr_laps[use], weights=weights[use]))
        else:
            hr = float(np.nanmean(hrs)) if hrs and not np.all(np.isnan(hrs)) else None
        if summary.start is None and laps and laps[0].get("StartTime"):
            start_t = parse_times([laps[0].get("StartTime")])[0]
            if not np.isnan(start_t):
                summary.start = _utc(start_t)
        distance = lap_m if lap_m > 0 else summary.distance_m
        found.append(XmlActivity(activity.get("Sport"), summary, distance, moving, hr))
    if not found:
        raise TrackFileError("no <Activity> (a course or workout file?)")
    return found


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
