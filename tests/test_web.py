"""The coach's web page (`cramp app`): the form's values -> scenario -> TOML, the page's numbers
equal `cramp simulate` on the downloaded file, bad input gets the CLI's message next to its field
without a traceback (Streamlit's AppTest, no browser), uploads, and `cramp app` itself."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import replace
from pathlib import Path

import matplotlib
import pytest

import cramp
from cramp.web import answer as A
from cramp.web import form as F
from cramp.web import training as T

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "cramp" / "web" / "page.py"
DEFAULTS = F.defaults(cramp.Scenario.load(F.DEFAULT_SCENARIO).document)


@pytest.fixture(scope="module")
def courses():
    return A.shipped_courses()


def test_defaults_are_the_shipped_runner(courses):
    shipped = cramp.Scenario.load(F.DEFAULT_SCENARIO)
    document = F.scenario_document(DEFAULTS, courses)
    for key in ("race", "weather", "runner", "pacing"):  # 80 == 80.0: ints may become floats
        assert document[key] == shipped.document[key]
    assert document["seed"] == shipped.document["seed"]


def test_plans_follow_the_ticks():
    none = replace(DEFAULTS, slower=False, even_pacing=False, taper=False, long_run=False)
    assert F.plans(none) == []
    two = replace(none, slower=True, slower_pct=5.0, earlier=True, earlier_h=1.5, combined=True)
    assert F.plans(two) == [
        {"name": "5% slower pace", "slower_pace_pct": 5.0},
        {"name": "start 1.5 h earlier", "earlier_start_h": 1.5},
        {"name": "all of these together", "slower_pace_pct": 5.0, "earlier_start_h": 1.5}]


def test_pace_target_and_shipped_course(courses):
    label = next(iter(courses))
    hours = ", ".join(f"{h:02d}:00" for h in range(6, 15))
    values = replace(DEFAULTS, course=label, target="6:30", start_time="06:30",
                     ref_time="1:35:00", weather_kind="WBGT", hours=hours, wbgt_c="12, " * 8 + "12")
    scenario, _ = A.build(values, courses)
    assert scenario.spec.course.distance_km == courses[label]["distance_km"]
    assert len(scenario.spec.course.elevation_km) > 2
    assert scenario.spec.runners.target_time_s == pytest.approx(390 * courses[label]["distance_km"])


def test_toml_round_trip_and_text_problems(courses):
    document = F.scenario_document(replace(DEFAULTS, elevation="0 10; 21 60; 42.195 10"), courses)
    assert tomllib.loads(F.to_toml(document, "a header")) == document
    with pytest.raises(cramp.InputError) as caught:
        F.scenario_document(replace(DEFAULTS, temp_c="10, warm", elevation="0 10; x"), courses)
    assert [F.section_of(p) for p in caught.value.problems] == ["race", "race"]
    assert "weather.temp_c: must be numbers separated by commas" in caught.value.problems[1]


def test_page_numbers_equal_cramp_simulate_on_the_downloaded_file(courses, tmp_path):
    # an earlier start needs the forecast from 07:30
    values = replace(DEFAULTS, earlier=True, combined=True, draws=200,
                     hours="07:00, " + DEFAULTS.hours, temp_c="9, " + DEFAULTS.temp_c,
                     rh_pct="85, " + DEFAULTS.rh_pct)
    scenario, toml = A.build(values, courses)
    page = A.answer(scenario, toml, values.draws)
    (tmp_path / "what_if.toml").write_text(page.toml)
    run = subprocess.run([sys.executable, "-m", "cramp.cli", "simulate", "what_if.toml",
                          "--draws", "200", "--json", "--out", "out"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    cli, shown = json.loads(run.stdout), json.loads(page.json)
    assert cli["interventions"] == shown["interventions"]  # every number, exactly
    assert "--draws 200" in page.toml.splitlines()[1]
    assert list(page.table.index) == ["as planned", "3% slower pace", "even pacing",
                                      "14-day taper", "longest run 35 km", "start 1 h earlier",
                                      "all of these together"]
    assert page.csv.splitlines()[0].startswith("plan,what changes,risk of a cramp [%]")
    assert set(page.figures) == {"risk", "time", "onset"}
    assert all(png.startswith(b"\x89PNG") for png in page.figures.values())
    pace = page.pace_plans["as planned"].splitlines()
    assert pace[0].startswith("from [km],to [km],split [s],pace [min/km]")
    assert pace[-1].split(",")[4] == "3:30:00"  # the target time at the finish
    assert page.provenance["seed"] == "4" and page.provenance["draws"] == "200"


def test_training_upload_fills_the_runner():
    day = "2024-05-01"
    rows = ["date,distance_km,duration_s"] + [
        f"2024-04-{d:02d},{km},{km * 330}" for d, km in ((2, 12), (6, 32), (10, 21.1), (14, 15),
                                                        (20, 10), (25, 8))]
    profiled = T.profile_upload([("runs.csv", "\n".join(rows).encode())],
                                __import__("datetime").date.fromisoformat(day), 42.195)
    assert profiled.fields["longest_run_km"] == 32.0
    assert profiled.fields["taper_days"] >= 5
    assert any("runs imported" in line for line in profiled.report)


def test_corrupt_uploads_get_the_cli_messages(tmp_path):
    zipped = tmp_path / "export.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("a.fit", b"not a fit file at all")
    with pytest.raises(cramp.InputError, match="export.zip: no readable runs"):
        T.profile_upload([("export.zip", zipped.read_bytes())],
                         __import__("datetime").date(2024, 5, 1), 42.195)
    with pytest.raises(cramp.InputError, match="junk.nc: not a netCDF file from `cramp fit`"):
        T.posterior_upload("junk.nc", b"garbage" * 20)
    import numpy as np
    import xarray as xr

    xr.Dataset({"a": ("x", np.arange(3.0))}).to_netcdf(tmp_path / "d.nc", engine="h5netcdf")
    with pytest.raises(cramp.InputError, match="d.nc: has no posterior group: not a `cramp fit`"):
        T.posterior_upload("d.nc", (tmp_path / "d.nc").read_bytes())
    # the command line says the same
    run = subprocess.run([sys.executable, "-m", "cramp.cli", "simulate", "goal_marathon_runner",
                          "--posterior", tmp_path / "d.nc", "--out", tmp_path / "o",
                          "--draws", "50"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "has no posterior group" in run.stderr


# --- the page itself, through Streamlit's AppTest (no browser) ---------------------------------

streamlit_testing = pytest.importorskip("streamlit.testing.v1", reason="Streamlit not installed "
                                        "(uv sync installs it with the dev group)")


def page_after(changes: dict | None = None):
    at = streamlit_testing.AppTest.from_file(str(PAGE), default_timeout=120)
    at.run()
    assert not at.exception
    for key, value in (changes or {}).items():
        widget = next(w for kind in ("text_input", "number_input", "checkbox", "slider",
                                     "select_slider", "selectbox", "radio")
                      for w in getattr(at, kind) if w.key == key)
        widget.set_value(value)
    at.session_state["draws"] = 200
    next(b for b in at.button if b.label == "Compare the plans").click()
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def default_page():
    return page_after()


def headline_risk(at) -> int:
    (header,) = [h.value for h in at.header if "Risk of a cramp" in h.value]
    return int(header.rsplit(" ", 1)[1].rstrip("%"))


def test_default_submit_shows_the_comparison(default_page):
    at = default_page
    assert headline_risk(at) > 0
    (table,) = at.dataframe
    assert table.value.index[0] == "as planned"
    assert "risk of a cramp [%]" in table.value.columns
    assert any("As planned, the chance of a cramp is" in m.value for m in at.markdown)
    assert not at.error


def test_a_faster_target_raises_the_headline_risk(default_page):
    faster = page_after({"target": "3:15:00"})
    assert headline_risk(faster) > headline_risk(default_page)


@pytest.mark.parametrize(("changes", "message"), [
    ({"target": "2:40:00"}, "faster than the runner's recent result predicts"),
    ({"hours": "08:00, 09:00, 10:00", "temp_c": "10, 11, 12", "rh_pct": "80, 75, 70"},
     "weather.hours: must cover the race"),
    ({"temp_c": "10, 11, twelve"}, "weather.temp_c: must be numbers separated by commas"),
    ({"ref_time": "1h42"}, "runner.ref_time: must be a duration 'H:MM:SS'"),
    ({"model": "a posterior from `cramp fit` (.nc file)"}, "posterior: upload the .nc file"),
])
def test_bad_input_shows_its_message_without_a_traceback(changes, message):
    at = page_after(changes)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert not at.exception
    assert not [h for h in at.header if "Risk of a cramp" in h.value]
    assert at.button  # the form is still there to fix the field


def test_cramp_app_says_how_to_get_streamlit_when_missing(tmp_path):
    blocker = tmp_path / "streamlit.py"
    blocker.write_text("raise ImportError('blocked for the test')\n")
    run = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]);"
                          "from cramp.cli import main; sys.argv = ['cramp', 'app']; main()",
                          str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "uv run --extra web cramp app" in run.stderr and "Traceback" not in run.stderr
