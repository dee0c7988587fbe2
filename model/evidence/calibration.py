"""Calibrate the baseline priors (log_hazard_per_km, distance_shape) on published in-race figures.

The model, per study j with a likelihood figure (published_figures.toml):
    alpha ~ reference prior, k ~ reference prior          (the two baseline parameters)
    theta ~ the factor, heterogeneity and CK priors of priors.toml (joint draws, shared by all
            studies: one set of factor effects for every race)
    d_j ~ Normal(0, race_sd)                              (the study's race effect: course, day,
                                                           definitions, who volunteered)
    p_j = share of study j's typical field that cramps during the race, from the project's
          forward hazard at (alpha + d_j, k, theta), runner effects and CK drawn per runner
    y_j ~ Binomial(n_j, p_j) (or at most y_j, or onset mean/SD among crampers: figures.py LINKS)

The posterior is computed exactly on a grid in (alpha, k), by Gauss-Hermite quadrature over each
d_j, and by Monte Carlo over theta (fixed seed): deterministic, and with two parameters faster and
more accurate than MCMC, whose sampler would need the whole forward hazard of every field at every
step. Its marginal mean and SD of alpha and k are the calibrated Normal priors.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from scipy import stats
from scipy.special import bdtr, gammaln, logsumexp

from model.errors import InputError
from model.evidence.figures import PublishedFigures, Study
from model.evidence.priors import Priors
from model.evidence.study_fields import (
    draw_study_field,
    segment_mid_km,
    study_features,
)
from model.hazard.forward import (
    cell_log_rate,
    cramp_probability_shifted,
    cumulative_hazard,
    onset_distribution_shifted,
    prior_draws,
)
from model.hazard.quadrature import gauss_hermite_normal
from model.hazard.specification import damage_from_log_ck
from model.validation.synth import Field, field_log_ck

DRAW_CHUNK = 16
EDGE_MASS = 1e-3  # posterior mass allowed in the outer grid cells before the grid is "too small"
BASELINE = ("log_hazard_per_km", "distance_shape")


@dataclass(frozen=True)
class Calibration:
    """The calibrated baseline: posterior mean and SD of each baseline parameter, their
    correlation (written with them), the factor priors' posterior
    means (how much the figures move them; not written), and what it was computed from."""

    mean: dict[str, float]
    sd: dict[str, float]
    correlation: float
    nuisance_prior_mean: dict[str, float]
    nuisance_posterior_mean: dict[str, float]
    nuisance_ess: float
    evidence: tuple[str, ...]
    seed: int
    figures_sha256: str
    priors_sha256: str
    #: the figures file's reference prior (mu, sigma) per baseline entry: the priors file's
    #: `fallback` when a calibration study is excluded
    reference: dict[str, tuple[float, float]] | None = None
    #: evidence rows excluded (`priors.excluded`): their figures were dropped
    excluded: tuple[str, ...] = ()


def study_seed(seed: int, study_id: str) -> list[int]:
    """A study's field depends on the seed and its own id only, not on the other studies."""
    return [seed, zlib.crc32(study_id.encode())]


def nuisance_draws(priors: Priors, figures: PublishedFigures, n_draws: int) -> xr.Dataset:
    """Joint draws of everything but the baseline; the baseline entries of `priors` (the ones
    the calibration writes) are replaced by the reference prior so they cannot feed back."""
    ref = figures.settings["reference_prior"]
    for name in BASELINE:
        priors = priors.with_prior(name, mu=ref[name]["mu"], sigma=ref[name]["sigma"])
    return prior_draws(priors, n_draws, figures.settings["seed"])


def study_field(study: Study, settings: dict) -> tuple[Field, xr.Dataset]:
    """The study's typical field (fixed by the seed and the study id) and its features."""
    field = draw_study_field(study.field, settings["runners_per_field"],
                             np.random.default_rng(study_seed(settings["seed"], study.id)))
    return field, study_features(field)


def field_hazard(field: Field, base: xr.Dataset, params: xr.Dataset,
                 shape_grid: xr.DataArray | float) -> xr.DataArray:
    """Cumulative hazard along the course at log_hazard_per_km = 0, per parameter draw, k node
    and runner of a field (runner effects and pre-race CK drawn per runner)."""
    log_ck = field_log_ck(field, params["ck_log_mean"], params["ck_log_sd"],
                          params["ck_taper_effect"])
    features = base.assign(muscle_damage=damage_from_log_ck(log_ck))
    unit = params.assign(log_hazard_per_km=xr.zeros_like(params["runner_sd"]),
                         distance_shape=shape_grid)
    runner = params["runner_sd"] * xr.DataArray(field.z_runner, dims="record")
    log_rate = cell_log_rate(features, unit, runner)
    return cumulative_hazard(log_rate)


