"""Fit the hazard model to race records: sample with nutpie (a second, longer attempt when the
first does not converge), label the posterior, and record provenance."""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import nutpie
import pandas as pd
import xarray as xr

from model.conventions import FIT_DRAWS, FIT_TUNE, INTERVAL_KIND, INTERVAL_PROB
from model.evidence.priors import Priors
from model.hazard.specification import (
    FACTOR_MEANING,
    FACTORS,
    ONSET_KNOWN,
    ONSET_UNKNOWN,
    OUTCOME_DEFINITION,
)
from model.inference.compiled import compiled_for
from model.inference.diagnostics import SamplerSettings, diagnose, second_attempt
from model.inference.hazard_model import build_model, onset_windows
from model.inference.posterior import ATTEMPT_SEPARATOR, REPORTED
from model.inference.shear import n_sheared, with_runner_shear
from model.provenance import provenance_attrs


def fit(
    features: xr.Dataset,
    priors: Priors,
    *,
    draws: int = FIT_DRAWS,
    tune: int = FIT_TUNE,
    chains: int = 2,
    seed: int = 0,
    progress: bool = False,
    data_sha256: str = "",
    data_source: str = "",
    adaptation: str = "auto",
    target_accept: float | None = None,
    extend: bool = True,
    backend: str = "numba",
    reusable: bool = False,
) -> xr.DataTree:
    """Sample the posterior; returns a DataTree (posterior, sample_stats) with provenance attrs.

    `adaptation` is nutpie's mass-matrix adaptation: "diag", "low_rank", or "auto"
    (`choose_adaptation`). `target_accept` defaults to diagnostics.TARGET_ACCEPT. With `extend`,
    a fit whose diagnostics fail is sampled once more with the settings of
    `diagnostics.second_attempt` (same compiled model, same seed); both attempts are recorded in
    the provenance (`sampler_attempts`). `backend`: the likelihood's implementation
    (hazard_model.BACKENDS). `reusable`: keep the compiled model so that later fits of data with
    the same structure in this process reuse it without compiling (model/inference/compiled.py),
    and reuse one kept earlier."""
    adaptation = choose_adaptation(features.sizes["record"], adaptation)
    model = build_model(features, priors, backend=backend, reusable=reusable)
    compiled, _ = compiled_for(model, priors)
    shear = np.zeros(n_sheared())
    if backend == "numba":  # the reference reads its data as constants
        compiled, shear = as_sampled(compiled, model, priors)
    settings = SamplerSettings(draws, tune) if target_accept is None else SamplerSettings(
        draws, tune, target_accept)
    tree = _sample(compiled, settings, chains, seed, progress, adaptation)
    attempts = [settings.describe()]
    first = diagnose(tree) if extend else None
    retry = second_attempt(settings, first, chains) if first is not None else None
    if retry is not None and first is not None:
        attempts[0] += f": {'; '.join(first.problems())}"
        settings = retry
        tree = _sample(compiled, settings, chains, seed, progress, adaptation)
        attempts.append(settings.describe())
    posterior = tree["posterior"].to_dataset()
    # sampling devices (see hazard_model): the signed scale (runner_sd is the parameter) and
    # the sheared coordinates (beta and distance_shape are)
    posterior = posterior.drop_vars(["runner_scale", "beta_sheared", "distance_shape_sheared"],
                                    errors="ignore")
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
                "draws": settings.draws,
                "tune": settings.tune,
                "target_accept": settings.target_accept,
                "sampler_attempts": ATTEMPT_SEPARATOR.join(attempts),
                "likelihood_backend": backend,
                "outcome_definition": OUTCOME_DEFINITION,
                "chains": chains,
                "sampler": f"nutpie NUTS ({adaptation} mass matrix adaptation)",
                "sampler_options": json.dumps(adaptation_options(adaptation)),
                "sampler_runner_shear": json.dumps(
                    dict(zip(["intercept", "distance_shape", *FACTORS], shear.tolist(),
                             strict=True))),
                "n_records": int(features.sizes["record"]),
                "n_runners": int(features.sizes["runner"]),
                "n_races": int(features.sizes["race"]),
                "n_runners_in_several_races": int(
                    (np.bincount(features["runner_index"].to_numpy()) > 1).sum()),
                "n_cramps": int((outcome != 0).sum()),
                "n_onset_known": int((outcome == ONSET_KNOWN).sum()),
                "n_onset_unknown": int((outcome == ONSET_UNKNOWN).sum()),
                "n_onset_located_by_splits": int(onset_windows(features)[0].sum()),
                **{k: v for k, v in features.attrs.items() if k.startswith(("onset_", "split_"))},
                **{k: features.attrs[k] for k in ("longest_run_missing_records",
                                                  "longest_run_treatment") if k in features.attrs},
            },
        )
    )
    return tree


def as_sampled(compiled, model, priors: Priors):
    """(the compiled hazard model as a fit samples it, the runner shear's coefficients): sheared
    along runner_sd^2 (model/inference/shear.py), an exact change of variables. `compiled`
    must read its data as shared variables (the numba backend). Not the Laplace scaling
    (model/inference/laplace.py): on 100,000 records it made one chain's tuning collapse."""
    return with_runner_shear(compiled, model, priors)


def _sample(compiled, settings: SamplerSettings, chains: int, seed: int, progress: bool,
            adaptation: str) -> xr.DataTree:
    return nutpie.sample(
        compiled,
        draws=settings.draws,
        tune=settings.tune,
        target_accept=settings.target_accept,
        chains=chains,
        cores=chains,
        seed=seed,
        progress_bar=progress,
        save_warmup=False,
        **adaptation_options(adaptation),
    )


LOW_RANK_FROM_RECORDS = 5000
ADAPTATIONS = ("auto", "diag", "low_rank")
#: nutpie's low_rank adaptation keeps the eigen-directions of the draws' and gradients'
#: covariance whose eigenvalue is this far from 1 (its default, 2.0, drops those within 2x of the
#: diagonal); keeping them all took 11-20% fewer gradients per effective draw on the 6- and
#: 25-race 10,000-record cohorts (bench/fit_speed.py), without divergences
LOW_RANK_EIGVAL_CUTOFF = 1.01


def adaptation_options(adaptation: str) -> dict:
    """nutpie.sample's keyword arguments for a mass-matrix adaptation ("diag" or "low_rank")."""
    if adaptation == "low_rank":
        return {"adaptation": adaptation, "mass_matrix_eigval_cutoff": LOW_RANK_EIGVAL_CUTOFF}
    return {"adaptation": adaptation}


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


def summary_table(tree: xr.DataTree, prob: float = INTERVAL_PROB) -> pd.DataFrame:
    """Posterior mean, sd, central (equal-tailed) interval, R-hat and ESS per parameter."""
    posterior = tree["posterior"].to_dataset()[list(REPORTED)].reset_coords(drop=True)
    table = az.summary(posterior, ci_prob=prob, ci_kind=INTERVAL_KIND, round_to="none")
    return table
