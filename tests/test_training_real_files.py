"""Training logs from real device and app files (tests/data/real_activities, truths derived
there with other libraries), and exports assembled from them as coaches receive them: a Garmin-
style zip with a nested zip and .gz members, a Strava-style activities/<id>.fit.gz layout with its
activities.csv. Every file left out must be listed with its reason."""

import datetime as dt
import gzip
import io
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from model.data.activities import read_training_log
from model.data.activity_formats import decode
from model.data.activity_rules import drop_duplicates
from model.data.training_load import runner_profile

REAL = Path(__file__).parent / "data" / "real_activities"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

# (distance km, moving s, elapsed s, start UTC) from the data README's independent truths
TRUTHS = {
    "2013-02-06-12-11-14.fit": (4.83538, 2625.14, 2625.14, "2013-02-06 12:11:14"),
    "activity-small-fenix2-run.fit": (9.00822, 2832.0, 2832.0, "2015-08-15 14:45:08"),
    "strava-android-app-201.10-b1218918.fit": (11.27404, 3558.0, 3558.0, "2021-09-27 14:13:10"),
    "test.tcx": (4.68924, 1992.78, 1992.0, "2012-12-26 21:29:53"),
    "korita-zbevnica.gpx": (14.91375, 7084.0, 13381.0, "2010-10-03 09:36:30"),
}
LEFT_OUT = {
    "2015-10-13-08-43-15.fit": "not a run (cycling)",
    "garmin-edge-820-bike.fit": "not a run (cycling: cycling/commuting)",
    "garmin-fenix-5-walk.fit": "not a run (walking)",
    "sup_activity_1.tcx": "not a run (other: Other)",
    "garmin-fenix-5-run.fit": "implausible (57 s of moving time (at least 2 min needed))",
    "compressed-speed-distance.fit": "implausible (dated 1990-07-18, before 2000: the device "
                                     "clock was not set)",
    "Mojstrovka.gpx": "implausible (dated 1901-12-13, before 2000)",
    "around-visnjan-with-car.gpx": "implausible (32.0 km/h average (2.74 km in 308 s); a run is "
                                   "1.5-25 km/h)",
    "activity-activity-filecrc.fit#1": "implausible (0.01 km (at least 0.1 km needed))",
    "activity-activity-filecrc.fit#2": "implausible (0.01 km (at least 0.1 km needed))",
}


def left_out(log) -> dict[str, str]:
    return {x.source: str(x).removeprefix(f"{x.source}: ") for x in log.left_out}


def test_real_files_give_the_independent_truths_and_every_reason():
    log = read_training_log(REAL, tz="UTC", now=NOW)
    runs = log.activities.set_index("source")
    assert sorted(runs.index) == sorted(TRUTHS)
    for name, (km, moving, elapsed, start) in TRUTHS.items():
        row = runs.loc[name]
        assert row["distance_km"] == pytest.approx(km, abs=1e-4), name
        assert row["duration_s"] == pytest.approx(moving, abs=0.01), name
        assert row["elapsed_s"] == pytest.approx(elapsed, abs=0.01), name
        assert row["start_utc"] == pd.Timestamp(start, tz="UTC"), name
    # README.md is not an activity file, and the log says so
    assert left_out(log) == {**LEFT_OUT, "README.md": "unsupported format (.md)"}
    assert log.counts() == {"not a run": 4, "implausible": 6, "unsupported format": 1}
    assert log.files_read == 15 and len(log.skipped) == 11
    # files read despite a defect say so
    notes = "\n".join(log.notes)
    assert "strava-android-app-201.10-b1218918.fit: header data size 78236 runs past" in notes


def test_fit_reader_agrees_with_garmins_sdk_on_every_real_session():
    from garmin_fit_sdk import Decoder, Stream

    for path in sorted(REAL.glob("*.fit")):
        data = path.read_bytes()
        messages, _ = Decoder(Stream.from_byte_array(bytearray(data))).read()
        ours = decode(path.name, ".fit", data).activities
        theirs = messages["session_mesgs"]
        assert len(ours) == len(theirs), path.name
        for a, s in zip(ours, theirs, strict=True):
            assert a.distance_km == pytest.approx(s.get("total_distance", 0) / 1000), path.name
            assert a.moving_s == pytest.approx(s["total_timer_time"]), path.name
            assert a.start_utc == s["start_time"], path.name


