"""A simpler comparison model: race-level logistic regression of "cramped during the race" on
per-race summaries of the same factors, without time-varying terms, runner or race effects.

It answers whether the hazard model's structure (per-km hazard, accumulated pace, distance beyond
training as it grows, runner effects) predicts who cramps better than a plain regression on race
averages; compare with `model.checks.loo_binary`.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import xarray as xr
from scipy.special import expit, log_expit

from model.evidence.priors import Priors
from model.hazard.specification import FACTORS, NO_CRAMP
from model.inference.hazard_model import compile_for_nutpie

COVARIATES = (*FACTORS, "damage_missing", "log_distance_10km")


def race_level_covariates(features: xr.Dataset) -> xr.Dataset:
    """One value per record: relative pace and heat averaged over the km reached (length
    weighted), distance beyond training at the km reached, damage (0 where not measured, with an
    indicator), taper, history, and ln(distance reached / 10 km)."""
    length = features["segment_length_km"]
    reached_km = length.sum("segment")
    last = (features["segment"] == features["last_segment"])

    def average(name):
        return (features[name] * length).sum("segment") / reached_km

    damage = features["muscle_damage"]
    return xr.Dataset({
        "relative_pace": average("relative_pace"),
        "excess_distance": features["excess_distance"].where(last).max("segment"),
        "muscle_damage": damage.fillna(0.0),
        "taper": features["taper"],
        "heat": average("heat"),
        "cramp_history": features["cramp_history"],
        "damage_missing": np.isnan(damage).astype(float),
        "log_distance_10km": np.log(reached_km / 10.0),
    })


def build_simple_model(features: xr.Dataset, priors: Priors) -> pm.Model:
    """logit P(cramp) = a + sum_f b_f x_f; the factor priors are the literature priors (on the
    log-odds scale, close to log hazard ratios for a rare outcome)."""
    x = race_level_covariates(features)
    cramped = (features["outcome"] != NO_CRAMP).to_numpy().astype(int)
    mu = np.r_[priors.factor_mu(), 0.0, 1.0]
    sigma = np.r_[priors.factor_sigma(), 1.0, 0.5]
    design = np.stack([x[c].to_numpy() for c in COVARIATES], axis=1)
    with pm.Model(coords={"covariate": list(COVARIATES), "record": features["record"]}) as m:
        intercept = pm.Normal("intercept", np.log(0.15 / 0.85), 1.5)
        b = pm.Normal("b", mu, sigma, dims="covariate")
        pm.Bernoulli("cramped", logit_p=intercept + design @ b, observed=cramped, dims="record")
    return m


def simple_runner_log_likelihood(posterior: xr.Dataset, features: xr.Dataset) -> xr.DataArray:
    """Log-likelihood of each runner's outcomes (cramped or not) per draw, summed over their
    races; dims (chain, draw, runner) as in the posterior."""
    logit = _logit(posterior, features)
    cramped = features["outcome"] != NO_CRAMP
    record_ll = xr.where(cramped, log_expit(logit), log_expit(-logit))
    key = xr.DataArray(features["runner_index"].to_numpy(), dims="record", name="runner")
    ll = record_ll.groupby(key).sum()
    return ll.assign_coords(runner=features["runner"].to_numpy()[ll["runner"].to_numpy()])


def simple_cramp_probability(posterior: xr.Dataset, features: xr.Dataset) -> xr.DataArray:
    """P(cramp) per draw and record."""
    return expit(_logit(posterior, features))


def _logit(posterior: xr.Dataset, features: xr.Dataset) -> xr.DataArray:
    x = race_level_covariates(features)
    design = xr.concat([x[c] for c in COVARIATES], dim="covariate").assign_coords(
        covariate=list(COVARIATES))
    return posterior["intercept"] + (posterior["b"] * design).sum("covariate")


def fit_simple_model(features: xr.Dataset, priors: Priors, *, draws: int = 1000,
                     tune: int = 1000, chains: int = 2, seed: int = 0) -> xr.DataTree:
    import nutpie

    compiled = compile_for_nutpie(build_simple_model(features, priors))
    return nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, cores=chains,
                         seed=seed, progress_bar=False)
