"""Turn race records into the model's features: one row per runner-race, split into 1 km segments.

Definitions (units are the units of the model's coefficients, see model/evidence/priors.toml):

- ``relative_pace`` [10% units]: speed over the race so far relative to the runner's ability,
  ``predicted_time_to_km / actual_time_to_km - 1``, divided by 0.10. The prediction scales a recent
  result to the race distance with Riegel's formula ``T2 = T1 (D2/D1)^1.06``, assuming even pacing.
  "So far" means up to the start of the segment, so a fast start keeps raising the hazard later in
  the race while the pace inside the cramp segment, which the cramp itself slows, is not used. The
  first segment has no pace behind it and gets 0 (its own split would carry the slowdown of a
  cramp in the first km). Times come from the timing marks (splits at any km, whole or not).
  The pace so far at a km is the pace so far at the last mark at or before it, carried on (its
  average speed extrapolated); before a record's first mark it is 0 (on ability), as in the
  first segment. A later mark or the finish is never used: for a runner who cramped before it,
  its time holds the cramp's slowdown, and interpolating towards it made the crampers look
  slower than they ran before cramping. With one mat at 28 km of a 56 km race
  (tests/test_sparse_splits.py) relative_pace's 95% interval was [-1.24, -0.55] for a true
  0.7 when the pace after the mat was interpolated to the finish, [-0.16, 0.30] when it was
  carried on but still interpolated towards the mat before it, and [0.37, 0.92] with this rule.
  The rule is the same for crampers and non-crampers, so the feature does not depend on the
  outcome; what it gives up is everyone's pace change between marks (and the pace before the
  first mark), a measurement error shared by both. With whole-km splits at every km it is
  exact. The timed elapsed (`elapsed_at_end_s`, linear between marks and to the finish) keeps
  the finish for the onset location (model/hazard/onset_location.py), which models the
  slowdown. Without any intermediate mark the race is taken as evenly paced from the finish
  time (biased for crampers, noted by model/data/records.py).
- ``excess_distance`` [10 km units]: ``max(0, segment midpoint km - longest_run_km) / 10``.
  Where ``longest_run_km`` was not recorded (NaN), its expectation over the population's longest
  run given the race distance (model/evidence/training_population.toml, a normal per distance):
  ``E max(0, m - L) / 10``. This is regression calibration, not marginalisation: the hazard is
  convex in the feature, so by Jensen ``E exp(beta x) >= exp(beta E x)`` and such a record's
  hazard is understated by about ``beta^2 Var(x) / 2`` on the log scale (beta 0.5: at most 0.03
  for a marathon's SD of 5 km, 0.28 for 161 km's 15 km). Exact marginalisation would need a
  quadrature over the latent longest run in the likelihood, as for CK. The records so treated
  are listed in the features' attrs (``longest_run_missing_records``,
  ``longest_run_missing_record_index``, ``longest_run_treatment``: one line for a fit's log).
- ``heat`` [5 degC units]: ``(WBGT - 15 degC) / 5``; WBGT from temperature and humidity with
  thermofeel's simple (ACSM / Australian BoM) approximation when ``wbgt_c`` is absent.
- ``muscle_damage`` [doublings]: ``log2(ck_pre_u_per_l / 70)``; NaN when not measured (the model
  integrates over its distribution given the taper).
- ``taper`` [7-day units]: ``(taper_days - 7) / 7``.
- ``cramp_history``: 0/1.
- ``log_distance_10km``: ``ln(segment midpoint km / 10)``, the baseline hazard's shape term.
- any other factor of the specification (model/hazard/specification.py): from its record
  column (a record factor) or the segment grid and the race distance (a cell factor), as its
  `Factor` defines (`plain_factor_features`); muscle_damage, taper and cramp_history are so
  defined.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from model.data.records import RaceRecords
from model.data.splits import WHOLE_KM_TOLERANCE
from model.evidence.training_population import load_training_population
from model.hazard import onset_location
from model.hazard.physiology import predicted_time_s, wbgt_from_weather_c
from model.hazard.specification import (
    CELL_FACTORS,
    FACTORS,
    HEAT_REFERENCE_C,
    NO_CRAMP,
    ONSET_KNOWN,
    ONSET_UNKNOWN,
    PACE_UNIT,
    RECORD_FACTORS,
    REGISTRY,
    SEGMENT_KM,
    excess_distance_units,
    expected_excess_distance_units,
    heat_units,
    log_distance_10km,
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
    t_pred = predicted_time_s(t["ref_time_s"], t["ref_distance_km"], distance)
    on_ability_s = np.asarray(t_pred, float)[:, None] * end / distance[:, None]
    elapsed, elapsed_for_pace, observed_end = _elapsed_at_segment_ends(
        records, end, reached, race_time, on_ability_s)
    pace = cumulative_relative_pace(t_pred, distance, start, elapsed_for_pace)
    excess, longest_run_attrs = _excess_distance(t, start, end, distance)
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
    # the cell factors whose features need the splits, the training population and the weather
    # (the specification's `special`); every other factor from its column or the segment grid
    own = {"relative_pace": pace, "excess_distance": excess, "heat": heat}
    factor_columns = {f.column for f in REGISTRY.factors}
    columns = {name: t[name].to_numpy(float) for name in t.columns if name in factor_columns}
    return features_dataset(
        start_km=start,
        end_km=end,
        outcome=outcome,
        onset_segment=onset,
        last_segment=last,
        runner_index=runner_codes,
        race_index=race_codes,
        runner_ids=np.asarray(runners, dtype=str),
        race_ids=np.asarray(races, dtype=str),
        elapsed_at_end_s=elapsed,
        onset_log_weight=onset_log_weight,
        attrs={**(split_model.attrs() if split_model
                  else {"onset_slowdown_ln_pace": "not estimated"}), **longest_run_attrs},
        **{**plain_factor_features(columns, start, end, distance), **own},
    )


def plain_factor_features(columns: dict[str, np.ndarray], start_km: np.ndarray,
                          end_km: np.ndarray, distance_km: np.ndarray) -> dict[str, np.ndarray]:
    """Every factor defined by a record column or the segment grid (model/hazard/
    factor_registry.py), by name: a record factor (record,) from `columns` (column name ->
    values per record; an absent column gives every record the factor's `absent` value), a cell
    factor (record, segment) from the segment bounds [km] and the race distance [km]."""
    n = len(start_km)
    out = {}
    for f in REGISTRY.factors:
        if f.level == "record" and f.column is not None:
            out[f.name] = f.from_column(columns.get(f.column), n)
        elif f.level == "cell" and f.on_grid is not None:
            out[f.name] = f.from_grid(start_km, end_km, np.asarray(distance_km, float)[:, None])
    return out


def features_dataset(
    *,
    start_km,
    end_km,
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
    **factors,
) -> xr.Dataset:
    """Assemble the labelled feature set the model and the simulators share. `factors`: one
    array per factor of the specification, by name, (record, segment) for a cell factor and
    (record,) for a record factor, in the factor's units. `onset_log_weight` (record, segment):
    ln of how well an onset in each segment explains the splits of a cramp with unknown onset
    (model/hazard/onset_location.py); default 0, no information."""
    missing = [name for name in FACTORS if name not in factors]
    unknown = [name for name in factors if name not in FACTORS]
    if missing or unknown:
        raise ValueError(f"features_dataset: factor values missing {missing}, unknown {unknown}")
    cell = ("record", "segment")
    n_record, n_segment = np.shape(start_km)
    data = {
        "segment_start_km": (cell, start_km),
        "segment_length_km": (cell, end_km - start_km),
        "log_distance_10km": (cell, log_distance_10km(start_km, end_km)),
        **{name: (cell, np.asarray(factors[name], float)) for name in CELL_FACTORS},
        **{name: ("record", np.asarray(factors[name], float)) for name in RECORD_FACTORS},
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
    for f in REGISTRY.factors:
        if f.unit and f.unit != "0/1":
            ds[f.name].attrs["units"] = f.unit
    ds["outcome"].attrs["codes"] = "0 no cramp, 1 cramp with known onset, 2 onset unknown"
    return ds


def at_risk_before_onset(features: xr.Dataset) -> xr.DataArray:
    """Cells whose survival enters the likelihood: before the onset segment for a known onset,
    up to the last segment reached otherwise."""
    seg = features["segment"]
    known = features["outcome"] == ONSET_KNOWN
    limit = xr.where(known, features["onset_segment"] - 1, features["last_segment"])
    return ((seg <= limit) & (features["segment_length_km"] > 0)).transpose("record", "segment")


def _excess_distance(t: pd.DataFrame, start_km: np.ndarray, end_km: np.ndarray,
                     distance_km: np.ndarray) -> tuple[np.ndarray, dict]:
    """excess_distance (record, segment) and attrs naming the records whose longest run was not
    recorded (column absent or NaN): those get the feature's expectation under the training
    population (module docstring)."""
    longest = t["longest_run_km"].to_numpy(float) if "longest_run_km" in t \
        else np.full(len(t), np.nan)
    missing = np.isnan(longest)
    excess = excess_distance_units(start_km, end_km, np.where(missing, 0.0, longest))
    if not missing.any():
        return excess, {"longest_run_missing_records": 0}
    population = load_training_population()
    mean, sd = population.longest_run_km(distance_km[missing])
    excess[missing] = expected_excess_distance_units(start_km[missing], end_km[missing], mean, sd)
    return excess, {
        "longest_run_missing_records": int(missing.sum()),
        "longest_run_missing_record_index": np.flatnonzero(missing),
        "longest_run_treatment": (
            f"{int(missing.sum())} record(s) without longest_run_km: excess distance is their "
            f"expected value under the {population.describe()} (sha256 "
            f"{population.sha256[:12]}); regression calibration, which understates their "
            "hazard's convexity slightly (Jensen)"),
    }


def _wbgt_c(t: pd.DataFrame) -> np.ndarray:
    wbgt = t["wbgt_c"].to_numpy(float) if "wbgt_c" in t else np.full(len(t), np.nan)
    if "temp_c" in t and "rh_pct" in t:
        computed = wbgt_from_weather_c(t["temp_c"].to_numpy(float), t["rh_pct"].to_numpy(float))
        wbgt = np.where(np.isnan(wbgt), computed, wbgt)
    return np.where(np.isnan(wbgt), HEAT_REFERENCE_C, wbgt)


def _elapsed_at_segment_ends(
    records: RaceRecords, end_km: np.ndarray, reached: np.ndarray, race_time: np.ndarray,
    on_ability_s: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elapsed time [s] at each segment end, (record, segment), twice, and which ends count as
    observed for the onset location:

    - as timed: linear in km between the start, the timing marks (at any km, not only whole
      ones) and the finish or stop; even pacing over the distance reached without marks;
    - for the pace feature, in records with intermediate marks: the average speed of the last
      mark at or before the end carried on, and `on_ability_s` (the ability's time) before the
      first mark; never a later mark or the finish, which would bring a cramp's slowdown into
      the pace before it (module docstring);
    - observed: the finish or stop, and the whole-km end nearest each mark (its time is
      interpolated from the marks: exact for a whole-km mark)."""
    n_rec, n_seg = end_km.shape
    rows = np.arange(n_rec)
    last = np.ceil(reached - 1e-9).astype(int)
    observed_end = np.arange(1, n_seg + 1) == last[:, None]
    km, time_s, record = _intermediate_marks(records, reached)
    n_marks = np.bincount(record, minlength=n_rec)
    width = n_marks.max(initial=0) + 2
    # anchors per record, increasing in km: (0, 0), each mark, (reached, race time), then pads
    # past the distance reached, which no segment end looks up
    anchor_km = reached[:, None] + 1.0 + np.arange(width)
    anchor_s = np.broadcast_to(race_time[:, None], (n_rec, width)).copy()
    anchor_km[:, 0], anchor_s[:, 0] = 0.0, 0.0
    position = np.arange(len(record)) - np.searchsorted(record, record) + 1
    anchor_km[record, position], anchor_s[record, position] = km, time_s
    anchor_km[rows, n_marks + 1], anchor_s[rows, n_marks + 1] = reached, race_time
    timed, before = _interp_rows(end_km, anchor_km, anchor_s)
    mark_km, mark_s = anchor_km[rows[:, None], before], anchor_s[rows[:, None], before]
    with np.errstate(invalid="ignore", divide="ignore"):
        carried = np.where(before > 0, mark_s * (end_km / mark_km), on_ability_s)
    # the finish keeps its time: only the zero-length cells past it start there
    for_pace = np.where((n_marks[:, None] > 0) & (end_km < reached[:, None]), carried, timed)
    # nothing was timed past the distance reached: NaN (pace 0 in those zero-length cells), as
    # the whole-km rule had it; records without marks keep their even-pacing values there
    past = (n_marks[:, None] > 0) & (np.arange(1, n_seg + 1) > last[:, None])
    timed[past], for_pace[past] = np.nan, np.nan
    nearest_end = np.clip(np.rint(km).astype(int), 1, last[record])
    observed_end[record, nearest_end - 1] = True
    return timed, for_pace, observed_end


def _intermediate_marks(records: RaceRecords, reached: np.ndarray):
    """The timing marks strictly between the start and the distance reached (a mark at the
    distance reached is the finish, race_time_s): km, elapsed [s] and record index, sorted by
    record and km."""
    s = records.splits
    if s is None or s.empty:
        return np.zeros(0), np.zeros(0), np.zeros(0, int)
    t = records.table
    key = pd.MultiIndex.from_arrays([t["runner_id"], t["race_id"]])
    record = key.get_indexer(pd.MultiIndex.from_arrays([s["runner_id"], s["race_id"]]))
    km = s["km"].to_numpy(float)
    time_s = s["elapsed_s"].to_numpy(float)
    inside = (record >= 0) & (km > 0) & np.isfinite(time_s)
    inside[inside] &= km[inside] < reached[record[inside]] - WHOLE_KM_TOLERANCE
    order = np.lexsort((km[inside], record[inside]))
    return km[inside][order], time_s[inside][order], record[inside][order]


def _interp_rows(x: np.ndarray, xp: np.ndarray, fp: np.ndarray):
    """np.interp row by row, vectorised: x (record, m) within each row's [xp[:, 0], xp[:, -1]],
    xp (record, k) increasing along each row, fp (record, k); also the index of the last xp <=
    x. The rows are laid end to end on one axis (row r shifted by r x span) so that one
    searchsorted finds every bracket."""
    n, k = xp.shape
    span = float(xp.max()) + 1.0
    shift = np.arange(n)[:, None] * span
    flat = np.searchsorted((xp + shift).ravel(), (x + shift).ravel(), side="right")
    j = np.clip(flat.reshape(x.shape) - 1 - np.arange(n)[:, None] * k, 0, k - 2)
    rows = np.arange(n)[:, None]
    x0, x1, f0, f1 = xp[rows, j], xp[rows, j + 1], fp[rows, j], fp[rows, j + 1]
    return f0 + (x - x0) / (x1 - x0) * (f1 - f0), j
