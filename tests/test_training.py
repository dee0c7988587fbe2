"""Training logs: FIT, GPX and CSV files built here (real files: test_training_real_files.py),
every derived figure against hand-computed values (time zones, duplicates, gaps), and bad files
reported one by one."""

import datetime as dt
import subprocess
import sys

import numpy as np
import pytest

from model.data.activities import read_training_log
from model.data.training_load import pmc, run_load, runner_profile, threshold_speed_kmh
from model.hazard.physiology import RIEGEL_EXPONENT

UTC = dt.UTC
RACE = dt.date(2026, 4, 26)


def fit_bytes(start: dt.datetime, km: float, seconds: float, sport="running",
              descent=None) -> bytes:
    from garmin_fit_sdk import Encoder, Profile

    enc = Encoder()
    enc.on_mesg(Profile["mesg_num"]["FILE_ID"], {"type": "activity", "manufacturer":
                                                 "development", "time_created": start})
    session = {"start_time": start, "timestamp": start + dt.timedelta(seconds=seconds),
               "sport": sport, "total_elapsed_time": float(seconds),
               "total_timer_time": float(seconds), "total_distance": km * 1000.0}
    if descent is not None:
        session.update(total_ascent=int(descent), total_descent=int(descent))
    enc.on_mesg(Profile["mesg_num"]["SESSION"], session)
    return bytes(enc.close())


def gpx_text(start: dt.datetime, km: float, seconds: float, n: int = 21) -> str:
    """A straight track north along a meridian, on gpxpy's spherical Earth."""
    from gpxpy.geo import EARTH_RADIUS

    km_per_degree = 2 * np.pi * EARTH_RADIUS / 1000 / 360
    points = []
    for i in range(n):
        lat = 45.0 + (km / km_per_degree) * i / (n - 1)
        t = (start + dt.timedelta(seconds=seconds * i / (n - 1))).strftime("%Y-%m-%dT%H:%M:%SZ")
        points.append(f'<trkpt lat="{lat:.7f}" lon="7.0"><ele>500</ele><time>{t}</time></trkpt>')
    return ('<?xml version="1.0"?><gpx version="1.1" creator="test" '
            'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
            + "".join(points) + "</trkseg></trk></gpx>")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("log")
    (d / "runs.csv").write_text(
        "date,distance_km,duration_s,elevation_loss_m\n"
        "2026-03-29,32.0,10800,300\n"
        "2026-04-20,abc,1800,\n"  # a bad row: reported, the rest imported
        "2026-04-22,6.0,2100,50\n")
    (d / "long28.fit").write_bytes(fit_bytes(dt.datetime(2026, 4, 5, 6, 0, tzinfo=UTC), 28.0,
                                             9800))
    # the same run exported as GPX too: kept once
    (d / "long28.gpx").write_text(gpx_text(dt.datetime(2026, 4, 5, 6, 0, 30, tzinfo=UTC), 28.2,
                                           9790))
    (d / "tempo.gpx").write_text(gpx_text(dt.datetime(2026, 4, 12, 7, 0, tzinfo=UTC), 10.0, 2700))
    # 22:30 UTC on 18 April is 01:30 on 19 April in Athens (UTC+3 in summer time)
    (d / "late.fit").write_bytes(fit_bytes(dt.datetime(2026, 4, 18, 22, 30, tzinfo=UTC), 8.0,
                                           2880))
    (d / "bike.fit").write_bytes(fit_bytes(dt.datetime(2026, 4, 14, 8, 0, tzinfo=UTC), 40.0,
                                           5400, sport="cycling"))
    (d / "corrupt.fit").write_bytes(b"\x0e\x10garbage that is not a FIT file")
    good = fit_bytes(dt.datetime(2026, 4, 1, 6, 0, tzinfo=UTC), 12.0, 4000)
    (d / "truncated.fit").write_bytes(good[: len(good) - 12])
    (d / "empty.gpx").write_text("")
    (d / "notes.txt").write_text("ignored: not an activity file")
    return d


def test_reads_every_format_and_reports_every_bad_file(folder):
    log = read_training_log(folder, tz="Europe/Athens")
    skipped = "\n".join(log.skipped)
    for name in ("corrupt.fit: damaged", "truncated.fit: damaged", "empty.gpx: empty",
                 "runs.csv row 2: bad row (column distance_km", "bike.fit: not a run (cycling)",
                 "notes.txt: unsupported format (.txt)"):
        assert name in skipped, skipped
    assert len(log.skipped) == 6
    assert log.counts() == {"not a run": 1, "duplicate": 1, "damaged": 2, "empty": 1,
                            "unsupported format": 1, "bad row": 1}
    assert sorted(log.activities["source"]) == ["late.fit", "long28.fit", "runs.csv row 1",
                                                "runs.csv row 3", "tempo.gpx"]
    assert log.duplicates == ["long28.gpx: duplicate (of long28.fit: same start and distance)"]
    late = log.activities.set_index("source").loc["late.fit"]
    assert late["local_date"] == dt.date(2026, 4, 19)  # local, not UTC, date
    tempo = log.activities.set_index("source").loc["tempo.gpx"]
    assert tempo["distance_km"] == pytest.approx(10.0, rel=1e-3)
    assert tempo["duration_s"] == pytest.approx(2700)


