"""Feature definitions checked against hand computations."""

import re

import numpy as np
import pandas as pd
import pytest
from conftest import record, write_csv

from model.data.records import RaceRecords, load_records
from model.hazard.features import at_risk_before_onset, build_features, wbgt_from_weather_c
from model.hazard.specification import NO_CRAMP, ONSET_KNOWN, ONSET_UNKNOWN


def features_of(tmp_path, rows, splits=None):
    path = write_csv(tmp_path / "r.csv", rows)
    splits_path = write_csv(tmp_path / "s.csv", splits) if splits else None
    return build_features(load_records(path, splits_path))


def test_relative_pace_even_race_is_ability_over_time(tmp_path):
    # 10 km race in 50 min; ability from a 5 km in 24 min -> Riegel 24*2^1.06 = 50.04 min
    f = features_of(tmp_path, [record(distance_km=10, race_time_s=3000, ref_distance_km=5,
                                      ref_time_s=1440, longest_run_km=12)])
    expected = (1440 * 2**1.06 / 3000 - 1) / 0.10
    pace = f["relative_pace"].sel(record=0).to_numpy()
    assert pace[0] == 0.0  # nothing run before the first km
    assert pace[1:] == pytest.approx(np.full(9, expected))


def test_fast_start_keeps_raising_pace_until_it_is_paid_back(tmp_path):
    # ability 5:00/km (ref 10 km in 50:00 at a 10 km race); first 5 km at 4:30, then 5:30/km
    splits = [{"runner_id": "A", "race_id": "city", "km": k,
               "elapsed_s": 270 * min(k, 5) + 330 * max(k - 5, 0)} for k in range(1, 10)]
    f = features_of(tmp_path, [record(distance_km=10, race_time_s=3000, ref_distance_km=10,
                                      ref_time_s=3000, longest_run_km=12)], splits)
    pace = f["relative_pace"].sel(record=0).to_numpy()
    # segment s uses the time to km s-1; segment 1 has no pace behind it (a cramp in it would
    # slow its own split)
    assert pace[0] == 0.0
    assert pace[1] == pytest.approx((300 / 270 - 1) / 0.1)
    assert pace[5] == pytest.approx((1500 / 1350 - 1) / 0.1)  # km 6 starts at 5 km
    assert pace[7] == pytest.approx((2100 / (1350 + 660) - 1) / 0.1)
    assert np.all(pace[1:6] > 0) and pace[9] == pytest.approx((2700 / 2670 - 1) / 0.1)


def test_excess_distance_grows_past_the_longest_run(tmp_path):
    f = features_of(tmp_path, [record(longest_run_km=30)])
    excess = f["excess_distance"].sel(record=0).to_numpy()
    assert np.all(excess[:30] == 0)
    assert excess[30] == pytest.approx(0.05)  # midpoint 30.5 km -> 0.5 km = 0.05 x 10 km
    assert excess[42] == pytest.approx((42.0975 - 30) / 10)  # last, partial segment


def test_wbgt_from_temperature_and_humidity_matches_the_bom_formula():
    temp, rh = 25.0, 60.0
    vapour_hpa = rh / 100 * 6.105 * np.exp(17.27 * temp / (237.7 + temp))
    assert wbgt_from_weather_c(temp, rh) == pytest.approx(0.567 * temp + 0.393 * vapour_hpa
                                                           + 3.94, abs=0.05)


def test_outcomes_onsets_and_risk_sets(tmp_path):
    rows = [record(), record(runner_id="B", cramped=1, cramp_km=35.2),
            record(runner_id="C", cramped=1), record(runner_id="D", dnf_km=20.5),
            record(runner_id="E", cramped=1, cramp_km=0)]
    f = features_of(tmp_path, rows)
    assert f["outcome"].to_numpy().tolist() == [NO_CRAMP, ONSET_KNOWN, ONSET_UNKNOWN,
                                                NO_CRAMP, ONSET_KNOWN]
    assert f["onset_segment"].to_numpy().tolist() == [0, 36, 0, 0, 1]
    risk = at_risk_before_onset(f).sum("segment").to_numpy().tolist()
    assert risk == [43, 35, 43, 21, 0]


def test_damage_taper_heat_units(tmp_path):
    f = features_of(tmp_path, [record(ck_pre_u_per_l=140, taper_days=14, wbgt_c=20,
                                      cramp_history=1),
                               record(runner_id="B", ck_pre_u_per_l="", taper_days=7,
                                      wbgt_c=15, cramp_history=0)])
    assert f["muscle_damage"].to_numpy()[0] == pytest.approx(1.0)
    assert np.isnan(f["muscle_damage"].to_numpy()[1])
    assert f["taper"].to_numpy().tolist() == [1.0, 0.0]
    assert f["heat"].isel(segment=0).to_numpy().tolist() == [1.0, 0.0]


def records_of(rows, splits=None):
    """RaceRecords built directly, as a loader that accepts what the CSV rules do not yet (marks
    at any km, a missing longest run) would hand them over."""
    table = pd.DataFrame(rows)
    return RaceRecords(table, None if splits is None else pd.DataFrame(splits), "test", "0" * 64)


def mark(km, elapsed_s, runner_id="A"):
    return {"runner_id": runner_id, "race_id": "city", "km": km, "elapsed_s": elapsed_s}


