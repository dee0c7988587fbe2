"""Reference implementation for the fitting benchmark: the straightforward dense person-period
hazard (logit link, every covariate as a runner x segment array, runner and race effects and
missing CK as latent parameters, likelihood via pm.Potential), sampled with nutpie. Variants:
without runner and race effects ("no_effects"), and the plainest ("plain": no effects and an
unmeasured CK set to the cohort mean instead of a latent value per record: the fixed-effects
person-period regression a first attempt would be)."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from model.evidence.priors import Priors
from model.hazard.features import at_risk_before_onset
from model.hazard.specification import FACTORS, ONSET_KNOWN, ONSET_UNKNOWN


def build_reference_model(features: xr.Dataset, priors: Priors, effects: bool = True,
                          latent_ck: bool = True) -> pm.Model:
    """`effects=False` leaves out the runner and race effects, `latent_ck=False` sets unmeasured
    CK to the mean (smaller, easier models than the project's: lower bars for the project to beat
    per ESS/s, not the same model)."""
    at_risk = at_risk_before_onset(features).to_numpy()
    outcome = features["outcome"].to_numpy()
    onset = features["onset_segment"].to_numpy()
    n_rec, n_seg = at_risk.shape
    seg = np.arange(1, n_seg + 1)
    event_cell = (outcome == ONSET_KNOWN)[:, None] & (seg[None, :] == onset[:, None])
    risk_cell = at_risk | event_cell
    unknown = outcome == ONSET_UNKNOWN
    length = np.where(risk_cell, features["segment_length_km"].to_numpy(), 1.0)
    cells = {name: np.broadcast_to(features[name].to_numpy().reshape(n_rec, -1), (n_rec, n_seg))
             for name in FACTORS if name != "muscle_damage"}
    log_d = features["log_distance_10km"].to_numpy()
    damage = features["muscle_damage"].to_numpy()
    observed = np.isfinite(damage)
    if not latent_ck:
        damage = np.where(observed, damage, np.nanmean(damage))
    missing = np.flatnonzero(~np.isfinite(damage))
    taper = features["taper"].to_numpy()
    coords = {"factor": list(FACTORS), "runner": features["runner"].to_numpy(),
              "race": features["race"].to_numpy(), "missing_ck": missing}
    with pm.Model(coords=coords) as model:
        beta = pm.Normal("beta", priors.factor_mu(), priors.factor_sigma(), dims="factor")
        p = priors
        log_h10 = pm.Normal("log_hazard_per_km", p["log_hazard_per_km"].mu,
                            p["log_hazard_per_km"].sigma)
        shape = pm.Normal("distance_shape", p["distance_shape"].mu, p["distance_shape"].sigma)
        if effects:
            runner_sd = pm.HalfNormal("runner_sd", p["runner_sd"].sigma)
            race_sd = pm.HalfNormal("race_sd", p["race_sd"].sigma)
        ck_mean = pm.Normal("ck_log_mean", p["ck_log_mean"].mu, p["ck_log_mean"].sigma)
        ck_sd = pm.HalfNormal("ck_log_sd", p["ck_log_sd"].sigma)
        ck_taper = pm.Normal("ck_taper_effect", p["ck_taper_effect"].mu,
                             p["ck_taper_effect"].sigma)
        if effects:
            runner_z = pm.Normal("runner_z", 0, 1, dims="runner")
            race_z = pm.Normal("race_z", 0, 1, dims="race")
        log_ck_obs = np.log(70) + np.log(2) * damage[observed]
        pm.Normal("ck_observed", ck_mean + ck_taper * taper[observed], ck_sd,
                  observed=log_ck_obs)
        damage_all = pt.as_tensor(np.nan_to_num(damage))
        if len(missing):
            ck_z = pm.Normal("ck_z", 0, 1, dims="missing_ck")
            damage_all = pt.set_subtensor(
                damage_all[missing],
                (ck_mean + ck_taper * taper[missing] + ck_sd * ck_z - np.log(70)) / np.log(2))
        b = {name: beta[i] for i, name in enumerate(FACTORS)}
        record_term = b["muscle_damage"] * damage_all
        if effects:
            record_term = (record_term + runner_sd * runner_z[features["runner_index"].to_numpy()]
                           + race_sd * race_z[features["race_index"].to_numpy()])
        eta = (log_h10 + shape * log_d + np.log(length) + record_term[:, None])
        for name, x in cells.items():
            eta = eta + b[name] * x
        log_h = -pt.softplus(-eta)
        log_1mh = -pt.softplus(eta)
        survive = (log_1mh * at_risk).sum(axis=1)
        event = (log_h * event_cell).sum(axis=1)
        loglik = pt.switch(unknown, pt.log1mexp(pt.minimum(survive, -1e-12)), survive + event)
        pm.Potential("loglik", loglik.sum())
    return model
