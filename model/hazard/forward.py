"""The hazard evaluated forward in numpy/xarray: per-cell log rates, cramp probability and onset
distribution for given parameter values (one set or many draws). It mirrors the PyMC model's
linear predictor (tests check the two agree) and is what the synthetic cohorts, the prior
predictive check and predictions for new runners are computed with."""

from __future__ import annotations

import numpy as np
import xarray as xr

from model.evidence.priors import Priors
from model.hazard.quadrature import gauss_hermite_normal
from model.hazard.specification import (
    FACTORS,
    PREDICT_QUADRATURE,
    damage_from_log_ck,
    latent_log_ck,
)

RECORD_DIMS = ("record",)


def cell_log_rate(
    features: xr.Dataset, params: xr.Dataset, extra_log_rate: xr.DataArray | float = 0.0
) -> xr.DataArray:
    """eta = ln(-ln(1 - h)) for every (record, segment) cell, -inf past the distance reached.

    `params` holds `beta` (factor), `log_hazard_per_km` and `distance_shape`, with any extra dims
    (e.g. draw). `extra_log_rate` adds runner/race effects. `muscle_damage` must have no NaN."""
    eta = params["log_hazard_per_km"] + params["distance_shape"] * features["log_distance_10km"]
    for name in FACTORS:
        eta = eta + params["beta"].sel(factor=name, drop=True) * features[name]
    with np.errstate(divide="ignore"):
        log_length = np.log(features["segment_length_km"])
    return eta + extra_log_rate + log_length


def cramp_probability(log_rate: xr.DataArray) -> xr.DataArray:
    """P(cramp before the end of the distance reached) = 1 - exp(-sum_s exp(eta_s))."""
    return cramp_probability_shifted(np.exp(log_rate).sum("segment"), 0.0)


def onset_distribution(log_rate: xr.DataArray) -> xr.DataArray:
    """P(first cramp in segment s) = S(s-1) * h_s along the course (sums to P(cramp))."""
    return onset_distribution_shifted(cumulative_hazard(log_rate), 0.0)


def cumulative_hazard(log_rate: xr.DataArray) -> xr.DataArray:
    """Integrated hazard at each segment's end, sum_{s' <= s} exp(eta_s')."""
    return np.exp(log_rate).cumsum("segment")


def cramp_probability_shifted(total_hazard, log_shift) -> xr.DataArray:
    """P(cramp) when every cell's log rate is shifted by `log_shift` (a change of the baseline
    log_hazard_per_km, or a race effect), from the unshifted total hazard: many shifts are then
    evaluated without recomputing the course (the calibration's grid)."""
    return -np.expm1(-np.exp(log_shift) * total_hazard)


def onset_distribution_shifted(cumulative, log_shift) -> xr.DataArray:
    """`onset_distribution` with every cell's log rate shifted by `log_shift`, from the
    unshifted `cumulative_hazard`."""
    survival_end = np.exp(-np.exp(log_shift) * cumulative)
    survival_start = survival_end.shift(segment=1, fill_value=1.0)
    return survival_start - survival_end


def prior_draws(priors: Priors, n_draws: int, seed: int) -> xr.Dataset:
    """Draws from the literature priors, as a Dataset with a `draw` dim: independent but for
    the baseline pair's correlation."""
    rng = np.random.default_rng(seed)

    def normal(name):
        p = priors[name]
        return rng.normal(p.mu, p.sigma, n_draws)

    def half_normal(name):
        return np.abs(rng.normal(0.0, priors[name].sigma, n_draws))

    beta = rng.normal(priors.factor_mu(), priors.factor_sigma(), (n_draws, len(FACTORS)))
    level, shape = priors["log_hazard_per_km"], priors["distance_shape"]
    rho = priors.baseline_correlation
    z_level, z_shape = rng.standard_normal((2, n_draws))
    draw = np.arange(n_draws)
    return xr.Dataset(
        {
            "beta": (("draw", "factor"), beta),
            # the baseline pair is bivariate normal (`Priors.baseline_correlation`)
            "log_hazard_per_km": ("draw", level.mu + level.sigma * (
                rho * z_shape + np.sqrt(1 - rho**2) * z_level)),
            "distance_shape": ("draw", shape.mu + shape.sigma * z_shape),
            "runner_sd": ("draw", half_normal("runner_sd")),
            "race_sd": ("draw", half_normal("race_sd")),
            "ck_log_mean": ("draw", normal("ck_log_mean")),
            "ck_log_sd": ("draw", half_normal("ck_log_sd")),
            "ck_taper_effect": ("draw", normal("ck_taper_effect")),
        },
        coords={"draw": draw, "factor": list(FACTORS)},
    )


def predict_cramp_probability(
    features: xr.Dataset, params: xr.Dataset, *,
    n_nodes: int = PREDICT_QUADRATURE.effect_nodes,
    n_damage_nodes: int = PREDICT_QUADRATURE.damage_nodes,
) -> xr.DataArray:
    """P(cramp during the race) for new runners in a new race, per parameter draw.

    The runner and race effects of someone not in the data are unknown: they are integrated over
    their Normal(0, sqrt(runner_sd^2 + race_sd^2)) distribution, and pre-race CK where not
    measured over the mediator model's ln CK ~ Normal(ck_log_mean + ck_taper_effect * taper,
    ck_log_sd), both by Gauss-Hermite quadrature. `params` is a posterior (or prior) with a
    `draw` dim (stack chain and draw first)."""
    z, logw = gauss_hermite_normal(n_nodes)
    z_ck, logw_ck = gauss_hermite_normal(n_damage_nodes)
    node = xr.DataArray(z, dims="node")
    weight = xr.DataArray(np.exp(logw), dims="node")
    damage = features["muscle_damage"]
    measured = np.isfinite(damage)
    base = features.assign(muscle_damage=damage.fillna(0.0))
    cumulative = np.exp(cell_log_rate(base, params)).sum("segment")  # u = 0, damage 0 if unknown
    sd = np.sqrt(params["runner_sd"] ** 2 + params["race_sd"] ** 2)
    unmeasured = damage_from_log_ck(latent_log_ck(
        params["ck_log_mean"], params["ck_taper_effect"], features["taper"], params["ck_log_sd"],
        xr.DataArray(z_ck, dims="damage_node")))
    beta_damage = params["beta"].sel(factor="muscle_damage", drop=True)
    survival = xr.where(
        measured,
        np.exp(-cumulative * np.exp(sd * node)),
        (np.exp(-cumulative * np.exp(sd * node) * np.exp(beta_damage * unmeasured))
         * xr.DataArray(np.exp(logw_ck), dims="damage_node")).sum("damage_node"),
    )
    return 1.0 - (survival * weight).sum("node")
