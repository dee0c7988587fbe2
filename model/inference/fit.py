"""Fit the hazard model to race records: sample with nutpie, label the posterior, record
provenance, and judge convergence."""

from __future__ import annotations

from dataclasses import dataclass

import arviz as az
import numpy as np
import nutpie
import pandas as pd
import xarray as xr

from model.conventions import INTERVAL_KIND, INTERVAL_PROB
from model.evidence.priors import Priors
from model.hazard.specification import (
    FACTOR_MEANING,
    FACTORS,
    ONSET_KNOWN,
    ONSET_UNKNOWN,
)
from model.inference.hazard_model import build_model, compile_for_nutpie, onset_windows
from model.inference.posterior import REPORTED
from model.provenance import provenance_attrs

RHAT_MAX = 1.01
ESS_MIN = 400


@dataclass
class Diagnostics:
    """Convergence verdict: worst R-hat, smallest bulk/tail ESS, divergent transitions."""

    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int

    @property
    def ok(self) -> bool:
        return (
            self.rhat_max < RHAT_MAX
            and min(self.ess_bulk_min, self.ess_tail_min) >= ESS_MIN
            and self.divergences == 0
        )

    def problems(self) -> list[str]:
        found = []
        if not self.rhat_max < RHAT_MAX:
            found.append(f"R-hat {self.rhat_max:.3f} >= {RHAT_MAX}")
        if min(self.ess_bulk_min, self.ess_tail_min) < ESS_MIN:
            found.append(f"ESS {min(self.ess_bulk_min, self.ess_tail_min):.0f} < {ESS_MIN}")
        if self.divergences:
            found.append(f"{self.divergences} divergent transitions")
        return found


def fit(
    features: xr.Dataset,
    priors: Priors,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 0,
    progress: bool = False,
    data_sha256: str = "",
    data_source: str = "",
    adaptation: str = "auto",
) -> xr.DataTree:
    """Sample the posterior; returns a DataTree (posterior, sample_stats) with provenance attrs.

    `adaptation` is nutpie's mass-matrix adaptation: "diag", "low_rank", or "auto"
    (`choose_adaptation`)."""
    adaptation = choose_adaptation(features.sizes["record"], adaptation)
    model = build_model(features, priors)
    compiled = compile_for_nutpie(model)
    tree = nutpie.sample(
        compiled,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=chains,
        seed=seed,
        progress_bar=progress,
        adaptation=adaptation,
        save_warmup=False,
    )
    posterior = tree["posterior"].to_dataset()
    # the signed scale is a sampling device (see hazard_model); runner_sd is the parameter
    posterior = posterior.drop_vars(["runner_scale"], errors="ignore")
    posterior = posterior.assign_coords(
        factor_unit=("factor", [priors[f].unit for f in FACTORS]),
        factor_sign=("factor", [FACTOR_MEANING[f] for f in FACTORS]),
    )
    posterior["beta"].attrs.update(
        description="log hazard ratio per unit of each factor (cloglog link, per km)",
        **{f"unit_{f}": priors[f].unit for f in FACTORS},
    )
    tree["posterior"] = xr.DataTree(posterior)
    outcome = features["outcome"].to_numpy()
    tree.attrs.update(
        provenance_attrs(
            seed=seed,
            priors=priors,
            data_sha256=data_sha256,
            data_source=data_source,
            extra={
                "draws": draws,
                "tune": tune,
                "chains": chains,
                "sampler": f"nutpie NUTS ({adaptation} mass matrix adaptation)",
                "n_records": int(features.sizes["record"]),
                "n_runners": int(features.sizes["runner"]),
                "n_races": int(features.sizes["race"]),
                "n_cramps": int((outcome != 0).sum()),
                "n_onset_known": int((outcome == ONSET_KNOWN).sum()),
                "n_onset_unknown": int((outcome == ONSET_UNKNOWN).sum()),
                "n_onset_located_by_splits": int(onset_windows(features)[0].sum()),
                **{k: v for k, v in features.attrs.items() if k.startswith(("onset_", "split_"))},
            },
        )
    )
    return tree


LOW_RANK_FROM_RECORDS = 5000
ADAPTATIONS = ("auto", "diag", "low_rank")


def choose_adaptation(n_records: int, adaptation: str = "auto") -> str:
    """The mass-matrix adaptation "auto" stands for: low_rank from LOW_RANK_FROM_RECORDS
    runner-races, diag below. Measured (bench/fit_speed.py and the stops' notes): on 10,000
    records low_rank gave 1.8-3x the ESS per second of diag, and on 5,000 and 10,000 records
    R-hat <= 1.007 and no divergences; on 1,000-3,000 records with 600 + 600 draws it gave R-hat
    up to 1.036 where diag stayed below 1.02."""
    if adaptation not in ADAPTATIONS:
        raise ValueError(f"adaptation must be auto, diag or low_rank, not {adaptation!r}")
    if adaptation != "auto":
        return adaptation
    return "low_rank" if n_records >= LOW_RANK_FROM_RECORDS else "diag"


def diagnose(tree: xr.DataTree) -> Diagnostics:
    posterior = tree["posterior"].to_dataset()[list(REPORTED)].reset_coords(drop=True)
    rhat = az.rhat(posterior)
    ess_bulk = az.ess(posterior, method="bulk")
    ess_tail = az.ess(posterior, method="tail")
    divergences = int(tree["sample_stats"].to_dataset()["diverging"].sum())
    return Diagnostics(_worst(rhat, max), _worst(ess_bulk, min), _worst(ess_tail, min), divergences)


def _worst(ds: xr.Dataset, pick) -> float:
    values = np.concatenate([np.ravel(ds[v].to_numpy()) for v in ds.data_vars])
    return float(pick(values))


def summary_table(tree: xr.DataTree, prob: float = INTERVAL_PROB) -> pd.DataFrame:
    """Posterior mean, sd, central (equal-tailed) interval, R-hat and ESS per parameter."""
    posterior = tree["posterior"].to_dataset()[list(REPORTED)].reset_coords(drop=True)
    table = az.summary(posterior, ci_prob=prob, ci_kind=INTERVAL_KIND, round_to="none")
    return table
