"""Input faults on the command line (issue 19): each exits 2 with one line naming the key, row or
option and the rule, never a traceback or "internal error"; user values are printed as written
(rich markup in a value neither crashes the printer nor swallows words); contradictory inputs
are reported, not silently re-read; the work is bounded."""

from __future__ import annotations

import pytest
from conftest import record, write_csv
from typer.testing import CliRunner

from cramp.cli import app
from model.data.records import load_records
from model.errors import InputError
from scenarios.spec import LIBRARY

GOAL = (LIBRARY / "goal_marathon_runner.toml").read_text()


def cramp(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def bad_input(result, *expected: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output and "internal error" not in result.output
    for text in expected:
        assert text in result.stderr, (text, result.stderr)


def scenario(tmp_path, text: str, name: str = "bad.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('target_time = "3:30:00"', 'target_time = "0:00:00"', "pacing.target_time: must be a "
     "duration 'H:MM:SS' > 0"),
    ("sources = [", 'sources = "one source"\nold_sources = [', "sources: must be a list of "
     "strings"),
    ("ref_time = \"1:42:00\"", "ref_time = \"1:42:00\"\ncramp_history_x = 1", "unknown key"),
    ('start_time = "08:30"', 'start_time = "08:²0"', "race.start_time: must be a clock time"),
    ('start_time = "08:30"', 'start_time = "08:3O"', "race.start_time: must be a clock time"),
    ('ref_time = "1:42:00"', 'ref_time = "0:52:00"', "faster than the world record"),
    ('rh_pct = [', 'wbgt_c = [15, 15, 15, 15, 15, 15]\nrh_pct = [', "not both"),
    ("distance_km = 42.195", "distance_km = 42.195\nelevation_m = [[0, 10], [45, 12]]",
     "past the race's 42.195 km"),
])
def test_bad_scenario_values_exit_2_naming_the_key(tmp_path, old, new, expected):
    assert old in GOAL
    path = scenario(tmp_path, GOAL.replace(old, new, 1))
    bad_input(cramp("simulate", path, "--draws", 4, "--out", tmp_path / "o"), expected)
    assert not (tmp_path / "o").exists()


def test_a_list_where_a_distribution_name_belongs(tmp_path):
    text = (LIBRARY / "city_marathon_warm.toml").read_text()
    assert 'dist = "lognormal"' in text
    path = scenario(tmp_path, text.replace('dist = "lognormal"', 'dist = ["lognormal"]', 1))
    bad_input(cramp("simulate", path, "--draws", 4, "--out", tmp_path / "o"),
              ".dist: must be normal, lognormal, uniform or bernoulli")


def test_markup_in_a_value_is_printed_as_written(tmp_path):
    path = scenario(tmp_path, GOAL.replace('name = "even pacing"',
                                           'name = "even [/x] [bold]pacing"\nice = 1'))
    result = cramp("simulate", path, "--draws", 4, "--out", tmp_path / "o")
    bad_input(result, "intervention 'even [/x] [bold]pacing'.ice: unknown intervention")


