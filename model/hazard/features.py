"""Turn race records into the model's features: one row per runner-race, split into 1 km segments.

Definitions (units are the units of the model's coefficients, see model/evidence/priors.toml):

- ``relative_pace`` [10% units]: speed over the race so far relative to the runner's ability,
  ``predicted_time_to_km / actual_time_to_km - 1``, divided by 0.10. The prediction scales a recent
  result to the race distance with Riegel's formula ``T2 = T1 (D2/D1)^1.06``, assuming even pacing.
  "So far" means up to the start of the segment, so a fast start keeps raising the hazard later in
  the race while the pace inside the cramp segment, which the cramp itself slows, is not used. The
  first segment has no pace behind it and gets 0 (its own split would carry the slowdown of a
  cramp in the first km). Without splits the race is taken as evenly paced.
- ``excess_distance`` [10 km units]: ``max(0, segment midpoint km - longest_run_km) / 10``.
- ``heat`` [5 degC units]: ``(WBGT - 15 degC) / 5``; WBGT from temperature and humidity with
  thermofeel's simple (ACSM / Australian BoM) approximation when ``wbgt_c`` is absent.
- ``muscle_damage`` [doublings]: ``log2(ck_pre_u_per_l / 70)``; NaN when not measured (the model
  integrates over its distribution given the taper).
- ``taper`` [7-day units]: ``(taper_days - 7) / 7``.
- ``cramp_history``: 0/1.
- ``log_distance_10km``: ``ln(segment midpoint km / 10)``, the baseline hazard's shape term.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from model.data.records import RaceRecords
from model.hazard import onset_location
from model.hazard.physiology import predicted_time_s, wbgt_from_weather_c
from model.hazard.specification import (
    HEAT_REFERENCE_C,
    NO_CRAMP,
    ONSET_KNOWN,
    ONSET_UNKNOWN,
    PACE_UNIT,
    SEGMENT_KM,
    TAPER_REFERENCE_DAYS,
    damage_units,
    excess_distance_units,
    heat_units,
    log_distance_10km,
    taper_units,
)


def segment_grid(reached_km: np.ndarray, n_segments: int | None = None):
    """Segment start/end [km] and length [km] per record; segments past `reached_km` have length 0.

    Returns (start_km, end_km, length_km), each (record, segment)."""
    reached_km = np.asarray(reached_km, dtype=float)
    if n_segments is None:
        n_segments = int(np.ceil(reached_km.max() / SEGMENT_KM - 1e-9))
    edges = np.arange(n_segments + 1) * SEGMENT_KM
    start = np.minimum(edges[None, :-1], reached_km[:, None])
    end = np.minimum(edges[None, 1:], reached_km[:, None])
    return start, end, end - start


def segment_of_km(km, reached_km):
    """1-based segment holding a point at `km` (an onset at 0 km is in segment 1)."""
    km = np.minimum(np.asarray(km, dtype=float), np.asarray(reached_km, dtype=float))
    return np.maximum(1, np.ceil(km / SEGMENT_KM - 1e-9)).astype(int)


def cumulative_relative_pace(predicted_race_time_s, race_distance_km, start_km, elapsed_at_end_s):
    """Relative pace [10% units] over the race up to the start of each segment.

    `elapsed_at_end_s` is the time [s] at each segment end, (record, segment)."""
    t_pred = np.asarray(predicted_race_time_s, float)[:, None]
    dist = np.asarray(race_distance_km, float)[:, None]
    elapsed_at_start = np.concatenate(
        [np.zeros_like(elapsed_at_end_s[:, :1]), elapsed_at_end_s[:, :-1]], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (t_pred * start_km / dist) / elapsed_at_start
    # nothing run yet in the first segment (0/0): on ability
    ratio = np.where(np.isfinite(ratio), ratio, 1.0)
    return (ratio - 1.0) / PACE_UNIT


def build_features(records: RaceRecords) -> xr.Dataset:
    """Features of every runner-race on a (record, segment) grid, with outcome coding."""
    t = records.table
    distance = t["distance_km"].to_numpy(float)
    reached = distance.copy()
    if "dnf_km" in t:
        dnf = t["dnf_km"].to_numpy(float)
        reached = np.where(np.isnan(dnf), distance, dnf)
    start, end, length = segment_grid(reached)
    race_time = t["race_time_s"].to_numpy(float)
    elapsed, observed_end = _elapsed_at_segment_ends(records, end, reached, race_time)
    t_pred = predicted_time_s(t["ref_time_s"], t["ref_distance_km"], distance)
    pace = cumulative_relative_pace(t_pred, distance, start, elapsed)
    excess = excess_distance_units(start, end, t["longest_run_km"].to_numpy(float))
    heat = np.broadcast_to(heat_units(_wbgt_c(t))[:, None], start.shape)
    cramped = t["cramped"].to_numpy(int)
    cramp_km = t["cramp_km"].to_numpy(float) if "cramp_km" in t else np.full(len(t), np.nan)
    outcome = np.where(
        cramped == 0, NO_CRAMP, np.where(np.isnan(cramp_km), ONSET_UNKNOWN, ONSET_KNOWN)
    )
    onset = np.where(outcome == ONSET_KNOWN, segment_of_km(np.nan_to_num(cramp_km), reached), 0)
    last = segment_of_km(reached, reached)
    intervals = onset_location.intervals(elapsed, observed_end, length, start, distance)
    split_model = onset_location.fit_split_model(intervals, outcome != ONSET_UNKNOWN, onset,
                                                 length)
    onset_log_weight = onset_location.onset_log_weights(
        intervals, split_model, outcome == ONSET_UNKNOWN, length)
    runner_codes, runners = pd.factorize(t["runner_id"])
    race_codes, races = pd.factorize(t["race_id"])
    optional = {
        "ck_pre_u_per_l": t["ck_pre_u_per_l"].to_numpy(float)
        if "ck_pre_u_per_l" in t
        else np.full(len(t), np.nan),
        "taper_days": t["taper_days"].to_numpy(float)
        if "taper_days" in t
        else np.full(len(t), TAPER_REFERENCE_DAYS),
        "cramp_history": t["cramp_history"].to_numpy(float)
        if "cramp_history" in t
        else np.zeros(len(t)),
    }
    return features_dataset(
        start_km=start,
        end_km=end,
        relative_pace=pace,
        excess_distance=excess,
        heat=heat,
        muscle_damage=damage_units(optional["ck_pre_u_per_l"]),
        taper=taper_units(optional["taper_days"]),
        cramp_history=optional["cramp_history"],
        outcome=outcome,
        onset_segment=onset,
        last_segment=last,
        runner_index=runner_codes,
        race_index=race_codes,
        runner_ids=np.asarray(runners, dtype=str),
        race_ids=np.asarray(races, dtype=str),
        elapsed_at_end_s=elapsed,
        onset_log_weight=onset_log_weight,
        attrs=split_model.attrs() if split_model else {"onset_slowdown_ln_pace": "not estimated"},
    )


def features_dataset(
    *,
    start_km,
    end_km,
    relative_pace,
    excess_distance,
    heat,
    muscle_damage,
    taper,
    cramp_history,
    outcome,
    onset_segment,
    last_segment,
    runner_index,
    race_index,
    runner_ids,
    race_ids,
    elapsed_at_end_s=None,
    onset_log_weight=None,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Assemble the labelled feature set the model and the simulators share. `onset_log_weight`
    (record, segment): ln of how well an onset in each segment explains the splits of a cramp
    with unknown onset (model/hazard/onset_location.py); default 0, no information."""
    cell = ("record", "segment")
    n_record, n_segment = np.shape(start_km)
    data = {
        "segment_start_km": (cell, start_km),
        "segment_length_km": (cell, end_km - start_km),
        "log_distance_10km": (cell, log_distance_10km(start_km, end_km)),
        "relative_pace": (cell, np.asarray(relative_pace, float)),
        "excess_distance": (cell, np.asarray(excess_distance, float)),
        "heat": (cell, np.asarray(heat, float)),
        "muscle_damage": ("record", np.asarray(muscle_damage, float)),
        "taper": ("record", np.asarray(taper, float)),
        "cramp_history": ("record", np.asarray(cramp_history, float)),
        "outcome": ("record", np.asarray(outcome, int)),
        "onset_segment": ("record", np.asarray(onset_segment, int)),
        "last_segment": ("record", np.asarray(last_segment, int)),
        "runner_index": ("record", np.asarray(runner_index, int)),
        "race_index": ("record", np.asarray(race_index, int)),
        "onset_log_weight": (cell, np.zeros((n_record, n_segment)) if onset_log_weight is None
                             else np.asarray(onset_log_weight, float)),
    }
    if elapsed_at_end_s is not None:
        data["elapsed_at_end_s"] = (cell, elapsed_at_end_s)
    ds = xr.Dataset(
        data,
        coords={
            "record": np.arange(n_record),
            "segment": np.arange(1, n_segment + 1),
            "runner": np.asarray(runner_ids, dtype=str),
            "race": np.asarray(race_ids, dtype=str),
        },
    )
    ds.attrs.update(attrs or {})
    ds["relative_pace"].attrs["units"] = "10% faster than ability"
    ds["excess_distance"].attrs["units"] = "10 km beyond the longest training run"
    ds["heat"].attrs["units"] = "5 degC WBGT above 15 degC"
    ds["muscle_damage"].attrs["units"] = "doublings of pre-race CK above 70 U/L"
    ds["taper"].attrs["units"] = "7 days of taper beyond 7 days"
    ds["outcome"].attrs["codes"] = "0 no cramp, 1 cramp with known onset, 2 onset unknown"
    return ds


