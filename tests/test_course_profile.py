"""A course from a GPX file: distance and elevation profile as a scenario's [race] takes them,
checked against gpxpy (an independent reader) on a real, openly licensed track
(tests/data/real_activities/README.md), and used by the web page's form."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import gpxpy
import numpy as np
import pytest

import cramp
from cramp.web import answer as A
from cramp.web import form as F
from cramp.web import training as T

REAL = Path(__file__).parent / "data" / "real_activities"
ROUTE = b"""<?xml version="1.0"?>
<gpx version="1.1" creator="planner" xmlns="http://www.topografix.com/GPX/1/1"><rte>
<rtept lat="46.0" lon="14.0"><ele>100</ele></rtept>
<rtept lat="46.009" lon="14.0"><ele>150</ele></rtept>
<rtept lat="46.018" lon="14.0"><ele>100</ele></rtept>
</rte></gpx>"""


def test_a_real_multi_track_course_agrees_with_gpxpy():
    path = REAL / "korita-zbevnica.gpx"
    gpx = gpxpy.parse(path.read_text())
    points = [p for t in gpx.tracks for s in t.segments for p in s.points]
    course = cramp.course_from_gpx(path)
    # 2-D, within recorded segments, as gpxpy's length_2d (the jumps between tracks left out)
    assert course["distance_km"] == pytest.approx(gpx.length_2d() / 1000, rel=1e-3)
    km, metres = np.array(course["elevation_m"]).T
    assert km[0] == 0 and km[-1] == course["distance_km"] and np.all(np.diff(km) > 0)
    assert metres[0] == pytest.approx(points[0].elevation, abs=0.5)
    assert metres[-1] == pytest.approx(points[-1].elevation, abs=0.5)
    elevations = [p.elevation for p in points]
    assert min(elevations) - 0.5 <= metres.min() and metres.max() <= max(elevations) + 0.5


def test_a_planned_route_is_a_course_and_its_profile_is_interpolated():
    course = cramp.course_from_gpx(ROUTE, name="route.gpx", step_km=0.5)
    # 0.009 degrees of latitude ~ 1.0 km each leg
    assert course["distance_km"] == pytest.approx(2.0, rel=0.01)
    km, metres = np.array(course["elevation_m"]).T
    assert metres[0] == 100 and metres[-1] == 100 and metres.max() == pytest.approx(150, abs=3)


@pytest.mark.parametrize("data, message", [
    (b"hello", "not a readable GPX course"),
    (ROUTE.replace(b"<ele>100</ele>", b"").replace(b"<ele>150</ele>", b""), "no elevations"),
    (b'<gpx xmlns="http://www.topografix.com/GPX/1/1"><wpt lat="1" lon="2"/></gpx>',
     "no track or route points"),
])
def test_a_file_that_is_not_a_course_says_why_and_names_it(data, message):
    with pytest.raises(cramp.InputError, match=message) as caught:
        cramp.course_from_gpx(data, name="upload.gpx")
    assert str(caught.value).startswith("upload.gpx: ")


def test_the_page_reads_a_course_file_into_a_scenario_that_runs():
    fields = T.course_upload("korita-zbevnica.gpx", (REAL / "korita-zbevnica.gpx").read_bytes())
    assert fields["course"] == F.FLAT and fields["elevation"].startswith("0 ")
    template = cramp.Scenario.load(F.DEFAULT_SCENARIO).document
    values = replace(F.defaults(template), **fields, target="6:00", draws=100)  # 6:00 min/km
    scenario, toml = A.build(values, A.shipped_courses())
    assert f"distance_km = {fields['distance_km']}" in toml
    risk = scenario.run(draws=100).comparison["interventions"][0]["risk"]["mean"]
    assert 0 < risk < 1