def test_profile_figures_match_hand_computation(folder):
    log = read_training_log(folder, tz="Europe/Athens")
    p = runner_profile(log.activities, RACE, 42.195)
    assert p.longest_run_km == 32.0
    # fastest Riegel prediction: the 10 km tempo (2700 s -> 12,420 s) beats 32 km in 3 h (14,480 s)
    assert p.ref_distance_km == pytest.approx(10.0, rel=1e-3) and p.ref_date == dt.date(2026, 4, 12)
    assert p.predicted_race_time_s == pytest.approx(2700 * (42.195 / 10.0) ** 1.06, rel=2e-3)
    # weeks end the day before the race: 19-25 Apr holds the Athens-dated 8 km and the 6 km
    assert p.weekly_km[:4] == pytest.approx([14.0, 10.0, 28.0, 32.0], rel=1e-3)
    assert p.weekly_km[4:] == [0.0] * 4
    # peak 7-day volume: the window with the 32 km (29 Mar); taper from 30 Mar to 26 Apr
    assert p.taper_days == 27
    assert p.taper_volume_reduction == pytest.approx(1 - 14.0 / 32.0, rel=1e-3)
    assert p.long_run_km_last_7d == 0.0 and p.days_since_long_run == 21
    assert p.descent_m_last_7d == 50.0  # the 6 km on 22 Apr
    assert p.runner_table() == {"ref_distance_km": pytest.approx(10.0, rel=1e-3),
                                "ref_time_s": 2700, "longest_run_km": 32.0, "taper_days": 27}


def test_performance_manager_chart_worked_example():
    ctl, atl, tsb = pmc(np.array([100.0, 0.0, 0.0]))
    np.testing.assert_allclose(ctl, [100 / 42, 100 / 42 * 41 / 42, 100 / 42 * (41 / 42) ** 2])
    np.testing.assert_allclose(atl, [100 / 7, 100 / 7 * 6 / 7, 100 / 7 * (6 / 7) ** 2])
    np.testing.assert_allclose(tsb, [0.0, ctl[0] - atl[0], ctl[1] - atl[1]])
    # a gap of 10 days without running decays fitness by (41/42)^10
    ctl, _, _ = pmc(np.r_[np.full(300, 60.0), np.zeros(10)])
    assert ctl[-1] == pytest.approx(ctl[299] * (41 / 42) ** 10)
    assert ctl[299] == pytest.approx(60.0 * (1 - (41 / 42) ** 300))


def test_one_hour_at_threshold_is_100():
    v = threshold_speed_kmh(10.0, 2700.0)
    assert v == pytest.approx(10.0 * (3600 / 2700) ** (1 / RIEGEL_EXPONENT))
    assert run_load(v, 3600.0, v) == pytest.approx(100.0)
    assert run_load(v / 2, 3600.0, v) == pytest.approx(25.0)


def test_profile_command_writes_a_scenario_the_simulator_runs(folder, tmp_path):
    out = tmp_path / "my_race.toml"
    cmd = [sys.executable, "-m", "cramp.cli"]
    made = subprocess.run([*cmd, "profile", str(folder), "--race-date", "2026-04-26",
                           "--race-distance-km", "42.195", "--tz", "Europe/Athens",
                           "--scenario", "goal_marathon_runner", "--out", str(out),
                           "--plot", str(tmp_path / "load.png")],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert "left out: corrupt.fit: damaged" in made.stderr and "taper" in made.stdout
    assert "5 runs imported from 10 files; left out: 1 not a run, 1 duplicate" in made.stderr
    assert (tmp_path / "load.png").stat().st_size > 0
    run = subprocess.run([*cmd, "simulate", str(out), "--draws", "50", "--json", "--out",
                          str(tmp_path / "sim")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_bad_race_date_and_folder_exit_2(folder, tmp_path):
    cmd = [sys.executable, "-m", "cramp.cli", "profile"]
    bad_date = subprocess.run([*cmd, str(folder), "--race-date", "26/04/2026",
                               "--race-distance-km", "42.195"], capture_output=True, text=True)
    assert bad_date.returncode == 2 and "--race-date" in bad_date.stderr
    no_folder = subprocess.run([*cmd, str(tmp_path / "nope"), "--race-date", "2026-04-26",
                                "--race-distance-km", "42.195"], capture_output=True, text=True)
    assert no_folder.returncode == 2 and "not a folder" in no_folder.stderr


def test_one_row_per_runner_folder(folder, tmp_path):
    import shutil

    import pandas as pd

    root = tmp_path / "runners"
    shutil.copytree(folder, root / "ann")
    (root / "bob").mkdir()
    (root / "bob" / "runs.csv").write_text("date,distance_km,duration_s\n2026-04-10,3.0,1200\n")
    out = tmp_path / "rows.csv"
    made = subprocess.run([sys.executable, "-m", "cramp.cli", "profile", str(root),
                           "--race-date", "2026-04-26", "--race-distance-km", "42.195",
                           "--tz", "Europe/Athens", "--each-subfolder", "--out", str(out)],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    rows = pd.read_csv(out)
    assert list(rows["runner_id"]) == ["ann"]
    assert rows.loc[0, "longest_run_km"] == 32.0 and rows.loc[0, "taper_days"] == 27
    assert "bob: no profile" in made.stderr  # only a 3 km run: no ability, listed not fatal
    assert "ann/long28.gpx: duplicate (of long28.fit" in made.stderr  # duplicates listed too


def test_profile_scenario_with_another_race_distance_is_refused(folder, tmp_path):
    result = subprocess.run([sys.executable, "-m", "cramp.cli", "profile", str(folder),
                             "--race-date", "2026-04-26", "--race-distance-km", "21.0975",
                             "--scenario", "goal_marathon_runner", "--out",
                             str(tmp_path / "x.toml"), "--plot", str(tmp_path / "x.png")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "differs" in result.stderr
    assert not (tmp_path / "x.toml").exists()