def _grid(spec) -> np.ndarray:
    lo, hi, step = (float(x) for x in spec)
    if not (hi > lo and step > 0):
        raise InputError(f"calibration grid [min, max, step] must have max > min and step > 0, "
                         f"got {spec}")
    return lo + step * np.arange(int(round((hi - lo) / step)) + 1)


def _interp(values: np.ndarray, grid: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Linear interpolation along the last axis of `values` (uniform `grid`) at points `at`,
    which broadcast against values' leading axes plus one trailing axis of points."""
    pos = np.clip((at - grid[0]) / (grid[1] - grid[0]), 0, len(grid) - 1)
    i0 = np.minimum(np.floor(pos).astype(int), len(grid) - 2)
    frac = pos - i0
    lo = np.take_along_axis(values, i0, axis=-1)
    hi = np.take_along_axis(values, i0 + 1, axis=-1)
    return lo + frac * (hi - lo)


def study_predictions(study: Study, settings: dict, params: xr.Dataset, shape: np.ndarray,
                      alpha: np.ndarray, alpha_onset: np.ndarray) -> dict[str, np.ndarray]:
    """Incidence (draw, k, alpha) and, if the study has an onset figure, the mean and SD of onset
    km among crampers (draw, k, alpha_onset)."""
    needs_onset = any(f.measure == "onset_km" and f.use == "likelihood" for f in study.figures)
    shape_da = xr.DataArray(shape, dims="shape")
    alpha_da = xr.DataArray(alpha, dims="alpha")
    field, base = study_field(study, settings)
    mid = segment_mid_km(base)
    incidence, onset_mean, onset_sd = [], [], []
    for start in range(0, params.sizes["draw"], DRAW_CHUNK):
        chunk = params.isel(draw=slice(start, start + DRAW_CHUNK))
        cumulative = field_hazard(field, base, chunk, shape_da)
        total = cumulative.isel(segment=-1, drop=True)
        incidence.append(cramp_probability_shifted(total, alpha_da).mean("record", skipna=False)
                         .transpose("draw", "shape", "alpha").to_numpy())
        if needs_onset:
            m1, m2 = [], []
            for a in alpha_onset:
                onset = onset_distribution_shifted(cumulative, a).sum("record", skipna=False)
                share = onset / onset.sum("segment", skipna=False)
                mean = (share * mid).sum("segment", skipna=False)
                m1.append(mean.transpose("draw", "shape").to_numpy())
                m2.append((share * (mid - mean) ** 2).sum("segment", skipna=False)
                          .transpose("draw", "shape").to_numpy())
            onset_mean.append(np.stack(m1, -1))
            onset_sd.append(np.sqrt(np.stack(m2, -1)))
    out = {"incidence": np.concatenate(incidence)}
    if needs_onset:
        out["onset_mean_km"] = np.concatenate(onset_mean)
        out["onset_sd_km"] = np.concatenate(onset_sd)
    return out


def study_log_likelihood(study: Study, pred: dict[str, np.ndarray], race_sd: np.ndarray,
                         alpha: np.ndarray, alpha_onset: np.ndarray, nodes: int) -> np.ndarray:
    """log p(study's likelihood figures | draw, k, alpha), its race effect integrated out by
    Gauss-Hermite quadrature (all its figures share one race effect)."""
    z, logw = gauss_hermite_normal(nodes)
    # (draw, 1, alpha, node): the log hazard the field actually had, alpha + race effect
    shifted = alpha[None, None, :, None] + race_sd[:, None, None, None] * z
    n_shape = pred["incidence"].shape[1]

    def at(values, grid):
        flat = values.reshape(-1, values.shape[-1])
        points = np.broadcast_to(shifted, (len(race_sd), n_shape, len(alpha), nodes))
        return _interp(flat, grid, points.reshape(flat.shape[0], -1)).reshape(points.shape)

    p = np.clip(at(pred["incidence"], alpha), 1e-12, 1 - 1e-12)
    total = np.zeros_like(p)
    for f in study.figures:
        if f.use != "likelihood":
            continue
        if f.link == "in_race":
            y, n = f.numerator, f.denominator
            total += (gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1) + y * np.log(p)
                      + (n - y) * np.log1p(-p))
        elif f.link == "at_most":
            with np.errstate(divide="ignore"):  # a field that cannot stay below y: -inf
                total += np.log(bdtr(f.numerator, f.denominator, p))
        else:  # onset mean and SD among f.denominator crampers
            n = f.denominator
            mu, sd = at(pred["onset_mean_km"], alpha_onset), at(pred["onset_sd_km"], alpha_onset)
            total += stats.norm.logpdf(f.mean_km, mu, sd / np.sqrt(n))
            scaled = (n - 1) * f.sd_km ** 2 / sd ** 2
            total += stats.chi2.logpdf(scaled, n - 1) + np.log(2 * (n - 1) * f.sd_km / sd ** 2)
    return logsumexp(total + logw, axis=-1)