def test_markup_in_a_plan_name_survives_the_results_table(tmp_path):
    path = scenario(tmp_path, GOAL.replace('name = "even pacing"', 'name = "even [/x] pacing"'))
    result = cramp("simulate", path, "--draws", 4, "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert "even [/x] pacing" in result.stdout


@pytest.mark.parametrize(("args", "expected"), [
    (("--seed", -1), "--seed must be a whole number >= 0"),
    (("--draws", 1), "--draws must be >= 2"),
])
def test_bad_options_exit_2(tmp_path, args, expected):
    bad_input(cramp("simulate", "goal_marathon_runner", "--out", tmp_path / "o", *args),
              expected)


def test_out_naming_a_file_or_an_impossible_folder_exits_2(tmp_path):
    (tmp_path / "a_file").write_text("x")
    bad_input(cramp("simulate", "goal_marathon_runner", "--draws", 4, "--out",
                    tmp_path / "a_file"), "is a file")
    bad_input(cramp("simulate", "goal_marathon_runner", "--draws", 4, "--out",
                    tmp_path / "a_file" / "sub" / "o"), "cannot create the output folder")
    assert (tmp_path / "a_file").read_text() == "x"


def test_out_holding_other_files_is_not_replaced(tmp_path):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "notes.txt").write_text("mine")
    bad_input(cramp("simulate", "goal_marathon_runner", "--draws", 4, "--out", tmp_path / "o",
                    "--force"), "notes.txt")
    assert (tmp_path / "o" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("content", [b"not a netCDF file", b"", b"\x89HDF\r\n\x1a\n garbage"])
def test_a_posterior_that_is_not_netcdf_exits_2(tmp_path, content):
    (tmp_path / "fit.nc").write_bytes(content)
    bad_input(cramp("simulate", "goal_marathon_runner", "--draws", 4, "--posterior",
                    tmp_path / "fit.nc", "--out", tmp_path / "o"), "fit.nc")
    assert not (tmp_path / "o").exists()


def test_too_much_work_asks_for_yes(tmp_path):
    text = (LIBRARY / "city_marathon_warm.toml").read_text().replace("count = 10000",
                                                                      "count = 1000000000")
    path = scenario(tmp_path, text)
    bad_input(cramp("simulate", path, "--out", tmp_path / "o"), "--yes", "cells",
              "1,000,000,000 runners")


def test_two_header_names_equal_after_trimming(tmp_path):
    path = write_csv(tmp_path / "d.csv", [record()])
    text = path.read_text().splitlines()
    path.write_text(f"{text[0]}, cramped\n{text[1]},1\n")
    bad_input(cramp("check", path), "'cramped' given more than once")


def test_a_row_with_one_field_more_is_named_with_the_counts(tmp_path):
    path = write_csv(tmp_path / "d.csv", [record(), record(runner_id="B")])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1] + ",5", lines[2]]) + "\n")
    bad_input(cramp("check", path), "row 1: has 9 fields, the header 8")


def test_nan_and_infinity_in_records_are_refused_by_name(tmp_path):
    path = write_csv(tmp_path / "d.csv", [record(race_time_s="inf"),
                                          record(runner_id="B", ck_pre_u_per_l="NaN")])
    bad_input(cramp("check", path), "row 1, column race_time_s: must be a finite number",
              "row 2, column ck_pre_u_per_l: must be a finite number")


def problems_of(*args) -> str:
    with pytest.raises(InputError) as info:
        load_records(*args)
    return "\n".join(info.value.problems)


def test_contradictory_splits_are_reported_not_overwritten(tmp_path):
    records = write_csv(tmp_path / "r.csv", [record()])
    rows = [(1.609, 500), (5, 1700), (5, 1710), (50, 20000), (10, 20000), (42.195, 14000)]
    splits = write_csv(tmp_path / "s.csv", [{"runner_id": "A", "race_id": "city", "km": k,
                                             "elapsed_s": t} for k, t in rows])
    found = problems_of(records, splits)
    assert "row 1," not in found  # a mile mark is a mark: the features interpolate in km
    assert "row 3, column km: given twice" in found
    assert "row 4, column km: beyond the distance reached" in found
    assert "row 5, column elapsed_s: at or after the finish" in found
    assert "row 6, column elapsed_s: a split at the distance reached must equal" in found


def test_a_split_at_the_finish_that_agrees_is_accepted(tmp_path):
    records = write_csv(tmp_path / "r.csv", [record()])
    splits = write_csv(tmp_path / "s.csv", [
        {"runner_id": "A", "race_id": "city", "km": 21, "elapsed_s": 7000},
        {"runner_id": "A", "race_id": "city", "km": 42.195, "elapsed_s": 14700}])
    assert len(load_records(records, splits).splits) == 2


def test_a_half_marathon_mat_is_kept_at_its_km_not_rounded(tmp_path):
    records = write_csv(tmp_path / "r.csv", [record()])
    splits = write_csv(tmp_path / "s.csv", [
        {"runner_id": "A", "race_id": "city", "km": 21.0975, "elapsed_s": "1:56:40"}])
    kept = load_records(records, splits).splits
    assert kept["km"].tolist() == [21.0975] and kept["elapsed_s"].tolist() == [7000.0]


def test_abilities_faster_than_the_world_record_name_the_bound(tmp_path):
    found = problems_of(write_csv(tmp_path / "r.csv", [record(ref_time_s=3000)]))
    assert "row 1, column ref_time_s: faster than the world record" in found
    assert "21.0975 km in about 0:56:42" in found


def test_both_weather_forms_in_a_row_get_a_note_saying_which_is_used(tmp_path):
    records = load_records(write_csv(tmp_path / "r.csv",
                                     [record(wbgt_c=20, temp_c=25, rh_pct=50)]))
    assert any("wbgt_c (measured) is used" in note for note in records.notes)
