"""Race-record validation: every problem reported with file, row, column and rule."""

import subprocess
import sys

import pytest
from conftest import record, write_csv

from model.data.records import load_records
from model.errors import InputError


def problems_of(path, **kwargs) -> list[str]:
    with pytest.raises(InputError) as info:
        load_records(path, **kwargs)
    return info.value.problems


def test_valid_file_loads_with_notes_for_absent_factors(tmp_path):
    path = write_csv(tmp_path / "ok.csv", [record(), record(runner_id="B", cramped=1,
                                                            cramp_km=35.2)])
    records = load_records(path)
    assert len(records.table) == 2 and records.excluded == []
    assert any("heat" in note for note in records.notes)
    assert len(records.sha256) == 64


def test_missing_columns_are_named(tmp_path):
    rows = [{k: v for k, v in record().items() if k not in ("ref_time_s", "cramped")}]
    (message,) = problems_of(write_csv(tmp_path / "m.csv", rows))
    assert "missing required column(s) ref_time_s, cramped" in message


def test_every_bad_cell_is_reported_with_row_and_column(tmp_path):
    rows = [record(), record(runner_id="B", race_time_s="4h05"),
            record(runner_id="C", ref_time_s=-5), record(runner_id="D", cramped=1, cramp_km=50)]
    found = problems_of(write_csv(tmp_path / "bad.csv", rows))
    joined = "\n".join(found)
    assert ("row 2, column race_time_s: must be a number of seconds or h:mm:ss (got '4h05')"
            in joined)
    assert "row 3, column ref_time_s: must be > 0 seconds" in joined
    assert "row 4, column cramp_km: onset beyond the distance reached" in joined
    assert all(str(tmp_path / "bad.csv") in line for line in found)


def test_skip_invalid_excludes_and_reports_each_row(tmp_path):
    rows = [record(), record(runner_id="B", race_time_s="oops")]
    records = load_records(write_csv(tmp_path / "s.csv", rows), skip_invalid=True)
    assert len(records.table) == 1
    assert len(records.excluded) == 1 and "row 2, column race_time_s" in records.excluded[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "file is empty"),
        ("runner_id,race_id,distance_km,race_time_s,ref_distance_km,ref_time_s,longest_run_km,"
         "cramped\n", "no data rows"),
        ("runner_id;race_id;distance_km;race_time_s;ref_distance_km;ref_time_s;longest_run_km;"
         "cramped\nA;x;42.195;14700;21.1;6800;30;0\n", "semicolon-delimited"),
    ],
)
def test_unreadable_files_get_one_line(tmp_path, content, message):
    path = tmp_path / "f.csv"
    path.write_text(content)
    (line,) = problems_of(path)
    assert message in line


def test_other_rules(tmp_path):
    rows = [record(cramped=2), record(runner_id="B", dnf_km=50),
            record(runner_id="C", cramped=0, cramp_km=10), record(),
            record(runner_id="E", race_time_s=60)]
    joined = "\n".join(problems_of(write_csv(tmp_path / "r.csv", rows)))
    assert "row 1, column cramped: must be 0 or 1" in joined
    assert "row 2, column dnf_km: must not exceed distance_km" in joined
    assert "row 3, column cramp_km: given for a row with cramped = 0" in joined
    assert "row 4, column runner_id: duplicate runner_id + race_id" in joined
    assert "row 5, column race_time_s: implausible" in joined


def test_weather_needs_both_temperature_and_humidity(tmp_path):
    rows = [record(temp_c=25, rh_pct=""), record(runner_id="B", temp_c=20, rh_pct=50)]
    joined = "\n".join(problems_of(write_csv(tmp_path / "w.csv", rows)))
    assert "row 1, column rh_pct: missing (needed to compute WBGT)" in joined


def test_splits_must_match_records_and_increase(tmp_path):
    path = write_csv(tmp_path / "r.csv", [record()])
    splits = write_csv(tmp_path / "s.csv", [
        {"runner_id": "A", "race_id": "city", "km": 1, "elapsed_s": 350},
        {"runner_id": "A", "race_id": "city", "km": 2, "elapsed_s": 340},
        {"runner_id": "Z", "race_id": "city", "km": 1, "elapsed_s": 300}])
    joined = "\n".join(problems_of(path, splits=splits))
    assert "row 3, column runner_id: no race record for runner Z" in joined


@pytest.mark.parametrize("command", ["check", "fit"])
def test_cli_bad_input_exits_2_without_traceback(tmp_path, command):
    path = write_csv(tmp_path / "bad.csv", [record(race_time_s="abc")])
    result = subprocess.run([sys.executable, "-m", "cramp.cli", command, str(path)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "row 1, column race_time_s: must be a number" in result.stderr.replace("\n", " ")


def test_cramped_runners_without_splits_are_noted_as_a_pace_bias():
    import cramp

    table, splits = cramp.synthesize(300, 1)
    cramped = int(table["cramped"].sum())
    note = [n for n in cramp.load_records(table).notes if "have no splits" in n]
    assert note and note[0].startswith(f"{cramped} runner-race(s) with a cramp")
    with_splits = cramp.load_records(table, splits=splits).notes
    assert not [n for n in with_splits if "have no splits" in n]
