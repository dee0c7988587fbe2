"""Prior predictive check: the race incidence and onset positions the literature prior implies
for a typical field, computed exactly (no coin flips) with the forward kernel."""

from __future__ import annotations

import numpy as np
import xarray as xr

from model.evidence.priors import Priors
from model.hazard.forward import cell_log_rate, cramp_probability, onset_distribution, prior_draws
from model.hazard.specification import (
    MARATHON_KM,
    damage_from_log_ck,
)
from model.validation.synth import draw_field, field_features, field_log_ck

FIELDS_KM = {"marathon": MARATHON_KM, "ultra_56km": 56.0}
DRAW_CHUNK = 50


def prior_predictive(
    priors: Priors, *, n_runners: int = 1000, n_draws: int = 400, seed: int = 0
) -> xr.Dataset:
    """Per prior draw and field: incidence (share of the field who cramp) and the onset
    distribution along the course (share of cramps starting in each km)."""
    draws = prior_draws(priors, n_draws, seed)
    results = []
    for name, distance in FIELDS_KM.items():
        rng = np.random.default_rng([seed, int(distance * 1000)])
        field = draw_field(
            n_runners, rng, distances_km=(distance,), n_races=1, wbgt_range_c=(10.0, 22.0)
        )
        base = field_features(field, np.zeros(field.n_records))
        # one race day per prior draw, shared by the field (as the simulator's fields): a
        # single race's incidence varies with the unknown conditions of its day
        race_day = xr.DataArray(rng.standard_normal(n_draws), dims="draw")
        incidence, onset = [], []
        for start in range(0, n_draws, DRAW_CHUNK):
            part = slice(start, start + DRAW_CHUNK)
            i, o = _score_field(field, base, draws.isel(draw=part), race_day.isel(draw=part))
            incidence.append(i)
            onset.append(o)
        mid = (base["segment_start_km"] + 0.5 * base["segment_length_km"]).isel(record=0)
        results.append(
            xr.Dataset(
                {
                    "incidence": xr.concat(incidence, "draw"),
                    "onset_share": xr.concat(onset, "draw"),
                    "segment_mid_km": ("segment", mid.to_numpy()),
                    "segment_length_km": (
                        "segment",
                        base["segment_length_km"].isel(record=0).to_numpy(),
                    ),
                },
            ).expand_dims(field=[name])
        )
    # fields differ in length: shorter ones get NaN past their finish
    out = xr.concat(results, "field", join="outer", coords="minimal", data_vars="all")
    out["incidence"].attrs["description"] = "share of the field with a cramp during the race"
    out["onset_share"].attrs["description"] = "share of the cramps that start in each segment"
    return out


def _score_field(field, base: xr.Dataset, params: xr.Dataset, race_day: xr.DataArray):
    log_ck = field_log_ck(
        field, params["ck_log_mean"], params["ck_log_sd"], params["ck_taper_effect"]
    )
    damage = damage_from_log_ck(log_ck)
    features = base.assign(muscle_damage=damage)
    extra = params["runner_sd"] * xr.DataArray(
        field.z_runner[field.runner_index], dims="record"
    ) + params["race_sd"] * race_day.assign_coords(draw=params["draw"])
    log_rate = cell_log_rate(features, params, extra)
    incidence = cramp_probability(log_rate).mean("record")
    onset = onset_distribution(log_rate).mean("record")
    return incidence, onset / onset.sum("segment")


def summarize(pp: xr.Dataset, prob: float = 0.95) -> dict[str, dict[str, float]]:
    """Median and equal-tailed interval of the incidence, the median onset km, the onsets' lower
    quartile km (each the median over draws) and the share of onsets in the second half of the
    race, per field."""
    lo, hi = (1 - prob) / 2, 1 - (1 - prob) / 2
    out = {}
    for field in pp["field"].to_numpy():
        f = pp.sel(field=field)
        mid = f["segment_mid_km"]
        second_half = f["onset_share"].where(mid > mid.max() / 2, 0.0).sum("segment")
        cdf = f["onset_share"].cumsum("segment")
        median_km = mid.isel(segment=(cdf < 0.5).sum("segment"))
        q25_km = mid.isel(segment=(cdf < 0.25).sum("segment"))
        out[str(field)] = {
            "incidence_median": float(f["incidence"].median()),
            "incidence_lo": float(f["incidence"].quantile(lo)),
            "incidence_hi": float(f["incidence"].quantile(hi)),
            "onset_median_km": float(median_km.median()),
            "onset_q25_km": float(q25_km.median()),
            "onset_second_half_median": float(second_half.median()),
            "onset_second_half_lo": float(second_half.quantile(lo)),
            "onset_second_half_hi": float(second_half.quantile(hi)),
        }
    return out
