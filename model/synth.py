"""Synthetic cohorts drawn from the hazard model with chosen true coefficients: race records (the
columns of design.md) and per-km splits, for tests, parameter recovery and demos.

The field: runners of a range of abilities (marathon 2:45-6:00), each running 1-3 of the races,
with recent half-marathon results, longest runs, tapers, pre-race CK (measured for some), cramp
history, weather per race and a pacing pattern (a fast start for some). Onsets are drawn from the
hazard; a cramp slows the rest of the race by 15%; some runners drop out at random.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from model.features import (
    cumulative_relative_pace,
    damage_units,
    excess_distance_units,
    features_dataset,
    heat_units,
    predicted_time_s,
    segment_grid,
    taper_units,
)
from model.kernel import cell_log_rate
from model.priors import FACTORS

DEFAULT_TRUTH = {
    "beta": dict(zip(FACTORS, (0.6, 0.5, 0.35, -0.2, 0.15, 0.9), strict=True)),
    "log_hazard_per_km": -6.9,
    "distance_shape": 1.0,
    "runner_sd": 0.5,
    "race_sd": 0.3,
    "ck_log_mean": 4.25,
    "ck_log_sd": 0.6,
    "ck_taper_effect": -0.2,
}
CRAMP_SLOWDOWN = 1.15
REF_DISTANCE_KM = 21.0975


def truth_dataset(truth: dict | None = None) -> xr.Dataset:
    t = {**DEFAULT_TRUTH, **(truth or {})}
    beta = {**DEFAULT_TRUTH["beta"], **t["beta"]}
    data = {k: ((), float(v)) for k, v in t.items() if k != "beta"}
    data["beta"] = (("factor",), [beta[f] for f in FACTORS])
    return xr.Dataset(data, coords={"factor": list(FACTORS)})


def synthesize(n_records: int, seed: int, truth: dict | None = None, *,
               distances_km: tuple[float, ...] = (42.195,), n_races: int | None = None,
               ck_measured_fraction: float = 0.6, onset_known_fraction: float = 0.75,
               dnf_fraction: float = 0.03) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A cohort of `n_records` runner-races; returns (records, splits)."""
    rng = np.random.default_rng(seed)
    params = truth_dataset(truth)
    n_races = n_races or max(2, n_records // 500)
    race_distance = np.resize(np.asarray(distances_km, float), n_races)
    race_wbgt = rng.uniform(8.0, 28.0, n_races)
    race_effect = rng.normal(0.0, float(params["race_sd"]), n_races)

    runner_of_record = _assign_runners(n_records, rng)
    n_runners = runner_of_record.max() + 1
    race_of_record = _assign_races(runner_of_record, n_races, rng)
    marathon_time = np.exp(rng.normal(np.log(4.0 * 3600), 0.18, n_runners)).clip(2.75 * 3600,
                                                                                  6 * 3600)
    runner_effect = rng.normal(0.0, float(params["runner_sd"]), n_runners)
    history = rng.random(n_runners) < 0.3

    n = n_records
    distance = race_distance[race_of_record]
    ref_time = marathon_time[runner_of_record] * (REF_DISTANCE_KM / 42.195) ** 1.06
    ref_time *= np.exp(rng.normal(0, 0.03, n))  # form on the day of the reference race
    longest = np.clip(rng.normal(0.72 * np.minimum(distance, 60), 5.0), 10.0, None).round(1)
    taper_days = rng.integers(2, 22, n).astype(float)
    log_ck = rng.normal(float(params["ck_log_mean"])
                        + float(params["ck_taper_effect"]) * taper_units(taper_days),
                        float(params["ck_log_sd"]))
    ck = np.exp(log_ck).round(1)

    # planned pacing: overall speed vs ability and a fast or even start (first 40% of the race)
    start, end, length = segment_grid(distance)
    t_pred = predicted_time_s(ref_time, REF_DISTANCE_KM, distance)
    overall = rng.normal(-0.02, 0.05, n)
    fast_start = np.where(rng.random(n) < 0.4, rng.uniform(0.03, 0.12, n), 0.0)
    early = (end <= 0.4 * distance[:, None])
    speed = 1 + overall[:, None] + np.where(early, fast_start[:, None],
                                            -fast_start[:, None] * 0.4 / 0.6)
    seg_time = (t_pred / distance)[:, None] * length / speed
    elapsed = np.cumsum(seg_time, axis=1)

    features = features_dataset(
        start_km=start, end_km=end,
        relative_pace=cumulative_relative_pace(t_pred, distance, start, end, elapsed),
        excess_distance=excess_distance_units(start, end, longest),
        heat=np.broadcast_to(heat_units(race_wbgt[race_of_record])[:, None], start.shape),
        muscle_damage=damage_units(ck), taper=taper_units(taper_days),
        cramp_history=history[runner_of_record].astype(float),
        outcome=np.zeros(n, int), onset_segment=np.zeros(n, int),
        last_segment=np.full(n, start.shape[1]), runner_index=runner_of_record,
        race_index=race_of_record, runner_ids=np.arange(n_runners).astype(str),
        race_ids=np.arange(n_races).astype(str))
    extra = xr.DataArray(runner_effect[runner_of_record] + race_effect[race_of_record],
                         dims="record")
    rate = np.exp(cell_log_rate(features, params, extra).to_numpy())
    cumulative = np.cumsum(rate, axis=1)
    threshold = -np.log(rng.random(n))
    cramped = cumulative[:, -1] > threshold
    onset_seg = np.where(cramped, np.argmax(cumulative > threshold[:, None], axis=1), -1)
    # onset km: uniform within the onset segment
    rows = np.arange(n)
    cramp_km = np.where(cramped, start[rows, onset_seg] + rng.random(n) * length[rows, onset_seg],
                        np.nan)

    # drop-outs at a random km; a cramp after the drop-out did not happen
    dnf = rng.random(n) < dnf_fraction
    dnf_km = np.where(dnf, np.round(rng.uniform(0.3, 0.95, n) * distance, 1), np.nan)
    after_dnf = dnf & cramped & (cramp_km > dnf_km)
    cramped &= ~after_dnf
    cramp_km = np.where(cramped, cramp_km, np.nan)
    reached = np.where(dnf, dnf_km, distance)

    slowed = cramped[:, None] & (start >= np.nan_to_num(cramp_km)[:, None])
    seg_time = seg_time * np.where(slowed, CRAMP_SLOWDOWN, 1.0)
    elapsed = np.cumsum(seg_time, axis=1)
    race_time = _time_at_km(seg_time, start, length, reached)

    known = rng.random(n) < onset_known_fraction
    records = pd.DataFrame({
        "runner_id": [f"R{i:06d}" for i in runner_of_record],
        "race_id": [f"race{j:03d}" for j in race_of_record],
        "distance_km": distance,
        "race_time_s": race_time.round(0),
        "ref_distance_km": REF_DISTANCE_KM,
        "ref_time_s": ref_time.round(0),
        "longest_run_km": longest,
        "cramped": cramped.astype(int),
        "cramp_km": np.where(cramped & known, np.round(cramp_km, 3), np.nan),
        "dnf_km": dnf_km,
        "ck_pre_u_per_l": np.where(rng.random(n) < ck_measured_fraction, ck, np.nan),
        "taper_days": taper_days,
        "wbgt_c": race_wbgt[race_of_record].round(2),
        "cramp_history": history[runner_of_record].astype(int),
    })
    splits = _splits_table(records, elapsed, end, reached)
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


def _time_at_km(seg_time: np.ndarray, start_km: np.ndarray, length_km: np.ndarray,
                km: np.ndarray) -> np.ndarray:
    """Elapsed time [s] at `km` per record, even pace within the segment that holds it."""
    rows = np.arange(len(km))
    seg = np.clip(np.ceil(km - 1e-9).astype(int) - 1, 0, seg_time.shape[1] - 1)
    before = np.cumsum(seg_time, axis=1)[rows, seg] - seg_time[rows, seg]
    fraction = (km - start_km[rows, seg]) / length_km[rows, seg]
    return before + fraction * seg_time[rows, seg]


def _splits_table(records: pd.DataFrame, elapsed: np.ndarray, end_km: np.ndarray,
                  reached: np.ndarray) -> pd.DataFrame:
    whole_km = (end_km == np.floor(end_km)) & (end_km < reached[:, None]) & (end_km > 0)
    rec, seg = np.nonzero(whole_km)
    return pd.DataFrame({
        "runner_id": records["runner_id"].to_numpy()[rec],
        "race_id": records["race_id"].to_numpy()[rec],
        "km": end_km[rec, seg].astype(int),
        "elapsed_s": elapsed[rec, seg].round(1),
    })