def test_files_own_local_offset_beats_tz_and_tz_is_used_otherwise(tmp_path):
    for name in ("activity-small-fenix2-run.fit", "2013-02-06-12-11-14.fit"):
        shutil.copy(REAL / name, tmp_path / name)
    log = read_training_log(tmp_path, tz="Pacific/Kiritimati", now=NOW)  # UTC+14
    days = dict(zip(log.activities["source"], log.activities["local_date"], strict=True))
    assert days["activity-small-fenix2-run.fit"] == dt.date(2015, 8, 15)  # file: UTC+2
    assert days["2013-02-06-12-11-14.fit"] == dt.date(2013, 2, 7)  # no offset: --tz


def _gz(path: Path) -> bytes:
    return gzip.compress(path.read_bytes())


def garmin_style_export(target: Path) -> Path:
    """An account export: a zip holding a zip of uploaded files, .gz members and other things."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        for name in ("2013-02-06-12-11-14.fit", "2015-10-13-08-43-15.fit",
                     "garmin-fenix-5-walk.fit"):
            z.write(REAL / name, name)
    with zipfile.ZipFile(target, "w") as z:
        z.writestr("DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip",
                   inner.getvalue())
        for name in ("activity-small-fenix2-run.fit", "test.tcx", "korita-zbevnica.gpx"):
            z.writestr(f"runs/{name}.gz", _gz(REAL / name))
        # the same run again, uncompressed in another folder: a duplicate
        z.write(REAL / "activity-small-fenix2-run.fit", "runs/copy/activity-small-fenix2-run.fit")
        z.write(REAL / "around-visnjan-with-car.gpx", "runs/around-visnjan-with-car.gpx")
        z.writestr("runs/broken.fit.gz", b"\x1f\x8b this is not gzip")
        z.writestr("DI_CONNECT/user_profile.json", b"{}")
        z.writestr("__MACOSX/runs/._test.tcx.gz", b"\x00\x05")
    return target


def test_garmin_style_zip_with_nested_zip_and_gz_members(tmp_path):
    log = read_training_log(garmin_style_export(tmp_path / "export.zip"), now=NOW)
    nested = "export.zip/DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip"
    assert sorted(log.activities["source"]) == [
        f"{nested}/2013-02-06-12-11-14.fit", "export.zip/runs/activity-small-fenix2-run.fit.gz",
        "export.zip/runs/korita-zbevnica.gpx.gz", "export.zip/runs/test.tcx.gz"]
    assert left_out(log) == {
        f"{nested}/2015-10-13-08-43-15.fit": "not a run (cycling)",
        f"{nested}/garmin-fenix-5-walk.fit": "not a run (walking)",
        "export.zip/runs/around-visnjan-with-car.gpx": LEFT_OUT["around-visnjan-with-car.gpx"],
        "export.zip/runs/copy/activity-small-fenix2-run.fit": "duplicate (of export.zip/runs/"
        "activity-small-fenix2-run.fit.gz: same start and distance)",
        "export.zip/runs/broken.fit.gz": "damaged (not a readable .gz (Unknown compression "
                                         "method))",
        "export.zip/DI_CONNECT/user_profile.json": "unsupported format (.json)",
        "export.zip/__MACOSX/runs/._test.tcx.gz": "unsupported format (macOS metadata, not an "
                                                  "activity)",
    }
    assert log.summary() == ("4 runs imported from 11 files; left out: 2 not a run, "
                             "1 implausible, 1 duplicate, 1 damaged, 2 unsupported format")
    p = runner_profile(log.activities, dt.date(2015, 9, 1), 21.0975)
    assert p.longest_run_km == pytest.approx(9.00822) and p.n_runs == 4
    assert p.ref_date == dt.date(2015, 8, 15)  # the only run in the 12 weeks before the race


STRAVA_CSV = """Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,\
Elapsed Time,Distance,Max Heart Rate,Relative Effort,Commute,Activity Private Note,Activity Gear,\
Filename,Athlete Weight,Bike Weight,Elapsed Time,Moving Time,Distance,Max Speed
101,"Aug 15, 2015, 2:45:08 PM",Lunch Run,Run,,2832,9.01,,,false,,,activities/101.fit.gz,,,2832.0,\
2832.0,9008.2,4.1
102,"Oct 13, 2015, 3:43:15 PM",Ride,Ride,,1623,11.54,,,false,,,activities/102.fit.gz,,,1623.0,\
1558.0,11536.4,9.0
103,"Oct 3, 2010, 9:36:30 AM",Korita,Hike,,13381,14.91,,,false,,,activities/103.gpx.gz,,,13381.0,\
7084.0,14913.7,2.0
104,"Aug 22, 2015, 6:00:00 AM",Long run (watch forgotten),Run,,5400,16.0,,,false,,,,,,5400.0,\
5400.0,16000.0,
105,"Dec 26, 2012, 9:29:53 PM",Morning Run,Run,,1992,4.69,,,false,,,activities/105.tcx.gz,,,\
1992.0,1992.0,4689.2,4.5
106,"Aug 29, 2015, 6:00:00 AM",Tempo,Run,,2400,abc,,,false,,,,,,2400.0,2400.0,,
"""


def strava_style_export(root: Path) -> Path:
    (root / "activities").mkdir(parents=True)
    (root / "activities.csv").write_text(STRAVA_CSV)
    (root / "activities" / "101.fit.gz").write_bytes(_gz(REAL / "activity-small-fenix2-run.fit"))
    (root / "activities" / "102.fit.gz").write_bytes(_gz(REAL / "2015-10-13-08-43-15.fit"))
    (root / "activities" / "103.gpx.gz").write_bytes(_gz(REAL / "korita-zbevnica.gpx"))
    (root / "activities" / "105.tcx.gz").write_bytes(_gz(REAL / "test.tcx"))
    (root / "profile.csv").write_text("Athlete ID,Email Address\n1,a@b.c\n")
    return root


def test_strava_style_layout_with_activities_csv(tmp_path):
    log = read_training_log(strava_style_export(tmp_path / "strava"), tz="Europe/Berlin",
                            now=NOW)
    runs = log.activities.set_index("source")
    assert sorted(runs.index) == ["activities.csv row 4", "activities/101.fit.gz",
                                  "activities/105.tcx.gz"]
    # the manual entry (no file) comes from the CSV: metres column, moving time, UTC date
    manual = runs.loc["activities.csv row 4"]
    assert manual["distance_km"] == 16.0 and manual["duration_s"] == 5400.0
    assert manual["local_date"] == dt.date(2015, 8, 22)
    assert left_out(log) == {
        "activities/102.fit.gz": "not a run (cycling: Ride (Strava))",
        # the athlete called the GPX a hike on Strava; the file itself does not say
        "activities/103.gpx.gz": "not a run (hiking: Hike (Strava))",
        "activities.csv row 6": "bad row (column Distance: not a number ('abc'))",
        "profile.csv": "unsupported format (not an activity table: missing column(s) date, "
                       "distance_km, duration_s (found: Athlete ID, Email Address; Strava's "
                       "activities.csv and Garmin's Activities.csv are also read))",
    }
    p = runner_profile(log.activities, dt.date(2015, 9, 5), 42.195)
    assert p.longest_run_km == 16.0 and p.weekly_km[:3] == pytest.approx([0.0, 16.0, 9.00822])


def test_sport_of_every_gpx_label(tmp_path):
    labels = {"running": True, "trail_running": True, "treadmill_running": True, "9": True,
              "Run": True, "road_biking": False, "cycling": False, "1": False, "walking": False,
              "hiking": False, "4": False, "10": False, "16": False, "77": False, "": True}
    points = "".join(
        f'<trkpt lat="{45 + i * 0.0009:.6f}" lon="7.0"><time>2024-05-0{1}T06:{i:02d}:00Z</time>'
        f"</trkpt>" for i in range(20))
    for i, label in enumerate(labels):
        kind = f"<type>{label}</type>" if label else ""
        (tmp_path / f"{i:02d}.gpx").write_text(
            f'<gpx xmlns="http://www.topografix.com/GPX/1/1" creator="StravaGPX"><trk>{kind}'
            f"<trkseg>{points.replace('2024-05-01', f'2024-05-{i + 1:02d}')}</trkseg></trk></gpx>")
    log = read_training_log(tmp_path, now=NOW)
    imported = {int(s[:2]) for s in log.activities["source"]}
    assert {label for i, label in enumerate(labels) if i in imported} == {
        label for label, run in labels.items() if run}
    reasons = left_out(log)
    assert reasons["05.gpx"] == "not a run (cycling: road_biking)"
    assert reasons["07.gpx"] == "not a run (cycling: 1)"
    assert reasons["13.gpx"] == "not a run (Strava type 77: 77)"


def test_chained_fit_keeps_its_valid_first_part(tmp_path):
    good = (REAL / "activity-small-fenix2-run.fit").read_bytes()
    second = bytearray((REAL / "2013-02-06-12-11-14.fit").read_bytes())
    second[-200:] = bytes(200)  # the second part's session is overwritten
    (tmp_path / "chained.fit").write_bytes(good + bytes(second))
    log = read_training_log(tmp_path, now=NOW)
    assert list(log.activities["source"]) == ["chained.fit"]
    assert log.activities["distance_km"].iloc[0] == pytest.approx(9.00822)
    assert "chained.fit: part 2 of a chained file is damaged and was left out" in log.notes[0]


def test_duplicate_matching_scales_as_n_log_n():
    n = 20_000
    start = pd.Timestamp("2020-01-01", tz="UTC")
    table = pd.DataFrame({
        "start_utc": [start + pd.Timedelta(hours=6 * (i // 2)) + pd.Timedelta(seconds=30 * (i % 2))
                      for i in range(n)],
        "distance_km": [10.0 + (i // 2) % 7 for i in range(n)],
        "fmt": ["gpx" if i % 2 else "fit" for i in range(n)],
        "source": [f"a{i}" for i in range(n)]})
    t = time.perf_counter()
    kept, dropped = drop_duplicates(table)
    assert time.perf_counter() - t < 5.0  # pairwise comparison would take minutes
    assert len(kept) == n // 2 and len(dropped) == n // 2
    assert str(dropped[0]) == "a1: duplicate (of a0: same start and distance)"


def test_bad_input_names_the_file_and_the_rule(tmp_path):
    (tmp_path / "watch.fit").write_bytes(b"\x0e\x10\x00\x00" + b"garbage" * 10)
    (tmp_path / "track.gpx").write_text("<gpx><trk><trkseg><trkpt lat='1'")
    (tmp_path / "log.tcx").write_text('<TrainingCenterDatabase xmlns="http://www.garmin.com/'
                                      'xmlschemas/TrainingCenterDatabase/v2"/>')
    result = subprocess.run([sys.executable, "-m", "cramp.cli", "profile", str(tmp_path),
                             "--race-date", "2026-04-26", "--race-distance-km", "42.195"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "left out: watch.fit: damaged (no FIT header at byte 0)" in result.stderr
    assert "left out: track.gpx: damaged (not well-formed XML" in result.stderr
    assert "left out: log.tcx: damaged (no <Activity> (a course or workout file?))" in \
        result.stderr
    assert "no readable runs (0 runs imported from 3 files; left out: 3 damaged)" in \
        result.stderr


GARMIN_CSV = """Activity Type,Date,Favorite,Title,Distance,Calories,Time,Avg HR,Max HR,\
Total Ascent,Total Descent,Moving Time,Elapsed Time
Running,2015-08-15 16:45:08,false,Lunch Run,9.01,600,00:47:12,150,170,40,38,00:47:12,00:47:12
Trail Running,2015-08-20 07:00:00,false,Hills,12.50,900,01:25:00,145,168,420,415,01:20:00,01:31:10
Treadmill Running,2015-08-25 19:00:00,false,Intervals,8.00,520,00:40:00,155,180,--,--,00:40:00,\
00:40:00
Cycling,2015-08-26 07:00:00,false,Commute,21.3,500,00:50:00,120,140,80,80,00:48:00,00:55:00
Hiking,2015-08-27 09:00:00,false,Hut,11.0,700,03:30:00,110,130,900,900,03:00:00,04:00:00
"""


def test_garmin_activities_csv_with_the_fit_file_of_one_row(tmp_path):
    (tmp_path / "Activities.csv").write_text(GARMIN_CSV)
    shutil.copy(REAL / "activity-small-fenix2-run.fit", tmp_path)
    log = read_training_log(tmp_path, tz="Europe/Berlin", now=NOW)  # Garmin's dates are local
    runs = log.activities.set_index("source")
    assert sorted(runs.index) == ["Activities.csv row 2", "Activities.csv row 3",
                                  "activity-small-fenix2-run.fit"]
    trail = runs.loc["Activities.csv row 2"]
    assert (trail["distance_km"], trail["duration_s"], trail["elapsed_s"]) == (12.5, 4800.0, 5470.0)
    assert trail["elevation_loss_m"] == 415.0 and trail["local_date"] == dt.date(2015, 8, 20)
    assert left_out(log) == {
        # 16:45:08 in Berlin is the FIT file's 14:45:08 UTC, with the same distance
        "Activities.csv row 1": "duplicate (of activity-small-fenix2-run.fit: same start and "
                                "distance)",
        "Activities.csv row 4": "not a run (cycling: Cycling)",
        "Activities.csv row 5": "not a run (hiking: Hiking)"}
