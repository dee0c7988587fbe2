"""A runner's own race history: for each parameter draw, the posterior of their unknown effect on
the log hazard given their past races, exact Bayes over quadrature nodes, as weights on the
simulator's effect nodes for the next race.

The model's runner effect u ~ Normal(0, runner_sd) is shared by all of a runner's races; each
race adds a race-day effect v ~ Normal(0, race_sd). The simulator integrates the next race's
effect e = u + v over Gauss-Hermite nodes e_n of Normal(0, sd_e), sd_e = sqrt(runner_sd^2 +
race_sd^2). Given the past races H, E[f(e) | H] = sum_n w_n f(e_n) p(H | e_n) / p(H), with

    p(H | e) = E[p(H | u) | e]      u | e ~ Normal(rho e, tau^2), rho = runner_sd^2 / sd_e^2,
    p(H | u) = prod_r E_{v, CK}[p(race r | u + v + damage)]

each expectation by Gauss-Hermite quadrature (the past races' race-day effects and any unmeasured
pre-race CK are integrated out, as the fit does for a runner's races). The likelihood of a past
race is the model's: no cramp S(last), onset known S(k-1) - S(k), onset unknown sum_t w_t (S(t-1) -
S(t)) with w_t how well an onset in t explains the splits (1 without splits: 1 - S(last)).

What is not done: the population parameters are not refitted with these races. That is a good
approximation when the runner's few races are a small part of what the parameters rest on - one of
many runners in a fitted data set, or the literature prior - so adding them would barely move the
parameters; it is a poor one for a posterior fitted to a handful of races. The past races'
race-day effects are treated as unknown even when the race was in a fitted data set (where the
fit estimated it), which makes the update slightly more cautious than the full fit's.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from model.data.records import RaceRecords
from model.hazard.features import build_features
from model.hazard.forward import cell_log_rate
from model.hazard.quadrature import gauss_hermite_normal
from model.hazard.specification import (
    LN2,
    NO_CRAMP,
    ONSET_KNOWN,
    damage_from_log_ck,
    mean_log_ck,
)

#: more effect nodes than without a history: the posterior reweights them, away from the centre
HISTORY_EFFECT_NODES = 31
INNER_NODES = 15  # u given e
RACE_DAY_NODES = 15  # each past race's race-day effect (+ unmeasured damage)
DRAW_CHUNK = 128


def past_race_terms(records: RaceRecords, params: xr.Dataset
                    ) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Per draw and past race, the likelihood as sum_j c_j exp(-lambda G_j) in the rate multiplier
    lambda = exp(runner effect + x), x ~ Normal(mean, sd) the race-day effect plus unmeasured
    damage: returns mean and sd (draw, race) and each race's (c, G) pairs (G: draw x points)."""
    features = build_features(records)
    damage = features["muscle_damage"]
    measured = np.isfinite(damage.to_numpy())  # (record,)
    base = features.assign(muscle_damage=damage.fillna(0.0))
    eta = cell_log_rate(base, params).transpose("draw", "record", "segment")
    cumulative = np.exp(eta).cumsum("segment").to_numpy()
    g_all = np.concatenate([np.zeros(cumulative.shape[:2] + (1,)), cumulative], axis=2)
    outcome = features["outcome"].to_numpy()
    onset = features["onset_segment"].to_numpy()
    last = features["last_segment"].to_numpy()
    log_w = features["onset_log_weight"].to_numpy()
    terms = []
    for r in range(len(outcome)):
        c = np.zeros(g_all.shape[2])
        if outcome[r] == NO_CRAMP:
            c[last[r]] = 1.0
        elif outcome[r] == ONSET_KNOWN:
            c[onset[r] - 1], c[onset[r]] = 1.0, -1.0
        else:  # sum_t w_t (S(t-1) - S(t)), rearranged as coefficients of S(0..last)
            w = np.exp(log_w[r, :last[r]] - np.max(log_w[r, :last[r]]))
            c[0] = w[0]
            c[1:last[r]] = w[1:] - w[:-1]
            c[last[r]] = -w[-1]
        keep = np.flatnonzero(np.abs(c) > 1e-12 * np.abs(c).max())
        terms.append((c[keep], g_all[:, r, keep]))
    # a race's race-day effect and its unmeasured damage are independent normals on the log
    # hazard: one normal of the summed variance (as the fit does for a runner's only race)
    beta_damage = params["beta"].sel(factor="muscle_damage").to_numpy()[:, None]
    mean_damage = damage_from_log_ck(mean_log_ck(
        params["ck_log_mean"].to_numpy()[:, None], params["ck_taper_effect"].to_numpy()[:, None],
        features["taper"].to_numpy()[None, :]))
    race_sd = params["race_sd"].to_numpy()[:, None]
    damage_sd = beta_damage * params["ck_log_sd"].to_numpy()[:, None] / LN2
    shift_mean = np.where(measured[None, :], 0.0, beta_damage * mean_damage)
    shift_sd = np.where(measured[None, :], race_sd, np.hypot(race_sd, damage_sd))
    return shift_mean, shift_sd, terms


