"""Which conclusions depend on the priors: power-scaling sensitivity (Kallioinen, Paananen,
Buerkner & Vehtari 2024, "Detecting and diagnosing prior and likelihood sensitivity with
power-scaling", Stat Comput 34:57), as ArviZ's `psense` computes it (arviz_stats).

The prior is raised to a power alpha near 1 (0.99 and 1.01) by Pareto-smoothed importance
weighting of the posterior draws, w ∝ p(theta)^(alpha - 1), so no refit is needed; the
sensitivity is how far each parameter's posterior moves per unit of log alpha (cumulative
Jensen-Shannon distance). Above 0.05 (the paper's threshold) the posterior of that parameter
depends on its prior: a conclusion about it is the prior's as much as the data's.

What is power-scaled: the literature priors of the priors file only (factors, the baseline pair
with its correlation, the heterogeneity SDs, the CK mediator), evaluated per draw from the file
here: the fit's DataTree keeps no log prior. The race effects' own Normal(0, race_sd) is part of
the model's structure and is not scaled (selective power-scaling, as the paper recommends for
hierarchical models). Likelihood sensitivity needs the per-runner log-likelihood; it is computed
when the fitted records are at hand (`model.validation.checks.runner_log_likelihood`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from model.evidence.priors import BASELINE, Priors
from model.hazard.specification import FACTORS
from model.inference.identification import label

SENSITIVITY_THRESHOLD = 0.05
_SCALED = ("runner_sd", "race_sd", "ck_log_mean", "ck_log_sd", "ck_taper_effect")


def log_prior(posterior: xr.Dataset, priors: Priors) -> xr.Dataset:
    """Per draw (chain, draw): the log density of each literature prior at the posterior draw
    [nats], one variable per prior (the baseline pair as one bivariate term)."""
    def normal(x, mu, sigma):
        return xr.apply_ufunc(stats.norm.logpdf, x, mu, sigma)

    out = {f"beta_{f}": normal(posterior["beta"].sel(factor=f, drop=True), priors[f].mu,
                               priors[f].sigma) for f in FACTORS}
    level, shape = (priors[n] for n in BASELINE)
    rho = priors.baseline_correlation
    k = posterior["distance_shape"]
    out["baseline"] = normal(k, shape.mu, shape.sigma) + normal(
        posterior["log_hazard_per_km"], level.mu + rho * level.sigma / shape.sigma
        * (k - shape.mu), level.sigma * np.sqrt(1 - rho**2))
    for name in _SCALED:
        p = priors[name]
        # a half-normal is twice the normal on its support (the SDs are >= 0)
        out[name] = normal(posterior[name], p.mu, p.sigma) + (
            np.log(2.0) if p.dist == "halfnormal" else 0.0)
    return xr.Dataset(out)


def power_scaling(posterior: xr.Dataset, priors: Priors,
                  log_likelihood: xr.DataArray | None = None) -> pd.DataFrame:
    """Prior (and, with `log_likelihood` over (chain, draw, ...), likelihood) power-scaling
    sensitivity per reported parameter, rows labelled as the fit's summary, with a plain
    diagnosis. `posterior`: the parameters over (chain, draw)."""
    from arviz_stats import psense

    names = [n for n in ("beta", *BASELINE, *_SCALED) if n in posterior]
    post = posterior[names].reset_coords(drop=True)
    groups = {"posterior": xr.DataTree(post),
              "log_prior": xr.DataTree(log_prior(post, priors))}
    if log_likelihood is not None:
        groups["log_likelihood"] = xr.DataTree(log_likelihood.rename("runners").to_dataset())
    tree = xr.DataTree.from_dict(groups)
    table = pd.DataFrame({"prior": _flatten(psense(tree, group="prior"))})
    if log_likelihood is not None:
        table["likelihood"] = _flatten(psense(tree, group="likelihood"))
    table["diagnosis"] = [diagnosis(row.prior, getattr(row, "likelihood", None))
                          for row in table.itertuples()]
    return table


def diagnosis(prior: float, likelihood: float | None = None) -> str:
    """In words, from the two sensitivities (threshold 0.05, Kallioinen et al. 2024)."""
    if prior < SENSITIVITY_THRESHOLD:
        return "data-driven: the prior barely matters"
    if likelihood is None:
        return "depends on the prior"
    if likelihood >= SENSITIVITY_THRESHOLD:
        return "prior-data conflict: prior and data pull apart"
    return "strong prior, weak data: the prior decides"


def _flatten(values: xr.Dataset) -> pd.Series:
    """psense's dataset (beta over factor, scalars) as a Series labelled like the summary."""
    out = {}
    for name, da in values.data_vars.items():
        if "factor" in da.dims:
            for f in da["factor"].to_numpy():
                out[label(str(f))] = float(da.sel(factor=f))
        else:
            out[name] = float(da)
    return pd.Series(out)