def test_elapsed_at_whole_km_is_interpolated_between_marks_at_any_km():
    # marathon mats at 10 km, the half (21.0975 km) and 30 km; km 21 and 22 lie on either side
    # of the half-marathon mat, so each is interpolated from a different pair of mats
    marks = [mark(10.0, 3000.0), mark(21.0975, 6500.0), mark(30.0, 9400.0)]
    f = build_features(records_of([record()], marks))
    elapsed = f["elapsed_at_end_s"].sel(record=0).to_numpy()
    assert elapsed[20] == pytest.approx(3000 + (21 - 10) / 11.0975 * 3500)  # end of km 21
    assert elapsed[21] == pytest.approx(6500 + (22 - 21.0975) / 8.9025 * 2900)  # end of km 22
    assert elapsed[9] == pytest.approx(3000.0) and elapsed[-1] == pytest.approx(14700.0)
    # the pace at the start of km 23 (22 km) is the pace so far at the half-marathon mat
    t_pred = 6800 * (42.195 / 21.0975) ** 1.06
    pace = f["relative_pace"].sel(record=0).to_numpy()
    assert pace[22] == pytest.approx((t_pred * 21.0975 / 42.195 / 6500 - 1) / 0.1)
    assert pace[21] == pytest.approx((t_pred * 10 / 42.195 / 3000 - 1) / 0.1)  # starts at 21 km


def test_pace_after_the_last_mark_is_carried_on_not_drawn_to_the_finish():
    # one mat at 28 km of 56: 10% faster than ability to it, then a cramp and a crawl home
    t_pred = 6800 * (56 / 21.0975) ** 1.06
    at_mat = t_pred * 28 / 56 / 1.1
    row = record(distance_km=56.0, race_time_s=t_pred * 1.2, cramped=1, cramp_km=30.0)
    f = build_features(records_of([row], [mark(28.0, at_mat)]))
    pace = f["relative_pace"].sel(record=0).to_numpy()
    assert pace[:28] == pytest.approx(np.zeros(28))  # no mark behind: on ability
    assert pace[28:] == pytest.approx(np.full(28, 1.0))  # 10% faster, carried to the finish
    elapsed = f["elapsed_at_end_s"].sel(record=0).to_numpy()
    assert elapsed[-1] == pytest.approx(t_pred * 1.2)  # the finish stays for onset location


def test_longest_run_not_recorded_gives_the_documented_expectation():
    from scipy import integrate, stats

    from model.evidence.training_population import load_training_population

    rows = [record(runner_id=r, longest_run_km=np.nan) for r in "AB"]
    rows[1]["distance_km"], rows[1]["race_id"], rows[1]["race_time_s"] = 56.0, "ultra", 21000
    f = build_features(records_of(rows))
    excess = f["excess_distance"].to_numpy()
    assert np.all(np.isfinite(excess))
    population = load_training_population()
    for i, distance in enumerate((42.195, 56.0)):
        mean, sd = population.longest_run_km(distance)
        for segment in (0, 29, int(np.ceil(distance)) - 1):
            mid = min(segment + 0.5, (segment + distance) / 2)
            expected, _ = integrate.quad(lambda lr, m=mid, mu=mean, s=sd: max(0.0, m - lr)
                                         * stats.norm.pdf(lr, mu, s), mean - 10 * sd,
                                         mean + 10 * sd, points=[mid], limit=200)
            assert excess[i, segment] == pytest.approx(expected / 10, abs=1e-9)
    assert f.attrs["longest_run_missing_records"] == 2
    assert "2 record(s) without longest_run_km" in f.attrs["longest_run_treatment"]


def test_missing_longest_run_changes_only_its_own_rows():
    rows = [record(runner_id=r, longest_run_km=lr) for r, lr in
            zip("ABC", (25, 30, 35), strict=True)]
    full = build_features(records_of(rows))
    rows[1]["longest_run_km"] = np.nan
    partial = build_features(records_of(rows))
    changed = np.any(partial["excess_distance"] != full["excess_distance"], axis=1).to_numpy()
    assert changed.tolist() == [False, True, False]
    assert partial.attrs["longest_run_missing_record_index"].tolist() == [1]
    assert full.attrs["longest_run_missing_records"] == 0


@pytest.mark.parametrize(("text", "message"), [
    ("", "missing [[longest_run]] rows"),
    ("[[longest_run]]\ndistance_km = 42.195\nmean_km = 30\n", "row 1, key sd_km: must be"),
    ("[[longest_run]]\ndistance_km = 42.195\nmean_km = 10\nsd_km = 5\n",
     "row 1, key sd_km: mean_km must be at least 3 x sd_km"),
    ("[[longest_run]]\ndistance_km = 42.195\nmean_km = 30\nsd_km = 5\n"
     "[[longest_run]]\ndistance_km = 21.1\nmean_km = 19\nsd_km = 4\n", "increasing"),
])
def test_a_malformed_training_population_file_is_refused_by_row_and_key(tmp_path, text,
                                                                          message):
    from model.errors import InputError
    from model.evidence.training_population import load_training_population

    path = tmp_path / "population.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=re.escape(message)) as info:
        load_training_population(path)
    assert str(path) in str(info.value)