_CACHE: dict[tuple, tuple[RaceRecords, xr.Dataset, np.ndarray]] = {}


def effect_weights(records: RaceRecords, params: xr.Dataset, z_effect: np.ndarray) -> np.ndarray:
    """`compute_effect_weights`, remembered for the last few (records, draws, nodes): a plan
    simulates dozens of targets with the same history and draws, and the history does not
    depend on the target."""
    key = (id(records), id(params), z_effect.tobytes())
    hit = _CACHE.get(key)
    if hit is None or hit[0] is not records or hit[1] is not params:
        if len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        hit = _CACHE[key] = (records, params, compute_effect_weights(records, params, z_effect))
    return hit[2]


def compute_effect_weights(records: RaceRecords, params: xr.Dataset, z_effect: np.ndarray
                           ) -> np.ndarray:
    """Per draw, the factor p(H | e_n) / p(H) for the simulator's effect nodes e_n = sd_e z_n
    (`z_effect`, the block's standard-normal nodes, repeated values allowed): multiply the
    block's weights by it. Shape (draw, len(z_effect)); for each draw sum_n w_n factor = 1 over
    the Gauss-Hermite weights w_n of the distinct nodes."""
    # here, not at import: scipy (~0.2 s) is for runners with a race history only
    from scipy.special import logsumexp

    nodes, index = np.unique(z_effect, return_inverse=True)
    z_n, logw_n = gauss_hermite_normal(len(nodes))
    if not np.allclose(np.sort(z_n), nodes):
        raise ValueError("z_effect must be the nodes of a Gauss-Hermite rule")
    logw_n = logw_n[np.argsort(z_n)]
    shift_mean, shift_sd, terms = past_race_terms(records, params)
    runner_sd = params["runner_sd"].to_numpy()
    race_sd = params["race_sd"].to_numpy()
    sd_e = np.hypot(runner_sd, race_sd)
    safe = np.where(sd_e > 0, sd_e, 1.0)
    rho, tau = runner_sd**2 / safe**2, runner_sd * race_sd / safe
    z_k, logw_k = gauss_hermite_normal(INNER_NODES)
    z_v, logw_v = gauss_hermite_normal(RACE_DAY_NODES)
    n_draw = len(sd_e)
    log_p = np.zeros((n_draw, len(nodes)))
    for start in range(0, n_draw, DRAW_CHUNK):
        d = slice(start, start + DRAW_CHUNK)
        # u at each (draw, e node, inner node)
        u = ((rho * sd_e)[d, None, None] * nodes[None, :, None]
             + tau[d, None, None] * z_k[None, None, :])
        log_l = np.zeros(u.shape)
        for r, (c, g) in enumerate(terms):
            x = shift_mean[d, r, None] + shift_sd[d, r, None] * z_v[None, :]  # (draw, v)
            lam = np.exp(u[..., None] + x[:, None, None, :])[..., None]  # (draw, n, k, v, 1)
            lik = np.sum(c * np.exp(-lam * g[d][:, None, None, None, :]), axis=-1)
            lik = np.maximum(lik, 1e-300)  # rounding in S(k-1) - S(k) must not give log(<=0)
            log_l += logsumexp(np.log(lik) + logw_v, axis=-1)
        log_p[d] = logsumexp(log_l + logw_k, axis=-1)
    log_norm = logsumexp(log_p + logw_n[None, :], axis=1, keepdims=True)
    return np.exp(log_p - log_norm)[:, index]