def at_risk_before_onset(features: xr.Dataset) -> xr.DataArray:
    """Cells whose survival enters the likelihood: before the onset segment for a known onset,
    up to the last segment reached otherwise."""
    seg = features["segment"]
    known = features["outcome"] == ONSET_KNOWN
    limit = xr.where(known, features["onset_segment"] - 1, features["last_segment"])
    return ((seg <= limit) & (features["segment_length_km"] > 0)).transpose("record", "segment")


def _wbgt_c(t: pd.DataFrame) -> np.ndarray:
    wbgt = t["wbgt_c"].to_numpy(float) if "wbgt_c" in t else np.full(len(t), np.nan)
    if "temp_c" in t and "rh_pct" in t:
        computed = wbgt_from_weather_c(t["temp_c"].to_numpy(float), t["rh_pct"].to_numpy(float))
        wbgt = np.where(np.isnan(wbgt), computed, wbgt)
    return np.where(np.isnan(wbgt), HEAT_REFERENCE_C, wbgt)


def _elapsed_at_segment_ends(
    records: RaceRecords, end_km: np.ndarray, reached: np.ndarray, race_time: np.ndarray
) -> np.ndarray:
    """Elapsed time [s] at each segment end: from splits where given (linear between them),
    otherwise even pacing over the distance reached; and whether each end's time was observed
    (a split, or the finish or stop), both (record, segment)."""
    elapsed = race_time[:, None] * end_km / reached[:, None]
    last = np.ceil(reached - 1e-9).astype(int)
    observed_end = np.arange(1, end_km.shape[1] + 1) == last[:, None]
    if records.splits is None or records.splits.empty:
        return elapsed, observed_end
    t = records.table
    key = pd.MultiIndex.from_arrays([t["runner_id"], t["race_id"]])
    s = records.splits
    record = key.get_indexer(pd.MultiIndex.from_arrays([s["runner_id"], s["race_id"]]))
    n_seg = end_km.shape[1]
    # anchor points per record: (0, 0), each split, (reached, race_time)
    points = np.full((len(t), n_seg + 1), np.nan)
    points[:, 0] = 0.0
    col = np.rint(s["km"].to_numpy(float)).astype(int)
    inside = (col >= 1) & (col <= n_seg) & (s["km"].to_numpy(float) < reached[record])
    points[record[inside], col[inside]] = s["elapsed_s"].to_numpy(float)[inside]
    points[np.arange(len(t)), last] = race_time
    observed_end |= np.isfinite(points[:, 1:])
    has = np.zeros(len(t), bool)
    has[record] = True
    filled = pd.DataFrame(points[has]).interpolate(axis=1, limit_area="inside").to_numpy()
    elapsed[has] = filled[:, 1:]
    return np.where(end_km > 0, elapsed, np.nan), observed_end
