"""Posterior predictive checks and leave-one-runner-out comparison for the hazard model.

Everything is computed exactly from parameter draws with the forward kernel (no coin flips):

- `runner_log_likelihood`: each runner's log-likelihood per draw, for all their races together
  (the runner effect links them), either of everything the model was fitted to ("full": onset km,
  censoring, measured CK) or of whether each race ended with a cramp ("binary"). Summed over
  runners, "full" equals the PyMC model's log-likelihood (tested).
- `cramp_probability_by_record`: P(cramp before the km reached) per record, for calibration.
- `onset_check`: observed vs predicted distribution of onset km among cramps with a known onset.
- `loo_binary`: PSIS-LOO of the binary outcome per runner, with the importance weights of the
  likelihood the model was fitted to, so models fitted to different data (e.g. a race-level
  logistic regression) are compared on the same predictions.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from model.errors import InputError
from model.hazard.features import at_risk_before_onset
from model.hazard.forward import cell_log_rate
from model.hazard.quadrature import gauss_hermite_normal
from model.hazard.specification import (
    LN2,
    NO_CRAMP,
    ONSET_KNOWN,
    ONSET_UNKNOWN,
    damage_from_log_ck,
    log_ck_from_damage,
    mean_log_ck,
)
from model.inference.hazard_model import (
    N_NODES_DAMAGE,
    N_NODES_RUNNER,
    single_race,
)

DRAW_CHUNK = 50


def _race_effect(features: xr.Dataset, params: xr.Dataset) -> xr.DataArray:
    if "race_effect" not in params:
        return xr.zeros_like(features["race_index"], dtype=float)
    effect = params["race_effect"]  # (draw, race)
    return effect.isel(race=xr.DataArray(features["race_index"].to_numpy(), dims="record"),
                       drop=True)


def _record_sums(features: xr.Dataset, params: xr.Dataset):
    """Per draw and record, without runner effect and damage: cumulative
    hazard over the at-risk cells, over all cells reached, and the onset segment's rate."""
    # damage enters through the node multipliers (measured or not), so it is 0 here
    base = features.assign(muscle_damage=xr.zeros_like(features["muscle_damage"]))
    rate = np.exp(cell_log_rate(base, params, _race_effect(features, params)))
    at_risk = at_risk_before_onset(features)
    reached = features["segment_length_km"] > 0
    known = features["outcome"] == ONSET_KNOWN
    onset_cell = known & (features["segment"] == features["onset_segment"])
    return (rate.where(at_risk, 0.0).sum("segment"), rate.where(reached, 0.0).sum("segment"),
            rate.where(onset_cell, 0.0).sum("segment"))


def _node_multipliers(features: xr.Dataset, params: xr.Dataset, n_runner: int, n_damage: int):
    """exp(runner effect) at the runner nodes and exp(beta_damage * damage) at the damage nodes
    (measured damage: one node with weight 1). As in the model, a runner's only race with CK not
    measured takes its damage at the CK model's mean and the damage's spread into the runner
    effect's (one normal of SD sqrt(runner_sd^2 + (beta_damage ck_log_sd / ln 2)^2))."""
    z_u, logw_u = gauss_hermite_normal(n_runner)
    z_d, logw_d = gauss_hermite_normal(n_damage)
    damage = features["muscle_damage"]
    measured = np.isfinite(damage)
    solo = ~measured & xr.DataArray(single_race(features["runner_index"].to_numpy()),
                                    dims="record")
    beta_damage = params["beta"].sel(factor="muscle_damage", drop=True)
    mean = mean_log_ck(params["ck_log_mean"], params["ck_taper_effect"], features["taper"])
    damage_spread = beta_damage * params["ck_log_sd"] / LN2
    sd = xr.where(solo, np.sqrt(params["runner_sd"] ** 2 + damage_spread**2), params["runner_sd"])
    runner = np.exp(sd * xr.DataArray(z_u, dims="node"))
    log_ck = mean + xr.where(solo, 0.0, params["ck_log_sd"] * xr.DataArray(
        z_d, dims="damage_node"))
    unmeasured = damage_from_log_ck(log_ck)
    level = xr.where(measured, damage.fillna(0.0), unmeasured)
    weight = xr.where(measured | solo, xr.DataArray(np.r_[1.0, np.zeros(n_damage - 1)],
                                                    dims="damage_node"),
                      xr.DataArray(np.exp(logw_d), dims="damage_node"))
    return runner, np.exp(beta_damage * level), weight, logw_u


