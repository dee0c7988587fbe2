"""The discrete-time cramp hazard as a PyMC model, built from model/hazard/features.py.

For runner-race r in segment s, with a complementary log-log link (so that 1 km and coarser
segments are consistent through the log segment-length offset):

    -log(1 - h_rs) = exp(eta_rs)
    eta_rs = alpha + alpha_race + u_runner + sum_f beta_f x_f,rs + k * ln(km_rs / 10) + ln(len_rs)

Why it is fast (see bench/ for the figures):
- Runner-constant terms enter once per runner-race: exp(eta_rs) = lambda_r * exp(tv_rs), so only
  the time-varying terms tv (pace with splits, distance beyond training, heat by clock time, the
  baseline shape) are evaluated per cell, one exp each. Factors that do not vary within a race in
  the data are detected and moved to the runner-race level.
- The runner effect u ~ Normal(0, runner_sd), shared across a runner's races, and pre-race damage
  when CK was not measured (ln CK ~ Normal(ck_log_mean + ck_taper_effect * taper, ck_log_sd), the
  mediator of a taper) are integrated out by Gauss-Hermite quadrature. Both act through lambda_r
  only, so the quadrature costs per runner-race, not per cell, and the sampler sees ~20 parameters
  instead of one per runner: no funnel, few leapfrog steps. For a runner's only race with CK not
  measured, the two normals are summed into one (9 nodes instead of 9 x 5).
- Covariates are centred; the intercept is sampled at the centre (the literature prior on the
  intercept at the reference runner, an exact linear change of variables), and with the
  baseline and the effects sheared along runner_sd^2 (model/inference/shear.py).
- The likelihood and its exact gradient are one compiled numba pass
  (model/inference/likelihood.py); PyTensor sees a single Op.

Observations: no cramp (survived every segment reached: finish or DNF), cramp with known onset
segment k (survived 1..k-1, cramped in k), cramp with unknown onset (1 - survival to the end),
and cramp with unknown onset located by its splits: sum over the onset segments t of
w_t P(first cramp in t), w_t how well an onset in t explains the slowdown in the splits
(model/hazard/onset_location.py; the splits after an onset are its outcome, not pre-cramp pace).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import xarray as xr

from model.evidence.priors import Priors
from model.hazard.features import at_risk_before_onset
from model.hazard.quadrature import gauss_hermite_normal
from model.hazard.specification import (
    CELL_FACTORS,
    FACTORS,
    FIT_QUADRATURE,
    LN2,
    LOG_CK_REFERENCE,
    NO_CRAMP,
    ONSET_KNOWN,
    ONSET_UNKNOWN,
    RECORD_FACTORS,
    log_ck_from_damage,
)
from model.inference.likelihood import KernelData, hazard_loglik
from model.inference.likelihood_reference import reference_loglik
from model.inference.likelihood_stages import LOCATED, MEASURED, N_CODES, N_GROUPS, SOLO, UNMEASURED
from model.inference.nutpie_entry import compile_model
from model.inference.race_effects import race_intercepts
from model.inference.shear import n_sheared, sheared, unsheared

N_NODES_RUNNER = FIT_QUADRATURE.effect_nodes
N_NODES_DAMAGE = FIT_QUADRATURE.damage_nodes
BACKENDS = ("numba", "reference")
WINDOW_LOG_WEIGHT = -36.0
_MASKED_LOG_RATE = -1000.0  # exp() of this is exactly 0 in float64: masked cells add nothing


@dataclass
class ModelData:
    """Numpy arrays the model is built from, centred, with the centres kept for un-centring."""

    cell_names: list[str]
    cell_x: np.ndarray  # (factor, record, segment), centred
    shape_x: np.ndarray  # (record, segment) ln(km/10), centred
    log_length: np.ndarray  # (record, segment); masked cells set to a huge negative value
    record_names: list[str]
    record_x: np.ndarray  # (factor, record), centred; damage NaN where missing
    centres: dict[str, float]
    outcome: np.ndarray
    known_record: np.ndarray
    known_segment: np.ndarray  # 0-based
    onset_log_length: np.ndarray  # ln(length of the onset segment) of the known-onset records
    located: np.ndarray  # bool (record): unknown onset located by the splits (a window)
    window_first: np.ndarray  # (record) 0-based first and last segment of a located onset's
    window_last: np.ndarray  # window (the segments whose onset weight is within e^-36 of the best)
    onset_log_weight: np.ndarray  # (record, segment) ln w_t, model/hazard/onset_location.py
    length_km: np.ndarray  # (record, segment)
    runner_index: np.ndarray
    race_index: np.ndarray
    n_runner: int
    n_race: int
    damage_observed: np.ndarray  # bool (record)
    log_ck_observed: np.ndarray  # ln CK of the measured records
    taper_units: np.ndarray  # (record), uncentred


def prepare(features: xr.Dataset) -> ModelData:
    """Centre the covariates and sort factors into per-cell and per-record terms."""
    length = features["segment_length_km"].to_numpy()
    valid = length > 0
    located, first, last = onset_windows(features)
    # a located onset's window enters the likelihood term by term: at risk only before it
    at_risk = at_risk_before_onset(features).to_numpy() & ~(
        located[:, None] & (np.arange(length.shape[1]) >= first[:, None]))
    centres: dict[str, float] = {}
    cell_names, cell_cols, record_names, record_cols = [], [], [], []
    for name in CELL_FACTORS:
        x = features[name].to_numpy()
        spread = np.where(valid, x, np.nan)
        varies = np.nanmax(np.nanmax(spread, 1) - np.nanmin(spread, 1)) > 1e-9
        if varies:
            centres[name] = float(x[at_risk].mean()) if at_risk.any() else 0.0
            cell_names.append(name)
            cell_cols.append(np.where(valid, x - centres[name], 0.0))
        else:
            value = x[:, 0]
            centres[name] = float(value.mean())
            record_names.append(name)
            record_cols.append(value - centres[name])
    for name in RECORD_FACTORS:
        x = features[name].to_numpy().astype(float)
        centres[name] = float(np.nanmean(x)) if np.isfinite(x).any() else 0.0
        record_names.append(name)
        record_cols.append(x - centres[name])
    shape = features["log_distance_10km"].to_numpy()
    centres["distance_shape"] = float(shape[at_risk].mean()) if at_risk.any() else 0.0
    with np.errstate(divide="ignore"):
        log_length = np.where(at_risk, np.log(np.where(valid, length, 1.0)), _MASKED_LOG_RATE)
    outcome = features["outcome"].to_numpy()
    known = np.flatnonzero(outcome == ONSET_KNOWN)
    damage = features["muscle_damage"].to_numpy()
    observed = np.isfinite(damage)
    n_cells = len(cell_names)
    return ModelData(
        cell_names=cell_names,
        cell_x=np.stack(cell_cols) if n_cells else np.zeros((0, *length.shape)),
        shape_x=np.where(valid, shape - centres["distance_shape"], 0.0),
        log_length=log_length,
        record_names=record_names,
        record_x=np.stack(record_cols),
        centres=centres,
        outcome=outcome,
        known_record=known,
        known_segment=features["onset_segment"].to_numpy()[known] - 1,
        onset_log_length=np.log(length[known, features["onset_segment"].to_numpy()[known] - 1]),
        located=located,
        window_first=first,
        window_last=last,
        onset_log_weight=features["onset_log_weight"].to_numpy(),
        length_km=length,
        runner_index=features["runner_index"].to_numpy(),
        race_index=features["race_index"].to_numpy(),
        n_runner=features.sizes["runner"],
        n_race=features.sizes["race"],
        damage_observed=observed,
        log_ck_observed=log_ck_from_damage(damage[observed]),
        taper_units=features["taper"].to_numpy(),
    )


def onset_windows(features: xr.Dataset):
    """Cramps of unknown onset whose splits locate it (non-uniform onset weights), and per record
    the first and last segment (0-based) of the window of onset segments kept: those with a
    weight above e^-36 of the best. Each term left out is below e^-36 (2e-16) of the best
    segment's term times the ratio of the two segments' onset probabilities."""
    log_w = features["onset_log_weight"].to_numpy()
    reached = features["segment_length_km"].to_numpy() > 0
    unknown = features["outcome"].to_numpy() == ONSET_UNKNOWN
    located = unknown & np.any(reached & (log_w < -1e-12), axis=1)
    kept = reached & (log_w > WINDOW_LOG_WEIGHT)
    first = np.where(located, np.argmax(kept, axis=1), 0)
    last = np.where(located, kept.shape[1] - 1 - np.argmax(kept[:, ::-1], axis=1), -1)
    return located, first, last


def ieee_arithmetic():
    """A context in which PyTensor compiles numba code without fastmath.

    With numba's fastmath the sampler's compiled log-density differed in the last bits between a
    fresh compile and one loaded from PyTensor's cache, and HMC amplifies that into different
    draws for the same seed. Not every piece of PyTensor's numba cache is keyed by the flag, so
    code compiled with fastmath in the same cache can leak into a later compile without it:
    every compile of this model (fits here, and the tests') goes through this context. It is a
    context, not a setting changed at import, so a user's own PyTensor work is left alone."""
    return pytensor.config.change_flags(numba__fastmath=False)


def compile_for_nutpie(model: pm.Model):
    """nutpie's compiled log density of `model`, with IEEE arithmetic (`ieee_arithmetic`),
    through entry points that compile only the model's graphs (model/inference/nutpie_entry.py)."""
    with ieee_arithmetic():
        return compile_model(model)


def build_model(
    features: xr.Dataset,
    priors: Priors,
    *,
    n_nodes_runner: int = N_NODES_RUNNER,
    n_nodes_damage: int = N_NODES_DAMAGE,
    backend: str = "numba",
    reusable: bool = False,
) -> pm.Model:
    """The PyMC model of the cramp hazard for these features, with literature priors.

    `backend`: the likelihood's implementation, "numba" (the compiled kernel with its
    hand-derived gradient, fast) or "reference" (the plain PyTensor definition with automatic
    gradients, model/inference/likelihood_reference.py). `reusable` (numba only): this
    process keeps the compiled model for later data of the same structure
    (model/inference/compiled.py)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    d = prepare(features)
    arrays = graph_data(d, n_nodes_runner, n_nodes_damage)
    # numba: shared data, so any data of this structure give the same graph, which PyTensor's
    # disk cache serves to later fits in any process (model/inference/nutpie_entry.py); as fast
    # per gradient as constants (bench/compile_reuse.py). Borrowed, not copied: the arrays are
    # only read, and ~1 GB at 1,000,000 runner-races. The reference needs constants.
    reusable = reusable and backend == "numba"
    data = ({name: pytensor.shared(value, name=name, borrow=True)
             for name, value in arrays.items()} if backend == "numba" else arrays)
    coords = {"factor": list(FACTORS), "race": features["race"].to_numpy().tolist()}
    with pm.Model(coords=coords) as model:
        # sheared along runner_scale^2 (model/inference/shear.py); created first, in the order
        # of the sampler's vector before the shear (tests/reference_outputs.py's points)
        beta_mu, shape_prior = priors.factor_mu(), priors["distance_shape"]
        beta_free = sheared("beta", beta_mu, "factor")
        shape_free = sheared("distance_shape", shape_prior.mu)
        # HalfNormal(s) on runner_sd == Normal(0, s) on a signed scale (|scale| = SD; the likelihood
        # is symmetric in it): the sampler crosses 0 instead of chasing a log-scale tail to SD 0
        runner_scale = pm.Normal("runner_scale", 0.0, priors["runner_sd"].sigma)
        pm.Deterministic("runner_sd", pt.abs(runner_scale))
        shift = data["runner_shear"] * runner_scale**2
        beta = unsheared("beta", beta_free, shift[2:], beta_mu, priors.factor_sigma(), "factor")
        shape_k = unsheared("distance_shape", shape_free, shift[1], shape_prior.mu,
                            shape_prior.sigma)
        race_sd = pm.HalfNormal("race_sd", sigma=priors["race_sd"].sigma)
        ck_log_mean = _normal(priors, "ck_log_mean")
        ck_log_sd = pm.HalfNormal("ck_log_sd", sigma=priors["ck_log_sd"].sigma)
        ck_taper = _normal(priors, "ck_taper_effect")
        # Intercept at the data's centre (flat), sampled as an offset from a start matching the
        # observed incidence (an exact shift: the start is data, so the initial point does not
        # depend on the data); the prior on the intercept at the reference runner, a Potential.
        intercept_centred = data["initial_intercept"] + pm.Flat("intercept_offset") + shift[0]
        # an elementwise sum, not pt.dot: numba's dot adds seconds to every compile
        centring = (beta * data["factor_centres"]).sum() + shape_k * data["shape_centre"]
        log_h10 = pm.Deterministic("log_hazard_per_km", intercept_centred - centring)
        # the baseline pair's prior is bivariate normal: log_h10 given the shape
        base, shape = priors["log_hazard_per_km"], priors["distance_shape"]
        rho = priors.baseline_correlation
        pm.Potential("log_hazard_per_km_prior", pm.logp(pm.Normal.dist(
            base.mu + rho * base.sigma / shape.sigma * (shape_k - shape.mu),
            base.sigma * np.sqrt(1 - rho**2)), log_h10))
        pm.Potential("ck_observed", pm.logp(pm.Normal.dist(
            ck_log_mean + ck_taper * data["ck_taper_observed"], ck_log_sd),
            data["log_ck_observed"]).sum())
        race_intercept = race_intercepts(intercept_centred, race_sd, data["race_events"])
        const = race_intercept[data["race_index"]]
        for i, name in enumerate(_const_names(d)):
            const = const + beta[FACTORS.index(name)] * data["record_x"][i]
        b_cell = pt.stack([shape_k] + [beta[FACTORS.index(name)] for name in d.cell_names])
        params = pt.stack([runner_scale, beta[FACTORS.index("muscle_damage")], ck_log_mean,
                           ck_log_sd, ck_taper])
        kernel = KernelData(**{f: data[f"kernel_{f}"] for f in KernelData.__dataclass_fields__})
        loglik = hazard_loglik if backend == "numba" else reference_loglik
        pm.Potential("loglik", loglik(const, b_cell, params, kernel))
    model.cramp_graph_data = arrays  # swapped into a compiled model of the same structure
    model.cramp_structure = (reusable, backend, n_nodes_runner, n_nodes_damage,
                             tuple(d.cell_names), tuple(d.record_names), d.n_race)
    model.cramp_data = d  # kept for diagnostics and predictions
    return model


def _initial_intercept(d: ModelData) -> float:
    """log hazard per km matching the observed incidence: a start where no likelihood underflows."""
    incidence = np.clip(np.mean(d.outcome != NO_CRAMP), 0.01, 0.99)
    km_at_risk = np.exp(d.log_length).sum(axis=1).mean() + 1.0
    return float(np.log(-np.log1p(-incidence) / km_at_risk))


def race_events(d: ModelData) -> np.ndarray:
    """Cramps per race: about the information the data hold on each race's effect."""
    return np.bincount(d.race_index, weights=(d.outcome != NO_CRAMP), minlength=d.n_race)


def graph_data(d: ModelData, n_nodes_runner: int, n_nodes_damage: int) -> dict[str, np.ndarray]:
    """Every data array the model's graph reads, by name (the kernel's prefixed `kernel_`)."""
    arrays = {
        "initial_intercept": np.array(_initial_intercept(d)),
        "factor_centres": np.array([d.centres[name] for name in FACTORS]),
        "shape_centre": np.array(d.centres["distance_shape"]),
        "ck_taper_observed": d.taper_units[d.damage_observed].astype(float),
        "log_ck_observed": np.asarray(d.log_ck_observed, dtype=float),
        "race_events": race_events(d),
        "runner_shear": np.zeros(n_sheared()),  # set by model/inference/shear.py
        "race_index": d.race_index.astype(np.int64),
        "record_x": np.stack([d.record_x[d.record_names.index(n)] for n in _const_names(d)])
        if _const_names(d) else np.zeros((0, len(d.outcome))),
    }
    kernel = kernel_data(d, n_nodes_runner, n_nodes_damage)
    arrays.update({f"kernel_{name}": np.ascontiguousarray(value) for name, value in
                   zip(KernelData.__dataclass_fields__, kernel.arrays(), strict=True)})
    return arrays


def _const_names(d: ModelData) -> list[str]:
    """The record-level factors that enter the runner-race constant (damage enters the kernel,
    integrated where not measured)."""
    return [name for name in d.record_names if name != "muscle_damage"]


def kernel_data(d: ModelData, n_nodes_runner: int, n_nodes_damage: int) -> KernelData:
    """The likelihood kernel's arrays (model/inference/likelihood.py) from the centred model
    data."""
    category = np.where(d.damage_observed, MEASURED,
                        np.where(single_race(d.runner_index), SOLO, UNMEASURED))
    group = category * N_CODES + np.where(d.located, LOCATED, d.outcome)
    order = np.lexsort((d.runner_index, group))  # by group, then runner (locality)
    coef_x = np.concatenate([d.shape_x[None], d.cell_x])[:, order]  # (coef, record, segment)
    # located onsets' windows, (position, located record), the located in kernel order
    located = order[d.located[order]]
    n_window = d.window_last[located] - d.window_first[located] + 1
    position = np.arange(max(n_window.max(initial=0), 1))[:, None]
    inside = position < n_window
    segment = np.where(inside, d.window_first[located] + position, 0)
    in_kernel_order = np.flatnonzero(d.located[order])  # coef_x is already in kernel order
    window_x = coef_x[:, in_kernel_order[None, :], segment]
    with np.errstate(divide="ignore"):
        window_log_length = np.log(d.length_km[located[None, :], segment])
    weight = np.where(inside, np.exp(d.onset_log_weight[located[None, :], segment]), 0.0)
    onset_x = np.zeros(coef_x.shape[:2])
    onset_log_length = np.zeros(len(order))
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    known_at = position[d.known_record]
    onset_x[:, known_at] = coef_x[:, known_at, d.known_segment]
    onset_log_length[known_at] = d.onset_log_length
    damage_row = d.record_names.index("muscle_damage")
    z_u, logw_u = gauss_hermite_normal(n_nodes_runner)
    z_d, logw_d = gauss_hermite_normal(n_nodes_damage)
    # The cell arrays are the kernel's only large reads, once per evaluation: stored in single
    # precision (covariates good to ~1e-7) they take half the memory traffic; sums are float64.
    return KernelData(
        cell_x=np.ascontiguousarray(coef_x.transpose(0, 2, 1), dtype=np.float32),
        log_length=np.ascontiguousarray(d.log_length[order].T, dtype=np.float32),
        onset_x=onset_x,
        onset_log_length=onset_log_length,
        damage_x=np.nan_to_num(d.record_x[damage_row])[order],
        taper_units=d.taper_units[order].astype(float),
        record_order=order.astype(np.int64),
        record_runner=d.runner_index[order].astype(np.int64),
        group_start=np.searchsorted(group[order], np.arange(N_GROUPS + 1)).astype(np.int64),
        window_x=np.ascontiguousarray(np.where(inside, window_x, 0.0)),
        window_log_length=np.where(inside, window_log_length, _MASKED_LOG_RATE),
        window_drop=-np.diff(weight, axis=0, append=0.0),  # w_t - w_t+1, 0 past the window
        z_runner=z_u,
        logw_runner=logw_u,
        z_damage=z_d,
        logw_damage=logw_d,
        damage_offset=np.array([-LOG_CK_REFERENCE / LN2 - d.centres["muscle_damage"]]),
    )


def single_race(runner_index: np.ndarray) -> np.ndarray:
    """Per record: is it its runner's only race in the data? Where such a record's CK was not
    measured, its runner effect and its damage are independent normals on ln lambda that no
    other record shares, so the likelihood integrates them as one normal
    (model/inference/likelihood.py)."""
    return np.bincount(runner_index)[runner_index] == 1


def _normal(priors: Priors, name: str):
    p = priors[name]
    return pm.Normal(name, mu=p.mu, sigma=p.sigma)
