"""What the data cannot tell: per parameter, how far the posterior contracted from the prior, and a
flag when the data do not inform it (with the structural reason where there is one).

Contraction = 1 - posterior variance / prior variance (Schad, Betancourt & Vasishth 2021): near 1
the data pin the parameter; near 0 the posterior is the prior again; below 0 the posterior is
wider than the prior (a conflict, or a scale parameter pushed into its tail). The prior variance
comes from the priors file: sigma^2 for a normal, sigma^2 (1 - 2/pi) for a half-normal (all the
reported parameters have their own prior there, the baseline's level included: its bivariate
prior has that marginal).

A parameter is flagged "not informed by the data" when its contraction is below
`CONTRACTION_THRESHOLD` (0.1: the data removed less than a tenth of the prior's variance, so the
table shows the prior, not an estimate), or when the design makes it structurally unidentifiable
(`structural_reasons`: a constant WBGT for heat, one race for race_sd, every runner seen once for
runner_sd, no CK measured for the damage effect and the CK mediator, a factor that does not vary
in the data). A structural reason flags even when the posterior narrowed: that narrowing comes
through the parameter's correlation with others (e.g. heat with the baseline level), not from
data that separate it.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from model.evidence.priors import Priors
from model.hazard.specification import FACTORS

CONTRACTION_THRESHOLD = 0.1
#: the saved fit's attribute that holds the table (JSON), so a loaded fit shows it
ATTR = "identification"
_HALFNORMAL_VARIANCE = 1.0 - 2.0 / np.pi
_SCALARS = ("log_hazard_per_km", "distance_shape", "runner_sd", "race_sd", "ck_log_mean",
            "ck_log_sd", "ck_taper_effect")
_CK = ("ck_log_mean", "ck_log_sd", "ck_taper_effect")


def label(name: str) -> str:
    """The summary table's row label of a parameter (a factor f is `beta[f]`)."""
    return f"beta[{name}]" if name in FACTORS else name


def prior_sd(priors: Priors, name: str) -> float:
    """The prior's standard deviation of a reported parameter (factor or scalar name)."""
    p = priors[name]
    return float(p.sigma * (np.sqrt(_HALFNORMAL_VARIANCE) if p.dist == "halfnormal" else 1.0))


def structural_reasons(features: xr.Dataset) -> dict[str, str]:
    """Row label -> why the design cannot inform that parameter (features of the fitted records,
    model/hazard/features.py); parameters the design can inform are left out."""
    reasons: dict[str, str] = {}
    reached = features["segment_length_km"].to_numpy() > 0
    for name in FACTORS:
        x = features[name].to_numpy().astype(float)
        if x.ndim == 2:
            x = np.where(reached, x, np.nan)
        if not np.isfinite(x).any():
            continue  # damage: handled below with the CK mediator
        if np.nanmax(x) - np.nanmin(x) < 1e-9:
            reasons[label(name)] = _constant_reason(name)
    damage = features["muscle_damage"].to_numpy()
    if not np.isfinite(damage).any():
        why = "no pre-race CK measured: the damage effect and the CK mediator rest on their priors"
        for name in ("muscle_damage", *_CK):
            reasons[label(name)] = why
    else:
        taper = features["taper"].to_numpy()[np.isfinite(damage)]
        if np.ptp(taper) < 1e-9:
            reasons["ck_taper_effect"] = "every runner with a CK measured had the same taper"
    if features.sizes["race"] == 1:
        reasons["race_sd"] = "one race: the spread between races cannot be estimated"
    if (np.bincount(features["runner_index"].to_numpy()) > 1).sum() == 0:
        reasons["runner_sd"] = ("every runner is seen in one race only: a runner's own effect "
                                "cannot be told apart from chance")
    return reasons


def _constant_reason(name: str) -> str:
    if name == "heat":
        return ("the same WBGT for every runner-race and km: heat cannot be told apart from the "
                "baseline")
    return f"{name} does not vary in the data: its effect cannot be told apart from the baseline"


def identification_table(posterior: xr.Dataset, priors: Priors,
                         reasons: dict[str, str] | None = None) -> pd.DataFrame:
    """Per reported parameter (rows labelled as the summary): prior and posterior SD, the
    contraction, `informed` (False: not informed by the data) and the reason. `posterior`:
    the parameters with (chain, draw) or a stacked `draw` (model.inference.posterior)."""
    reasons = reasons or {}
    samples = [d for d in ("chain", "draw") if d in posterior.dims]
    beta_sd = posterior["beta"].std(samples)
    rows = []
    for name in (*FACTORS, *_SCALARS):
        sd = float(beta_sd.sel(factor=name) if name in FACTORS else posterior[name].std(samples))
        before = prior_sd(priors, name)
        rows.append({"parameter": label(name), "prior_sd": before, "posterior_sd": sd,
                     "contraction": 1.0 - sd**2 / before**2})
    table = pd.DataFrame(rows).set_index("parameter")
    table["reason"] = [reasons.get(i, "") for i in table.index]
    weak = table["contraction"] < CONTRACTION_THRESHOLD
    table.loc[weak & (table["reason"] == ""), "reason"] = (
        f"the data removed less than {CONTRACTION_THRESHOLD:.0%} of the prior's variance")
    table["informed"] = ~weak & (table["reason"] == "")
    return table


def to_attr(table: pd.DataFrame) -> str:
    """The table as the JSON text kept in a saved fit's attributes."""
    return json.dumps({"threshold": CONTRACTION_THRESHOLD,
                       "rows": table.reset_index().to_dict(orient="records")})


def from_attr(text: str) -> pd.DataFrame:
    """The table back from a saved fit's attribute."""
    rows = json.loads(text)["rows"]
    return pd.DataFrame(rows).set_index("parameter")


def not_informed(table: pd.DataFrame) -> list[str]:
    """One line per parameter the data do not inform: 'name: reason (contraction x)'."""
    return [f"{name}: {row.reason} (contraction {row.contraction:.2f})"
            for name, row in table[~table["informed"]].iterrows()]
