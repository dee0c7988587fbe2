"""Feature definitions checked against hand computations."""

import numpy as np
import pytest
from conftest import record, write_csv

from model.data.records import load_records
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