def runner_log_likelihood(features: xr.Dataset, params: xr.Dataset, *, kind: str = "full",
                          n_nodes_runner: int = N_NODES_RUNNER,
                          n_nodes_damage: int = N_NODES_DAMAGE) -> xr.DataArray:
    """Log-likelihood of each runner's races per draw, (draw, runner).

    `params` has a `draw` dim and may hold `race_effect` (posterior race effects; else 0). `kind`:
    "full" (what the model is fitted to, including measured CK) or "binary" (cramp or not)."""
    chunks = [_runner_ll_chunk(features, params.isel(draw=slice(i, i + DRAW_CHUNK)), kind,
                               n_nodes_runner, n_nodes_damage)
              for i in range(0, params.sizes["draw"], DRAW_CHUNK)]
    return xr.concat(chunks, "draw")


def _runner_ll_chunk(features, params, kind, n_runner, n_damage):
    pre, total, onset_rate = _record_sums(features, params)
    runner_mult, damage_mult, damage_weight, logw_u = _node_multipliers(
        features, params, n_runner, n_damage)
    lam = runner_mult * damage_mult  # (draw, record, node, damage_node)
    outcome = features["outcome"]
    if kind == "full":
        survive = np.exp(-lam * pre)
        lik = xr.where(outcome == NO_CRAMP, survive,
                       xr.where(outcome == ONSET_KNOWN, survive * -np.expm1(-lam * onset_rate),
                                _unknown_onset_likelihood(features, params, lam)))
    elif kind == "binary":
        lik = xr.where(outcome == NO_CRAMP, np.exp(-lam * total), -np.expm1(-lam * total))
    else:
        raise ValueError(f"kind must be 'full' or 'binary', not {kind!r}")
    # at a far runner node a record's likelihood can underflow to 0: ln 0 = -inf there is right
    # (that node gets no weight in the log-sum-exp over nodes), so no warning
    with np.errstate(divide="ignore"):
        record_ll = np.log((lik * damage_weight).sum("damage_node"))  # (draw, record, node)
    runner_index = features["runner_index"].to_numpy()
    per_runner = record_ll.groupby(xr.DataArray(runner_index, dims="record", name="runner_i")
                                   ).sum()
    ll = _logsumexp(per_runner + xr.DataArray(logw_u, dims="node"), "node")
    if kind == "full":
        ll = ll + _ck_log_likelihood(features, params).groupby(
            xr.DataArray(runner_index, dims="record", name="runner_i")).sum()
    ll = ll.rename(runner_i="runner")
    return ll.assign_coords(runner=features["runner"].to_numpy()[ll["runner"].to_numpy()])


def _unknown_onset_likelihood(features, params, lam) -> xr.DataArray:
    """Cramps of unknown onset: sum over the segments t reached of w_t S_t-1 (1 - e^-lam h_t),
    w_t the onset weights from the splits (all 1 without them, which is 1 - S at the end);
    1 for the other records. Computed on the unknown-onset records only (memory)."""
    unknown = np.flatnonzero((features["outcome"] == ONSET_UNKNOWN).to_numpy())
    f = features.isel(record=unknown)
    base = f.assign(muscle_damage=xr.zeros_like(f["muscle_damage"]))
    reached = f["segment_length_km"] > 0
    rate = np.exp(cell_log_rate(base, params, _race_effect(f, params))).where(reached, 0.0)
    before = rate.cumsum("segment") - rate
    weight = np.exp(f["onset_log_weight"])
    lam_f = lam.isel(record=unknown)
    lik = xr.concat([(weight * np.exp(-lam_f.isel(damage_node=[m]) * before)
                      * -np.expm1(-lam_f.isel(damage_node=[m]) * rate)).sum("segment")
                     for m in range(lam.sizes["damage_node"])], "damage_node")
    return lik.reindex(record=features["record"], fill_value=1.0)


def _ck_log_likelihood(features, params) -> xr.DataArray:
    """log density of each measured ln CK under the mediator model (0 where not measured)."""
    log_ck = log_ck_from_damage(features["muscle_damage"])
    mean = mean_log_ck(params["ck_log_mean"], params["ck_taper_effect"], features["taper"])
    sd = params["ck_log_sd"]
    density = -0.5 * ((log_ck - mean) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)
    return density.fillna(0.0)


def _logsumexp(x: xr.DataArray, dim: str) -> xr.DataArray:
    top = x.max(dim)
    return top + np.log(np.exp(x - top).sum(dim))


