"""A researcher's own study files (issue: re-creating a published 56 km cohort of 49 runners):
their column names, units and codes through a column map, common missing markers, h:mm:ss and
yes/no without a map, wide splits, the splits summary `check` prints, post-race cramps and a
missing longest run. The cohort is written here in the study's shape."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import record, write_csv
from typer.testing import CliRunner

import cramp
from cramp.cli import app
from model.data.split_summary import summarise_splits
from model.errors import InputError
from model.hazard.physiology import clock_text, predicted_time_s

DOC = Path(__file__).parents[1] / "docs" / "study_data.md"
N = 49
MAP = """\
missing = [-99]

[records]
"Participant" = "runner_id"
"Event" = "race_id"
"Race distance (km)" = "distance_km"
"Finish time (h:mm:ss)" = { column = "race_time_s", unit = "h:mm:ss" }
"Qualifying race (km)" = "ref_distance_km"
"Qualifying time (min)" = { column = "ref_time_s", unit = "minutes" }
"Longest run 8 wk (mi)" = { column = "longest_run_km", unit = "miles" }
"EAMC (yes/no)" = { column = "cramped", values = { yes = 1, no = 0 } }
"EAMC post-race (yes/no)" = { column = "cramp_after_finish", values = { yes = 1, no = 0 } }
"CK pre (U/L)" = "ck_pre_u_per_l"
"History of EAMC" = "cramp_history"
"Age (y)" = "age"
"Time at 28 km (h:mm:ss)" = { column = "split_28km", unit = "h:mm:ss" }
"""


def study_cohort(seed: int = 7) -> pd.DataFrame:
    """49 runners of one 56 km race in a published cohort's shape: 13 columns, the study's
    names, h:mm:ss times, minutes, miles, yes/no, NA and -99 for not measured, one timing mat."""
    rng = np.random.default_rng(seed)
    ref_s = rng.uniform(95, 135, N) * 60  # half-marathon qualifying times
    finish_s = np.rint(predicted_time_s(ref_s, 21.0975, 56.0) * rng.uniform(1.0, 1.2, N))
    cramped = np.zeros(N, bool)
    cramped[rng.choice(N, 9, replace=False)] = True
    after = ~cramped & (rng.uniform(size=N) < 0.1)
    ck = np.rint(rng.lognormal(np.log(150), 0.5, N)).astype(object)
    ck[[3, 17, 30]] = "NA"
    ck[22] = -99
    long_mi = np.round(rng.uniform(14, 26, N), 1).astype(object)
    long_mi[[5, 40]] = "NA"
    return pd.DataFrame({
        "Participant": [f"P{i + 1:02d}" for i in range(N)],
        "Event": "Ultra 56 2019",
        "Race distance (km)": 56,
        "Finish time (h:mm:ss)": [clock_text(t) for t in finish_s],
        "Qualifying race (km)": 21.0975,
        "Qualifying time (min)": np.round(ref_s / 60, 2),
        "Longest run 8 wk (mi)": long_mi,
        "EAMC (yes/no)": np.where(cramped, "yes", "No"),
        "EAMC post-race (yes/no)": np.where(after, "YES", "no"),
        "CK pre (U/L)": ck,
        "History of EAMC": np.where(rng.uniform(size=N) < 0.3, "Y", "n"),
        "Age (y)": rng.integers(25, 60, N),
        "Time at 28 km (h:mm:ss)": [clock_text(t) for t in finish_s * rng.uniform(.45, .49, N)],
    })


@pytest.fixture
def study(tmp_path):
    data = study_cohort()
    data.to_csv(tmp_path / "cohort.csv", index=False)
    (tmp_path / "map.toml").write_text(MAP)
    return tmp_path, data


def map_problems(tmp_path, text: str, table: pd.DataFrame | None = None) -> str:
    (tmp_path / "bad_map.toml").write_text(text)
    source = write_csv(tmp_path / "c.csv", [record()]) if table is None else table
    with pytest.raises(InputError) as info:
        cramp.load_records(source, columns=tmp_path / "bad_map.toml")
    return "\n".join(info.value.problems)


def test_the_study_file_reads_through_its_map(study):
    tmp, data = study
    records = cramp.load_records(tmp / "cohort.csv", columns=tmp / "map.toml")
    t = records.table
    assert len(t) == N and t["race_id"].unique().tolist() == ["Ultra 56 2019"]
    assert t["race_time_s"].iloc[0] == pytest.approx(
        sum(int(x) * f for x, f in zip(data["Finish time (h:mm:ss)"][0].split(":"),
                                       (3600, 60, 1), strict=True)))
    assert t["ref_time_s"].to_numpy() == pytest.approx(data["Qualifying time (min)"] * 60)
    assert t["longest_run_km"].iloc[0] == pytest.approx(
        float(data["Longest run 8 wk (mi)"][0]) * 1.609344)
    assert t["longest_run_km"].isna().sum() == 2  # NA
    assert t["ck_pre_u_per_l"].isna().sum() == 4  # three NA and a -99
    assert t["cramped"].sum() == 9
    assert (t["cramp_history"] == (data["History of EAMC"] == "Y")).all()
    assert records.splits["km"].unique().tolist() == [28.0] and len(records.splits) == N
    assert "split_28km" not in t.columns and "Time at 28 km (h:mm:ss)" not in t.columns
    assert "'Finish time (h:mm:ss)' -> race_time_s (h:mm:ss -> seconds)" in "\n".join(
        records.mapping)
    # the same map as a dict, the same study as a DataFrame: the same records
    import tomllib

    again = cramp.load_records(data, columns=tomllib.loads(MAP))
    pd.testing.assert_frame_equal(again.table, t)


def test_check_prints_the_mapping_and_the_splits(study):
    tmp, data = study
    result = CliRunner().invoke(app, ["check", str(tmp / "cohort.csv"), "--columns",
                                      str(tmp / "map.toml")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("mapped: records:")]
    assert len(lines) == 13
    assert "mapped: records: 'EAMC (yes/no)' -> cramped (values yes -> 1, no -> 0)" in lines
    assert ("mapped: records: 'Longest run 8 wk (mi)' -> longest_run_km (miles -> km, "
            "x 1.609344)") in lines
    assert f"{N} runner-race records" in result.stdout
    assert f"splits: {N} of {N} records have 1 split (at 28 km)" in result.stdout
    after = int((data["EAMC post-race (yes/no)"] == "YES").sum())
    assert after > 0
    assert (f"note: {after} runner-race(s) cramped only after the finish: counted as no cramp "
            "during the race") in result.stdout
    assert "note: 2 row(s) without longest_run_km" in result.stdout


def test_the_documented_example_runs(tmp_path):
    text = DOC.read_text()
    (tmp_path / "cohort.csv").write_text(re.search(r"```csv\n(.*?)```", text, re.S)[1])
    (tmp_path / "map.toml").write_text(re.search(r"```toml\n(.*?)```", text, re.S)[1])
    records = cramp.load_records(tmp_path / "cohort.csv", columns=tmp_path / "map.toml")
    assert records.table["cramped"].tolist() == [0, 1, 0]
    assert records.splits["runner_id"].tolist() == ["S01", "S02"]
    assert np.isnan(records.table["ck_pre_u_per_l"].iloc[1])  # -99


# --- every rule of the map -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ('[records]\n"X" = "cramp"\n', 'records."X": unknown target column \'cramp\''),
    ('[records]\n"runner_id" = "runner_id"\n"Subject" = "runner_id"\n',
     'records."Subject": two sources for runner_id ("runner_id" and "Subject")'),
    ('[records]\n"race_time_s" = { column = "race_time_s", unit = "miles" }\n',
     'records."race_time_s": unit \'miles\' does not fit race_time_s (use seconds, minutes'),
    ('[records]\n"age" = { column = "ck_pre_u_per_l", unit = "km" }\n',
     "unit 'km' does not fit ck_pre_u_per_l (it takes no unit)"),
    ('[records]\n"Finish" = "race_time_s"\n', 'records."Finish": no column \'Finish\' in'),
    ('[records]\n"cramped" = { column = "cramped", value = { yes = 1 } }\n',
     'records."cramped": unknown key(s) value'),
    ('[records]\n"cramped" = { column = "cramped", values = [1, 0] }\n',
     'records."cramped": values must be a table'),
    ('[records]\n"cramped" = { column = "cramped", values = { Yes = 1, yes = 1 } }\n',
     "values: yes given twice"),
    ('[records]\n"cramped" = 3\n', 'records."cramped": must be our column\'s name or a table'),
    ('[record]\n"a" = "runner_id"\n', "record: unknown key (use records, splits, missing)"),
    ('missing = "NA"\n', "missing: must be a list"),
    ('[splits]\n"Mark" = { column = "km", unit = "h:mm:ss" }\n',
     "unit 'h:mm:ss' does not fit km (use km, miles, m)"),
    ("[records\n", "cannot be read as TOML"),
])
def test_each_map_rule_is_an_input_error_naming_the_map_and_key(tmp_path, text, expected):
    found = map_problems(tmp_path, text)
    assert expected in found and str(tmp_path / "bad_map.toml") in found


def test_a_mapped_source_next_to_our_column_is_refused(tmp_path):
    table = pd.DataFrame([{**record(), "EAMC": "yes"}])
    found = map_problems(tmp_path, '[records]\n"EAMC" = "cramped"\n', table)
    assert 'records."EAMC": <race records DataFrame> has a column cramped already' in found


def test_a_cell_that_does_not_read_in_the_unit_names_both_names(tmp_path):
    table = pd.DataFrame([{**record(), "Finish": "4:05:00"}, {**record(runner_id="B"),
                                                              "Finish": "245"}])
    found = map_problems(tmp_path, '[records]\n"Finish" = { column = "race_time_s", unit = '
                         '"h:mm:ss" }\n', table.drop(columns="race_time_s"))
    assert ("row 2, column race_time_s (their 'Finish'): must be h:mm:ss (got '245')"
            in found)
    assert "row 1" not in found and "required value is missing" not in found


def test_a_map_file_that_is_not_there(tmp_path):
    with pytest.raises(InputError, match="column map file not found"):
        cramp.load_records(write_csv(tmp_path / "c.csv", [record()]),
                           columns=tmp_path / "none.toml")


def test_the_splits_section_maps_a_long_splits_file(tmp_path):
    records = write_csv(tmp_path / "r.csv", [record()])
    splits = write_csv(tmp_path / "s.csv", [
        {"Subject": "A", "Race": "city", "Mile": 13.1, "Clock": "1:59:00"},
        {"Subject": "A", "Race": "city", "Mile": 20, "Clock": "NA"}])
    loaded = cramp.load_records(records, splits, columns={"splits": {
        "Subject": "runner_id", "Race": "race_id", "Mile": {"column": "km", "unit": "miles"},
        "Clock": "elapsed_s"}})
    assert loaded.splits["km"].tolist() == [pytest.approx(13.1 * 1.609344)]
    assert loaded.splits["elapsed_s"].tolist() == [7140.0]
    assert any("1 split row(s) with a missing elapsed_s left out" in n for n in loaded.notes)
    assert "splits: 'Mile' -> km (miles -> km, x 1.609344)" in loaded.mapping


# --- without a map ---------------------------------------------------------------------------

def test_common_missing_markers_and_formats_without_a_map(tmp_path):
    rows = [record(race_time_s="4:05:00", cramped="Yes", ck_pre_u_per_l="NA",
                   cramp_history="n", taper_days="7"),
            record(runner_id="B", cramped="FALSE", ck_pre_u_per_l="#N/A", cramp_history="y",
                   taper_days="10"),
            record(runner_id="C", ck_pre_u_per_l=".", cramp_history="no", taper_days="14")]
    t = cramp.load_records(write_csv(tmp_path / "r.csv", rows)).table
    assert t["race_time_s"].tolist() == [14700.0] * 3
    assert t["cramped"].tolist() == [1, 0, 0] and t["cramp_history"].tolist() == [0, 1, 0]
    assert t["ck_pre_u_per_l"].isna().all()


def test_na_in_a_required_column_is_missing_and_nan_text_is_still_refused(tmp_path):
    rows = [record(race_time_s="NA"), record(runner_id="B", ref_time_s="NaN"),
            record(runner_id="C", race_time_s="3:30"), record(runner_id="NA")]
    with pytest.raises(InputError) as info:
        cramp.load_records(write_csv(tmp_path / "r.csv", rows))
    found = "\n".join(info.value.problems)
    assert "row 1, column race_time_s: required value is missing" in found
    assert "row 2, column ref_time_s: must be a finite number (not NaN or infinity)" in found
    assert "row 3, column race_time_s: mm:ss or h:mm is ambiguous" in found
    assert "row 4, column runner_id: must not be empty" in found


def test_wide_split_columns_in_a_splits_file_become_long(tmp_path):
    records = write_csv(tmp_path / "r.csv", [record(), record(runner_id="B")])
    splits = write_csv(tmp_path / "s.csv", [
        {"runner_id": "A", "race_id": "city", "split_10km": 3300, "split_21.0975km": "1:56:40"},
        {"runner_id": "B", "race_id": "city", "split_10km": "-", "split_21.0975km": 15000}])
    with pytest.raises(InputError) as info:
        cramp.load_records(records, splits)
    (problem,) = info.value.problems  # B's 21.0975 km mark is after B's finish; B's '-' no mark
    assert problem.startswith(f"{tmp_path / 's.csv'}: row 2, column split_21.0975km: at or after")
    ok = write_csv(tmp_path / "s2.csv", [{"runner_id": "A", "race_id": "city",
                                          "split_10km": 3300, "split_21.0975km": "1:56:40"}])
    loaded = cramp.load_records(records, ok)
    assert loaded.splits[["km", "elapsed_s"]].to_numpy().tolist() == [[10.0, 3300.0],
                                                                      [21.0975, 7000.0]]
    summary = summarise_splits(loaded)
    assert (summary.n_with_splits, summary.marks_min, summary.marks_max) == (1, 2, 2)
    assert summary.mark_km == {10.0: 1, 21.0975: 1}


def test_a_splits_summary_without_splits_and_with_per_km_splits():
    table, splits = cramp.synthesize(60, seed=3)
    assert summarise_splits(cramp.load_records(table)).none
    full = summarise_splits(cramp.load_records(table, splits=splits))
    assert full.n_with_splits == 60 and full.mark_km is None and full.marks_max >= 40


# --- post-race cramps, missing longest run ---------------------------------------------------

def test_a_post_race_cramp_is_not_a_cramp_during_the_race(tmp_path):
    rows = [record(cramp_after_finish="yes"), record(runner_id="B", cramp_after_finish=0),
            record(runner_id="C", cramped=1, cramp_after_finish="")]
    records = cramp.load_records(write_csv(tmp_path / "r.csv", rows))
    assert records.table["cramped"].tolist() == [0, 0, 1]
    assert any(n.startswith("1 runner-race(s) cramped only after the finish") for n in
               records.notes)
    bad = [record(cramped=1, cramp_after_finish=1), record(runner_id="B", cramp_after_finish=2)]
    with pytest.raises(InputError) as info:
        cramp.load_records(write_csv(tmp_path / "b.csv", bad))
    found = "\n".join(info.value.problems)
    assert ("row 1, column cramp_after_finish: 1 (a cramp only after the finish) but cramped"
            in found)
    assert "row 2, column cramp_after_finish: must be 0 or 1" in found


def test_longest_run_may_be_missing_or_absent_but_a_given_value_is_checked(tmp_path):
    rows = [record(longest_run_km="NA"), record(runner_id="B", longest_run_km=""),
            record(runner_id="C")]
    records = cramp.load_records(write_csv(tmp_path / "r.csv", rows))
    assert records.table["longest_run_km"].isna().tolist() == [True, True, False]
    assert any(n.startswith("2 row(s) without longest_run_km: their excess distance is its")
               for n in records.notes)
    absent = [{k: v for k, v in record().items() if k != "longest_run_km"}]
    table = cramp.load_records(write_csv(tmp_path / "a.csv", absent)).table
    assert table["longest_run_km"].isna().all()
    with pytest.raises(InputError) as info:
        cramp.load_records(write_csv(tmp_path / "n.csv", [record(longest_run_km=-5)]))
    assert "row 1, column longest_run_km: must be >= 0" in info.value.problems[0]


def test_a_splits_file_is_long_or_wide_not_both(tmp_path):
    records = write_csv(tmp_path / "r.csv", [record(split_10km=3300)])
    both = write_csv(tmp_path / "s.csv", [{"runner_id": "A", "race_id": "city", "km": 5,
                                           "elapsed_s": 1700, "split_20km": 6800}])
    with pytest.raises(InputError, match="next to long ones \\(km, elapsed_s\\): use one"):
        cramp.load_records(records, both)
    neither = write_csv(tmp_path / "n.csv", [{"runner_id": "A", "race_id": "city", "km": 5}])
    with pytest.raises(InputError, match="missing required column\\(s\\) elapsed_s for splits"):
        cramp.load_records(records, neither)
    long = write_csv(tmp_path / "l.csv", [{"runner_id": "A", "race_id": "city", "km": 5,
                                           "elapsed_s": 1700}])
    assert cramp.load_records(records, long).splits["km"].tolist() == [10.0, 5.0]


def test_a_splits_file_next_to_wide_splits_names_its_own_rows(tmp_path):
    # the wide marks of the records come first in the checked rows; a row of the splits file is
    # still named by its number in that file (it used to be shifted by the wide rows before it)
    records = write_csv(tmp_path / "r.csv", [record(split_10km=3300),
                                            record(runner_id="B", split_10km=3400)])
    splits = write_csv(tmp_path / "s.csv", [
        {"runner_id": "A", "race_id": "city", "km": 20, "elapsed_s": 6900},
        {"runner_id": "B", "race_id": "city", "km": 50, "elapsed_s": 7000}])
    with pytest.raises(InputError) as info:
        cramp.load_records(records, splits)
    (problem,) = info.value.problems
    assert problem == (f"{tmp_path / 's.csv'}: row 2, column km: beyond the distance reached "
                       "(distance_km, or dnf_km for a DNF) (got '50')")


def test_check_with_a_bad_map_exits_2_naming_the_map_and_key(study):
    tmp, _ = study
    (tmp / "map.toml").write_text(MAP.replace('"race_id"', '"race"'))
    result = CliRunner().invoke(app, ["check", str(tmp / "cohort.csv"), "--columns",
                                      str(tmp / "map.toml")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{tmp / 'map.toml'}: records.\"Event\": unknown target column 'race'" in \
        result.stderr


def test_the_study_is_fitted_with_the_documented_command(study):
    """`cramp fit cohort.csv --columns map.toml`: the study's own file through its map, the
    outcome definition and the studies the priors rest on said, one race flagged as such."""
    tmp, _ = study
    result = CliRunner().invoke(app, ["fit", str(tmp / "cohort.csv"), "--columns",
                                      str(tmp / "map.toml"), "--draws", "150", "--tune", "150",
                                      "--out", str(tmp / "fit.nc")])
    assert result.exit_code == 0, result.output
    assert "outcome: a first cramp during the race" in result.stdout
    assert "E2" in result.output and "--exclude-evidence" in result.output
    assert "race_sd" in result.stdout and "one race" in result.stdout
    fit = cramp.Fit.load(tmp / "fit.nc")
    assert fit.attrs["n_records"] == N and "during the race" in fit.attrs["outcome_definition"]
