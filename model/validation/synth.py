"""Synthetic cohorts drawn from the hazard model with chosen true coefficients: race records (the
columns of design.md) and per-km splits, for tests, parameter recovery and demos.

The field: runners of a range of abilities (marathon 2:45-6:00), each running 1-3 of the races,
with recent half-marathon results, longest runs, tapers, pre-race CK (measured for some), cramp
history, weather per race and a pacing pattern (a fast start for some). Onsets are drawn from the
hazard; a cramp slows the rest of the race by 15%; some runners drop out at random.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from model.hazard.features import (
    cumulative_relative_pace,
    features_dataset,
    plain_factor_features,
    predicted_time_s,
    segment_grid,
)
from model.hazard.forward import cell_log_rate
from model.hazard.specification import (
    FACTORS,
    MARATHON_KM,
    damage_units,
    excess_distance_units,
    heat_units,
    latent_log_ck,
    taper_units,
)

DEFAULT_TRUTH = {
    # a factor registered beyond these has a true coefficient of 0 unless `truth` sets one
    "beta": {"relative_pace": 0.6, "excess_distance": 0.5, "muscle_damage": 0.35, "taper": -0.2,
             "heat": 0.15, "cramp_history": 0.9},
    "log_hazard_per_km": -6.9,
    "distance_shape": 1.0,
    "runner_sd": 0.5,
    "race_sd": 0.3,
    "ck_log_mean": 4.25,
    "ck_log_sd": 0.6,
    "ck_taper_effect": -0.2,
}
CRAMP_SLOWDOWN = 1.15
KM_PACE_SD = 0.03  # ln pace of one km around the plan
FAST_START_SHARE = 0.4  # of runners start too fast, by a speed share drawn from FAST_START_SPEED
FAST_START_SPEED = (0.03, 0.12)
FAST_START_UNTIL = 0.4  # share of the race distance run fast, paid back over the rest
REF_DISTANCE_KM = 21.0975


def truth_dataset(truth: dict | None = None) -> xr.Dataset:
    t = {**DEFAULT_TRUTH, **(truth or {})}
    beta = {**DEFAULT_TRUTH["beta"], **t["beta"]}
    data = {k: ((), float(v)) for k, v in t.items() if k != "beta"}
    data["beta"] = (("factor",), [beta.get(f, 0.0) for f in FACTORS])
    return xr.Dataset(data, coords={"factor": list(FACTORS)})


@dataclass
class Field:
    """A field of runner-races before any parameter is applied: the runners, their preparation,
    pacing plans and weather, plus standard-normal draws for the runner and race effects and for
    pre-race CK, so that the same field can be scored under many parameter draws."""

    distance_km: np.ndarray
    ref_time_s: np.ndarray
    longest_run_km: np.ndarray
    taper_days: np.ndarray
    cramp_history: np.ndarray
    wbgt_c: np.ndarray
    runner_index: np.ndarray
    race_index: np.ndarray
    segment_time_s: np.ndarray  # (record, segment), planned
    z_runner: np.ndarray
    z_race: np.ndarray
    z_ck: np.ndarray

    @property
    def n_records(self) -> int:
        return len(self.distance_km)


def draw_field(
    n_records: int,
    rng: np.random.Generator,
    *,
    distances_km: tuple[float, ...] = (MARATHON_KM,),
    n_races: int | None = None,
    wbgt_range_c: tuple[float, float] = (8.0, 28.0),
    fast_start_share: float = FAST_START_SHARE,
) -> Field:
    """Draw a field: marathon-equivalent abilities 2:45-6:00 h, longest runs ~72% of the race
    distance, tapers of 2-21 days, 30% with a cramp history, `fast_start_share` (40%) starting
    3-12% too fast over the first 40% of the race and paying it back after (a step in pace at
    40%), and each km's pace 3% (SD) off the plan. The share changes no random draw."""
    n_races = n_races or max(8, n_records // 400)
    race_distance = np.resize(np.asarray(distances_km, float), n_races)
    race_wbgt = rng.uniform(*wbgt_range_c, n_races)
    runner = _assign_runners(n_records, rng)
    n_runners = runner.max() + 1
    race = _assign_races(runner, n_races, rng)
    marathon_time = np.exp(rng.normal(np.log(4.0 * 3600), 0.18, n_runners)).clip(
        2.75 * 3600, 6 * 3600
    )
    history = (rng.random(n_runners) < 0.3)[runner].astype(float)
    distance = race_distance[race]
    ref_time = predicted_time_s(marathon_time[runner], MARATHON_KM, REF_DISTANCE_KM)
    ref_time *= np.exp(rng.normal(0, 0.03, n_records))  # form on the day of the reference race
    longest = np.clip(rng.normal(0.72 * np.minimum(distance, 60), 5.0), 10.0, None).round(1)
    taper_days = rng.integers(2, 22, n_records).astype(float)
    # planned pacing: overall speed vs ability and a fast or even start (first 40% of the race)
    _, end, length = segment_grid(distance)
    t_pred = predicted_time_s(ref_time, REF_DISTANCE_KM, distance)
    overall = rng.normal(-0.02, 0.05, n_records)
    fast_start = np.where(rng.random(n_records) < fast_start_share,
                          rng.uniform(*FAST_START_SPEED, n_records), 0.0)
    early = end <= FAST_START_UNTIL * distance[:, None]
    paid_back = fast_start * FAST_START_UNTIL / (1.0 - FAST_START_UNTIL)
    speed = (
        1
        + overall[:, None]
        + np.where(early, fast_start[:, None], -paid_back[:, None])
    ) * np.exp(rng.normal(0.0, KM_PACE_SD, end.shape))  # hills, wind, drink stations
    return Field(
        distance,
        ref_time,
        longest,
        taper_days,
        history,
        race_wbgt[race],
        runner,
        race,
        (t_pred / distance)[:, None] * length / speed,
        rng.standard_normal(n_runners),
        rng.standard_normal(n_races),
        rng.standard_normal(n_records),
    )


def field_log_ck(field: Field, ck_log_mean, ck_log_sd, ck_taper_effect):
    """ln pre-race CK of every runner-race under the mediator model (taper lowers damage), as a
    DataArray over `record` (and any dims of the parameters, e.g. draw)."""
    taper = xr.DataArray(taper_units(field.taper_days), dims="record")
    z_ck = xr.DataArray(field.z_ck, dims="record")
    return latent_log_ck(ck_log_mean, ck_taper_effect, taper, ck_log_sd, z_ck)


def field_features(field: Field, muscle_damage: np.ndarray) -> xr.Dataset:
    """Features of the field's planned races with the given damage [doublings] per record."""
    start, end, _ = segment_grid(field.distance_km)
    t_pred = predicted_time_s(field.ref_time_s, REF_DISTANCE_KM, field.distance_km)
    elapsed = np.cumsum(field.segment_time_s, axis=1)
    n = field.n_records
    # the factors the field does not draw get their value for a record without the column
    plain = plain_factor_features({"taper_days": field.taper_days,
                                   "cramp_history": field.cramp_history}, start, end,
                                  field.distance_km)
    return features_dataset(
        start_km=start,
        end_km=end,
        **{**plain,
           "relative_pace": cumulative_relative_pace(t_pred, field.distance_km, start, elapsed),
           "excess_distance": excess_distance_units(start, end, field.longest_run_km),
           "heat": np.broadcast_to(heat_units(field.wbgt_c)[:, None], start.shape),
           "muscle_damage": muscle_damage},
        outcome=np.zeros(n, int),
        onset_segment=np.zeros(n, int),
        last_segment=np.full(n, start.shape[1]),
        runner_index=field.runner_index,
        race_index=field.race_index,
        runner_ids=np.arange(len(field.z_runner)).astype(str),
        race_ids=np.arange(len(field.z_race)).astype(str),
    )


def synthesize(
    n_records: int,
    seed: int,
    truth: dict | None = None,
    *,
    distances_km: tuple[float, ...] = (MARATHON_KM,),
    n_races: int | None = None,
    ck_measured_fraction: float = 0.6,
    onset_known_fraction: float = 0.75,
    dnf_fraction: float = 0.03,
    cramp_slowdown: float = CRAMP_SLOWDOWN,
    fast_start_share: float = FAST_START_SHARE,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A cohort of `n_records` runner-races drawn with the true parameters `truth`
    (defaults: DEFAULT_TRUTH); returns (records, splits). `cramp_slowdown` (pace after an onset
    over pace before) and `fast_start_share` (draw_field) are for diagnostic variants (bench/
    score_check.py); none of the options changes a random draw, so the same seed gives the
    same field, onsets and onset-known flags."""
    rng = np.random.default_rng(seed)
    params = truth_dataset(truth)
    field = draw_field(n_records, rng, distances_km=distances_km, n_races=n_races,
                       fast_start_share=fast_start_share)
    n = n_records
    log_ck = field_log_ck(
        field,
        float(params["ck_log_mean"]),
        float(params["ck_log_sd"]),
        float(params["ck_taper_effect"]),
    )
    # rounded as a lab reports it, but never to 0 U/L (a prior-tail draw would give ln 0)
    ck = np.maximum(np.exp(log_ck).round(1), 0.1)
    features = field_features(field, damage_units(ck))
    extra = xr.DataArray(
        float(params["runner_sd"]) * field.z_runner[field.runner_index]
        + float(params["race_sd"]) * field.z_race[field.race_index],
        dims="record",
    )
    rate = np.exp(cell_log_rate(features, params, extra).to_numpy())
    cumulative = np.cumsum(rate, axis=1)
    threshold = -np.log(rng.random(n))
    cramped = cumulative[:, -1] > threshold
    onset_seg = np.where(cramped, np.argmax(cumulative > threshold[:, None], axis=1), -1)
    # onset km: uniform within the onset segment
    rows = np.arange(n)
    start = features["segment_start_km"].to_numpy()
    length = features["segment_length_km"].to_numpy()
    distance = field.distance_km
    cramp_km = np.where(
        cramped, start[rows, onset_seg] + rng.random(n) * length[rows, onset_seg], np.nan
    )

    # drop-outs at a random km; a cramp after the drop-out did not happen
    dnf = rng.random(n) < dnf_fraction
    dnf_km = np.where(dnf, np.round(rng.uniform(0.3, 0.95, n) * distance, 1), np.nan)
    after_dnf = dnf & cramped & (cramp_km > dnf_km)
    cramped &= ~after_dnf
    cramp_km = np.where(cramped, cramp_km, np.nan)
    reached = np.where(dnf, dnf_km, distance)

    # the share of each segment run after the onset is run `cramp_slowdown` times slower
    with np.errstate(invalid="ignore", divide="ignore"):
        after = np.clip((start + length - np.nan_to_num(cramp_km)[:, None]) / length, 0.0, 1.0)
    after = np.where(cramped[:, None] & (length > 0), after, 0.0)
    seg_time = field.segment_time_s * (1.0 + (cramp_slowdown - 1.0) * after)
    elapsed = np.cumsum(seg_time, axis=1)
    race_time = _time_at_km(seg_time, start, length, reached)

    known = rng.random(n) < onset_known_fraction
    records = pd.DataFrame(
        {
            "runner_id": [f"R{i:06d}" for i in field.runner_index],
            "race_id": [f"race{j:03d}" for j in field.race_index],
            "distance_km": distance,
            "race_time_s": race_time.round(1),
            "ref_distance_km": REF_DISTANCE_KM,
            "ref_time_s": field.ref_time_s.round(1),
            "longest_run_km": field.longest_run_km,
            "cramped": cramped.astype(int),
            "cramp_km": np.where(cramped & known, np.round(cramp_km, 3), np.nan),
            "dnf_km": dnf_km,
            "ck_pre_u_per_l": np.where(rng.random(n) < ck_measured_fraction, ck, np.nan),
            "taper_days": field.taper_days,
            "wbgt_c": field.wbgt_c.round(2),
            "cramp_history": field.cramp_history.astype(int),
        }
    )
    splits = _splits_table(records, elapsed, start + length, reached)
    return records, splits


def _assign_runners(n_records: int, rng: np.random.Generator) -> np.ndarray:
    """Runner index per record: runners run 1, 2 or 3 of the races."""
    races_per_runner = rng.choice([1, 2, 3], size=n_records, p=[0.6, 0.3, 0.1])
    runner = np.repeat(np.arange(n_records), races_per_runner)[:n_records]
    return runner


def _assign_races(runner: np.ndarray, n_races: int, rng: np.random.Generator) -> np.ndarray:
    """A race per record, different races for the records of one runner."""
    first = rng.integers(0, n_races, runner.max() + 1)
    order_within = np.arange(len(runner)) - np.searchsorted(runner, runner)
    return (first[runner] + order_within) % n_races


def _time_at_km(
    seg_time: np.ndarray, start_km: np.ndarray, length_km: np.ndarray, km: np.ndarray
) -> np.ndarray:
    """Elapsed time [s] at `km` per record, even pace within the segment that holds it."""
    rows = np.arange(len(km))
    seg = np.clip(np.ceil(km - 1e-9).astype(int) - 1, 0, seg_time.shape[1] - 1)
    before = np.cumsum(seg_time, axis=1)[rows, seg] - seg_time[rows, seg]
    fraction = (km - start_km[rows, seg]) / length_km[rows, seg]
    return before + fraction * seg_time[rows, seg]


def _splits_table(
    records: pd.DataFrame, elapsed: np.ndarray, end_km: np.ndarray, reached: np.ndarray
) -> pd.DataFrame:
    whole_km = (end_km == np.floor(end_km)) & (end_km < reached[:, None]) & (end_km > 0)
    rec, seg = np.nonzero(whole_km)
    return pd.DataFrame(
        {
            "runner_id": records["runner_id"].to_numpy()[rec],
            "race_id": records["race_id"].to_numpy()[rec],
            "km": end_km[rec, seg].astype(int),
            "elapsed_s": elapsed[rec, seg].round(1),
        }
    )
