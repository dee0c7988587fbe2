"""The typical field of a published study: runners of that event's abilities, training, pacing
and conditions, drawn so that the hazard model can predict what the study should have seen.

The assumptions per study live in published_figures.toml (`[study.field]`), not here; this module
only turns them into a `Field` (the same structure the synthetic cohorts and the prior predictive
check score) and its features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from model.hazard.features import segment_grid
from model.hazard.physiology import predicted_time_s
from model.hazard.specification import MARATHON_KM
from model.validation.synth import KM_PACE_SD, REF_DISTANCE_KM, Field, field_features

FAST_START_RANGE = (0.03, 0.12)  # speed above plan over the first 40% for a fast starter
FAST_START_PART = 0.4


@dataclass(frozen=True)
class FieldSpec:
    """A study's field. Times in hours, distances in km, shares in [0, 1], WBGT in degC."""

    distance_km: float
    marathon_time_median_h: float
    marathon_time_sd_log: float
    longest_run_mean_km: float
    longest_run_sd_km: float
    taper_min_days: float
    taper_max_days: float
    cramp_history_share: float
    fast_start_share: float
    effort_mean_pct: float
    effort_sd_pct: float
    wbgt_c: float


def draw_study_field(spec: FieldSpec, n_runners: int, rng: np.random.Generator) -> Field:
    """`n_runners` runner-races of one race (one race effect, drawn by the caller) under `spec`."""
    n = n_runners
    marathon_s = np.exp(rng.normal(np.log(spec.marathon_time_median_h * 3600),
                                   spec.marathon_time_sd_log, n))
    ref_time = predicted_time_s(marathon_s, MARATHON_KM, REF_DISTANCE_KM)
    distance = np.full(n, float(spec.distance_km))
    longest = np.clip(rng.normal(spec.longest_run_mean_km, spec.longest_run_sd_km, n), 10.0,
                      None).round(1)
    taper = rng.uniform(spec.taper_min_days, spec.taper_max_days, n).round()
    history = (rng.random(n) < spec.cramp_history_share).astype(float)
    _, end, length = segment_grid(distance)
    t_pred = predicted_time_s(ref_time, REF_DISTANCE_KM, distance)
    overall = rng.normal(spec.effort_mean_pct / 100, spec.effort_sd_pct / 100, n)
    fast = np.where(rng.random(n) < spec.fast_start_share, rng.uniform(*FAST_START_RANGE, n), 0.0)
    early = end <= FAST_START_PART * distance[:, None]
    # a fast starter gives the time back later: the plan's total time is unchanged by the split
    late_slowdown = fast[:, None] * FAST_START_PART / (1 - FAST_START_PART)
    speed = (1 + overall[:, None] + np.where(early, fast[:, None], -late_slowdown)) * np.exp(
        rng.normal(0.0, KM_PACE_SD, end.shape))
    return Field(distance, ref_time, longest, taper, history, np.full(n, float(spec.wbgt_c)),
                 np.arange(n), np.zeros(n, int), (t_pred / distance)[:, None] * length / speed,
                 rng.standard_normal(n), np.zeros(1), rng.standard_normal(n))


def study_features(field: Field) -> xr.Dataset:
    """The field's features with no pre-race damage filled in (the caller draws it per draw)."""
    return field_features(field, np.zeros(field.n_records))


def segment_mid_km(features: xr.Dataset) -> xr.DataArray:
    """Midpoint [km] of each segment of the field's course (all runners share the course)."""
    return (features["segment_start_km"] + 0.5 * features["segment_length_km"]).isel(record=0,
                                                                                      drop=True)