def calibrate(figures: PublishedFigures, priors: Priors) -> Calibration:
    """The baseline priors implied by the published figures (see the module docstring)."""
    s = figures.settings
    # a study left out of the priors (`load_priors(exclude_evidence=...)`) is left out here too:
    # its figures are dropped and the calibration re-run on the others
    used = [study for study in figures.used() if study.id not in priors.excluded]
    if not used:
        raise InputError(f"{figures.path}: no study has a likelihood figure to calibrate on"
                         + (f" without {', '.join(priors.excluded)}" if priors.excluded else ""))
    alpha, shape = _grid(s["log_hazard_grid"]), _grid(s["distance_shape_grid"])
    alpha_onset = alpha[0] + float(s["onset_log_hazard_step"]) * np.arange(
        int(np.ceil((alpha[-1] - alpha[0]) / float(s["onset_log_hazard_step"]))) + 1)
    params = nuisance_draws(priors, figures, int(s["nuisance_draws"]))
    race_sd = params["race_sd"].to_numpy()
    log_post = np.zeros((params.sizes["draw"], len(shape), len(alpha)))
    for study in used:
        pred = study_predictions(study, s, params, shape, alpha, alpha_onset)
        log_post += study_log_likelihood(study, pred, race_sd, alpha, alpha_onset,
                                         int(s["study_effect_nodes"]))
    ref = s["reference_prior"]
    log_post += stats.norm.logpdf(alpha, ref["log_hazard_per_km"]["mu"],
                                  ref["log_hazard_per_km"]["sigma"])
    log_post += stats.norm.logpdf(shape, ref["distance_shape"]["mu"],
                                  ref["distance_shape"]["sigma"])[:, None]
    weight = np.exp(log_post - log_post.max())
    weight /= weight.sum()
    try:
        _check_grid(figures.path, weight)
    except InputError as exc:
        if not priors.excluded:
            raise
        raise InputError(f"{exc} (without {', '.join(priors.excluded)} the remaining figures do "
                         "not pin it: the priors file's fallback, the reference prior, is what "
                         "is left)") from None
    w_alpha, w_shape = weight.sum((0, 1)), weight.sum((0, 2))
    mean = {"log_hazard_per_km": float(w_alpha @ alpha), "distance_shape": float(w_shape @ shape)}
    sd = {"log_hazard_per_km": float(np.sqrt(w_alpha @ (alpha - mean["log_hazard_per_km"]) ** 2)),
          "distance_shape": float(np.sqrt(w_shape @ (shape - mean["distance_shape"]) ** 2))}
    cov = float(((shape - mean["distance_shape"])[:, None]
                 * (alpha - mean["log_hazard_per_km"])[None, :] * weight.sum(0)).sum())
    w_draw = weight.sum((1, 2))
    nuisance = _nuisance_means(params)
    return Calibration(
        mean, sd, cov / (sd["log_hazard_per_km"] * sd["distance_shape"]),
        {k: float(v.mean()) for k, v in nuisance.items()},
        {k: float(w_draw @ v) for k, v in nuisance.items()},
        float(1.0 / (w_draw ** 2).sum()), tuple(study.id for study in used), int(s["seed"]),
        figures.sha256, priors.sha256,
        {n: (float(ref[n]["mu"]), float(ref[n]["sigma"])) for n in BASELINE}, priors.excluded)


def _nuisance_means(params: xr.Dataset) -> dict[str, np.ndarray]:
    out = {f"beta.{f}": params["beta"].sel(factor=f).to_numpy()
           for f in params["factor"].to_numpy()}
    for name in ("runner_sd", "race_sd", "ck_log_mean", "ck_log_sd", "ck_taper_effect"):
        out[name] = params[name].to_numpy()
    return out