def cramp_probability_by_record(features: xr.Dataset, params: xr.Dataset, *,
                                n_nodes_runner: int = N_NODES_RUNNER,
                                n_nodes_damage: int = N_NODES_DAMAGE) -> xr.DataArray:
    """P(cramp before the km reached) per draw and record, for a runner like this one whose own
    effect is unknown (integrated over Normal(0, runner_sd)), in this race."""
    out = []
    for i in range(0, params.sizes["draw"], DRAW_CHUNK):
        p = params.isel(draw=slice(i, i + DRAW_CHUNK))
        _, total, _ = _record_sums(features, p)
        runner_mult, damage_mult, damage_weight, logw_u = _node_multipliers(
            features, p, n_nodes_runner, n_nodes_damage)
        survive = (np.exp(-runner_mult * damage_mult * total) * damage_weight).sum("damage_node")
        out.append(1.0 - (survive * xr.DataArray(np.exp(logw_u), dims="node")).sum("node"))
    return xr.concat(out, "draw")


def onset_check(features: xr.Dataset, params: xr.Dataset, bin_km: float = 5.0,
                prob: float = 0.95) -> xr.Dataset:
    """Among races that ended with a cramp of known onset: observed share of onsets per `bin_km`
    band, against the model's share for those same races given that they cramped before the km
    they reached (mean and equal-tailed interval over draws, chains pooled)."""
    if "chain" in params.dims:  # pool the chains: intervals are over all draws
        params = params.stack(sample=("chain", "draw")).reset_index("sample", drop=True)
        params = params.rename(sample="draw")
    known = features["outcome"] == ONSET_KNOWN
    if not known.any():
        raise InputError("no cramp in these records has a recorded onset km (cramp_km): there "
                         "are no observed onset positions to compare with the model's")
    f = features.isel(record=np.flatnonzero(known.to_numpy()))
    edges = np.arange(0.0, float(f["segment_start_km"].max()) + bin_km + 1e-9, bin_km)
    start = f["segment_start_km"]
    band = xr.DataArray(np.digitize(start, edges) - 1, dims=start.dims)
    onset_start = start.isel(segment=f["onset_segment"] - 1)
    observed = np.bincount(np.digitize(onset_start, edges) - 1, minlength=len(edges) - 1)
    predicted = []
    for i in range(0, params.sizes["draw"], DRAW_CHUNK):
        p = params.isel(draw=slice(i, i + DRAW_CHUNK))
        predicted.append(_onset_share(f, p, band, len(edges) - 1))
    share = xr.concat(predicted, "draw")
    lo, hi = share.quantile([(1 - prob) / 2, (1 + prob) / 2], "draw").to_numpy()
    return xr.Dataset(
        {"observed_share": ("band", observed / observed.sum()),
         "predicted_share": ("band", share.mean("draw").to_numpy()),
         "predicted_lo": ("band", lo), "predicted_hi": ("band", hi),
         "band_start_km": ("band", edges[:-1]), "band_end_km": ("band", edges[1:])},
        attrs={"n_onsets": int(observed.sum()), "interval": f"{prob:.0%} equal-tailed"})


def _onset_share(f, p, band, n_bands):
    """Expected share of onsets per band over the given records (runner and damage effects
    integrated), conditional on a cramp before the record's km reached."""
    base = f.assign(muscle_damage=xr.zeros_like(f["muscle_damage"]))
    reached = f["segment_length_km"] > 0
    rate = np.exp(cell_log_rate(base, p, _race_effect(f, p))).where(reached, 0.0)
    runner_mult, damage_mult, damage_weight, logw_u = _node_multipliers(
        f, p, N_NODES_RUNNER, N_NODES_DAMAGE)
    cumulative = rate.cumsum("segment")
    lam = runner_mult * damage_mult
    survival_end = np.exp(-lam * cumulative)
    survival_start = np.exp(-lam * (cumulative - rate))
    weights = damage_weight * xr.DataArray(np.exp(logw_u), dims="node")
    onset = ((survival_start - survival_end) * weights).sum(["damage_node", "node"])
    onset = onset / onset.sum("segment")  # conditional on a cramp, per record
    by_band = onset.groupby(band.rename("band")).sum() / f.sizes["record"]  # record average
    return by_band.reindex(band=np.arange(n_bands), fill_value=0.0)


def loo_binary(full_ll: xr.DataArray, binary_ll: xr.DataArray, name: str):
    """PSIS-LOO of the binary outcome per runner: importance weights from `full_ll` (what the
    model was fitted to), predictions from `binary_ll`; both (chain, draw, runner)."""
    import arviz as az

    log_weights, pareto_k = (-full_ll).azstats.psislw(dim=["chain", "draw"])
    tree = xr.DataTree.from_dict({
        "posterior": xr.Dataset({"dummy": full_ll.isel(runner=0, drop=True)}),
        "log_likelihood": xr.Dataset({"cramped": binary_ll}),
    })
    elpd = az.loo(tree, pointwise=True, var_name="cramped", log_weights=log_weights,
                  pareto_k=pareto_k)
    elpd.name = name
    return elpd
