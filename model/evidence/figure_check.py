"""The prior predictive table: every published figure next to what the priors predict for that
study's typical field, as the observable the study reported (a count out of its n, a sample mean
of its crampers' onsets), with an equal-tailed interval over prior draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from model.evidence.calibration import field_hazard, study_field, study_seed
from model.evidence.figures import Figure, PublishedFigures
from model.evidence.priors import Priors
from model.evidence.study_fields import segment_mid_km
from model.hazard.forward import cramp_probability_shifted, onset_distribution_shifted, prior_draws

DRAW_CHUNK = 25


def figure_table(priors: Priors, figures: PublishedFigures, *, n_draws: int, seed: int,
                 prob: float) -> pd.DataFrame:
    """One row per published figure: the figure, the predicted median and `prob` interval of
    the same observable, whether it lies inside, and whether the figure was fitted."""
    params = prior_draws(priors, n_draws, seed)
    rows = []
    for study in figures.studies:
        rng = np.random.default_rng([*study_seed(seed, study.id), 1])
        # the study's race effect: one race day per draw
        race = params["race_sd"] * xr.DataArray(rng.standard_normal(n_draws), dims="draw")
        field, base = study_field(study, figures.settings)
        mid = segment_mid_km(base)
        incidence, onset = [], []
        for start in range(0, n_draws, DRAW_CHUNK):
            part = slice(start, start + DRAW_CHUNK)
            chunk = params.isel(draw=part)
            cumulative = field_hazard(field, base, chunk, chunk["distance_shape"])
            shift = chunk["log_hazard_per_km"] + race.isel(draw=part)
            total = cumulative.isel(segment=-1, drop=True)
            incidence.append(cramp_probability_shifted(total, shift).mean("record"))
            onset.append(onset_distribution_shifted(cumulative, shift).sum("record"))
        p = xr.concat(incidence, "draw").to_numpy()
        share = xr.concat(onset, "draw")
        share = (share / share.sum("segment")).transpose("draw", "segment").to_numpy()
        for figure in study.figures:
            for name, value, draws in _observables(figure, p, share, mid.to_numpy(), rng):
                lo, med, hi = np.quantile(draws, [(1 - prob) / 2, 0.5, 1 - (1 - prob) / 2])
                rows.append({"study": study.id, "label": study.label, "figure": name,
                             "use": figure.use, "published": value, "predicted": med,
                             "lo": lo, "hi": hi, "inside": bool(lo <= value <= hi),
                             "n": figure.denominator, "reason": figure.reason})
    return pd.DataFrame(rows)


def _observables(f: Figure, p: np.ndarray, share: np.ndarray, mid: np.ndarray,
                 rng: np.random.Generator):
    """(name, published value, predicted draws of the same observable) for one figure."""
    n = f.denominator
    if f.measure == "incidence":
        yield f.label, f.value, _sampled(p, n, rng)
        return
    if f.measure == "onset_km":
        mean = share @ mid
        sd = np.sqrt(np.einsum("ds,ds->d", share, (mid[None, :] - mean[:, None]) ** 2))
        yield "onset km, mean", f.mean_km, mean + sd / np.sqrt(n) * rng.standard_normal(len(sd))
        yield "onset km, SD", f.sd_km, sd * np.sqrt(rng.chisquare(n - 1, len(sd)) / (n - 1))
        return
    late = mid > (f.km if f.measure == "onset_share_after_km" else 0.75 * mid.max())
    yield f.label, f.value, _sampled(share[:, late].sum(1), n, rng)


def _sampled(p: np.ndarray, n: int | None, rng: np.random.Generator) -> np.ndarray:
    """The share a study of n would report (binomial sampling), or the share itself."""
    return p if n is None else rng.binomial(n, np.clip(p, 0, 1)) / n