def _check_grid(path: str, weight: np.ndarray) -> None:
    for axis, name, key in ((1, "distance_shape", "distance_shape_grid"),
                            (2, "log_hazard_per_km", "log_hazard_grid")):
        marginal = weight.sum(tuple(a for a in range(3) if a != axis))
        if marginal[0] > EDGE_MASS or marginal[-1] > EDGE_MASS:
            raise InputError(f"{path}: [calibration] {key}: the posterior of {name} reaches the "
                             "grid's edge; widen the grid")


CALIBRATED_MARK = "Calibrated by `cramp priors calibrate`"
_UNITS = {"log_hazard_per_km": "log hazard per km at 10 km covered, for the reference runner "
          "(at ability, within training distance, CK 70 U/L, 7-day taper, WBGT 15 degC, no "
          "history)", "distance_shape": "exponent k of (km covered / 10 km) in the baseline hazard"}


def rounded(cal: Calibration) -> dict[str, tuple[float, float]]:
    """(mu, sigma) per baseline entry as written to the priors file (2 decimals: the Monte Carlo
    error of the calibration is larger than that)."""
    return {name: (round(cal.mean[name], 2), round(cal.sd[name], 2)) for name in BASELINE}


def baseline_entry(cal: Calibration, name: str, figures_path: str) -> str:
    """The TOML text of one calibrated baseline entry, with its provenance."""
    mu, sigma = rounded(cal)[name]
    before, after = cal.nuisance_prior_mean, cal.nuisance_posterior_mean
    moved = ", ".join(f"{k} {before[k]:.2f} -> {after[k]:.2f}" for k in before)
    alpha, shape = "log_hazard_per_km", "distance_shape"
    evidence = ", ".join(f'"{e}"' for e in cal.evidence)
    correlation = (f"correlation = {{ {shape} = {round(cal.correlation, 2)} }}\n"
                   if name == alpha else "")
    return f'''[baseline.{name}]
unit = "{_UNITS[name]}"
dist = "normal"
mu = {mu}
sigma = {sigma}
{correlation}evidence = [{evidence}]
{_source_lines(cal, name)}arithmetic = """
{CALIBRATED_MARK} (model/evidence/calibration.py) from the likelihood figures of
{Path(figures_path).name} ({", ".join(cal.evidence)}): each study's in-race incidence (binomial, or
at most the published count when it includes post-race cramps) and E15's onset km (mean 35, SD 6,
n = 15) as observations of the forward hazard for that study's typical field, with a race effect
per study ~ Normal(0, race_sd), the factor/heterogeneity/CK priors integrated by Monte Carlo and
the baseline on a grid under the wide reference prior of the figures file.
Posterior: {alpha} {cal.mean[alpha]:.3f} (SD {cal.sd[alpha]:.3f}),
{shape} {cal.mean[shape]:.3f} (SD {cal.sd[shape]:.3f}), correlation
{cal.correlation:.2f} (kept: the figures pin the baseline's total far better than how it splits
between level and steepness). Written rounded to 2 decimals.
Seed {cal.seed}; figures sha256 {cal.figures_sha256[:12]}; nuisance ESS {cal.nuisance_ess:.0f}.
Factor priors, posterior mean (not written; they keep their evidence rows): {moved}.
Definition predicted: a first cramp during the race (self-reported).
"""
'''


def _source_lines(cal: Calibration, name: str) -> str:
    """The entry's `source` and `fallback` lines (priors.py): without one of the calibration's
    studies the baseline falls back to the figures file's wide reference prior."""
    if cal.reference is None:
        return ""
    mu, sigma = cal.reference[name]
    studies = ", ".join(f'"{e}"' for e in cal.evidence)
    return (f"source = [{studies}]\nfallback = {{ mu = {mu}, sigma = {sigma}, why = \"the "
            "calibration's own wide reference prior (published_figures.toml); cramp priors "
            "calibrate --exclude-evidence re-runs it without the study\" }\n")


def rewrite_baseline(text: str, cal: Calibration, figures_path: str) -> str:
    """The priors file's text with its two baseline entries replaced, all else byte for byte."""
    for name in BASELINE:
        header = f"[baseline.{name}]\n"
        start = text.find(header)
        if start < 0:
            raise InputError(f"priors file: missing prior [baseline.{name}]")
        nxt = text.find("\n[", start + len(header))
        end = len(text) if nxt < 0 else nxt + 1
        block = baseline_entry(cal, name, figures_path)
        tail = text[end:]
        text = text[:start] + (block + "\n" if tail else block) + tail.lstrip("\n")
    return text
