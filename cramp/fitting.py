"""Fitting race records as objects: `cramp.fit(records)` returns a `Fit` that owns the posterior
(an `xarray.DataTree` with provenance), its summary and convergence diagnostics, predictions for
new runners, and saving and loading. PyMC, nutpie and ArviZ are imported only when a fit is run
or diagnosed: loading a saved fit to simulate on it does not need them."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from model.conventions import FIT_DRAWS, FIT_TUNE, INTERVAL_PROB
from model.data.records import RaceRecords, Source, load_records
from model.errors import InputError
from model.evidence.priors import Priors, load_priors
from model.inference.posterior import open_posterior, posterior_params, sampler_attempts
from model.output_claim import OutputClaim
from model.provenance import provenance_frame

if TYPE_CHECKING:
    from model.inference.diagnostics import Diagnostics

PREDICT_DRAW_CHUNK = 100  # draws per block in `Fit.predict`: memory ~ chunk x records x km


def fit(records: RaceRecords | Source, *, splits: Source | None = None,
        columns: str | Path | dict | None = None,
        priors: Priors | str | Path | None = None, draws: int = FIT_DRAWS, tune: int = FIT_TUNE,
        chains: int = 2, seed: int = 0, adaptation: str = "auto",
        target_accept: float | None = None, extend: bool = True, backend: str = "numba",
        progress: bool = False, reuse_compiled: bool = False,
        exclude_evidence: str | list[str] | tuple[str, ...] | None = None) -> Fit:
    """Fit the hazard model to race records and return the `Fit`.

    `records`: validated `RaceRecords` (from `cramp.load_records`), or a CSV/Parquet path or a
    DataFrame (validated here, with `splits` likewise, read through the column map `columns`
    if given: docs/study_data.md). `priors`: a `Priors`, a priors TOML
    path, or None for the literature priors. `draws` and `tune` are per chain; `adaptation` is
    nutpie's mass matrix adaptation (auto: low_rank from 5,000 runner-races, diag below);
    `target_accept` NUTS's target acceptance rate (default 0.9). With `extend` (the default) a
    fit whose diagnostics fail is sampled once more, longer (more draws for too few effective
    draws, smaller steps for divergences); `Fit.attrs["sampler_attempts"]` says what was done
    and `Fit.advice()` what to try if it still fails. `backend`: "numba" (the compiled kernel,
    fast) or "reference" (the plain PyTensor definition with automatic gradients).
    `reuse_compiled`: keep the compiled model for later fits of data with the same structure in
    this process, and use one kept earlier (a fit of a structure compiled before on this machine
    compiles in ~1 s anyway; a kept one in none: for many fits of one design).
    `exclude_evidence`: evidence ids (e.g. ["E2"]) left out of the priors, for a study that
    re-analyses one of the cohorts they rest on (`Priors.without`; recorded in the fit's attrs
    as `excluded_evidence`). The fit's attrs also keep what the data cannot tell
    (`Fit.identification`)."""
    from model.hazard.features import build_features
    from model.inference.fit import ADAPTATIONS
    from model.inference.fit import fit as sample

    for name, value in (("draws", draws), ("tune", tune), ("chains", chains)):
        if value < 1:
            raise InputError(f"{name} must be >= 1, got {value}")
    from model.inference.hazard_model import BACKENDS

    if backend not in BACKENDS:
        raise InputError(f"backend {backend!r}: use {' or '.join(BACKENDS)}")
    if target_accept is not None and not 0.5 <= target_accept < 1:
        raise InputError(f"target_accept must be in [0.5, 1), got {target_accept}")
    if adaptation not in ADAPTATIONS:
        raise InputError(f"adaptation {adaptation!r}: use auto, diag or low_rank")
    if not isinstance(records, RaceRecords):
        records = load_records(records, splits, columns=columns)
    from model.inference import identification

    p = load_priors(priors, exclude_evidence=exclude_evidence)
    features = build_features(records)
    tree = sample(features, p, draws=draws, tune=tune, chains=chains, seed=seed,
                  progress=progress, adaptation=adaptation, target_accept=target_accept,
                  extend=extend, backend=backend, data_sha256=records.sha256,
                  data_source=records.source, reusable=reuse_compiled)
    table = identification.identification_table(
        posterior_params(tree, stacked=False), p, identification.structural_reasons(features))
    tree.attrs.update({"excluded_evidence": ",".join(p.excluded),
                       "excluded_evidence_changes": "; ".join(str(c) for c in p.changes),
                       identification.ATTR: identification.to_attr(table)})
    return Fit(tree, p, records)


def claim_fit_output(path: str | Path, *, force: bool = False, need_bytes: int = 0
                     ) -> OutputClaim:
    """An exclusive claim on a fit's output file, taken before sampling (a `with` block): the
    folder is created, writability and `need_bytes` of free space checked, an existing file
    refused without `force`, a second run on the same file refused while this one runs."""
    return OutputClaim(Path(path), force=force, need_bytes=need_bytes)


def posterior_bytes(records: RaceRecords, draws: int, chains: int) -> int:
    """About how large a fit's netCDF is [bytes]: float64 per chain, draw and parameter (the
    runner and race effects dominate), doubled for a second, longer run when the first does
    not converge."""
    t = records.table
    n_parameters = t["runner_id"].nunique() + t["race_id"].nunique() + 64
    return 2 * 8 * chains * draws * n_parameters + 1_000_000


class Fit:
    """A fitted posterior: `posterior` is the DataTree (posterior, sample_stats; provenance in
    its attrs), the coefficients are `beta` over a `factor` dim with units in `factor_unit`."""

    def __init__(self, posterior: xr.DataTree, priors: Priors | None = None,
                 records: RaceRecords | None = None):
        posterior_params(posterior)  # a clear error now if this is not a `cramp fit` result
        self.posterior = posterior
        self.priors = priors
        self.records = records

    @classmethod
    def load(cls, path: str | Path) -> Fit:
        """A fit written by `Fit.save` or `cramp fit`; InputError naming the file when it is
        missing, not netCDF or not a `cramp fit` result."""
        return cls(open_posterior(path))

    def save(self, path: str | Path, *, force: bool = False,
             claim: OutputClaim | None = None) -> Path:
        """Write the posterior as netCDF (h5netcdf): serialised in memory, then written through
        a temporary sibling and moved into place, so a full disk is a clear error, never a
        half-written file. Refuses to overwrite without `force`; creates the folder. `claim`:
        one taken before sampling (`claim_fit_output`); then `path` and `force` are its. When
        the write fails the posterior is kept in the temporary folder (the error says where)."""
        from model.provenance import run_id

        data = bytes(self.posterior.to_netcdf(engine="h5netcdf"))
        rid = run_id(self.attrs)
        if claim is not None:
            return claim.commit_file(data, rid)
        with claim_fit_output(path, force=force, need_bytes=len(data)) as own:
            return own.commit_file(data, rid)

    def fitted_priors(self) -> Priors:
        """The priors of this fit: those it was fitted with, or for a loaded fit the literature
        priors without the evidence it excluded (attrs `excluded_evidence`)."""
        if self.priors is not None:
            return self.priors
        return load_priors(exclude_evidence=str(self.attrs.get("excluded_evidence", "")) or None)

    @property
    def attrs(self) -> dict:
        """Provenance: package versions, data hash and source, seed, priors, sampler."""
        return dict(self.posterior.attrs)

    @cached_property
    def diagnostics(self) -> Diagnostics:
        """Convergence: worst R-hat, smallest bulk/tail ESS, divergences; `.ok`, `.problems()`."""
        from model.inference.diagnostics import diagnose

        return diagnose(self.posterior)

    def advice(self) -> list[str]:
        """When the diagnostics fail: what it means for the study and what to try, one line
        each (empty when they pass)."""
        from model.inference.diagnostics import SamplerSettings, advice

        a = self.posterior.attrs
        settings = SamplerSettings(int(a.get("draws", 1000)), int(a.get("tune", 1000)),
                                   float(a.get("target_accept", 0.9)))
        design = {k: int(a.get(k, 0)) for k in ("n_races", "n_runners", "n_records")}
        design["n_runners_seen_twice"] = int(a.get("n_runners_in_several_races", 0))
        return advice(self.diagnostics, settings, design)

    @property
    def sampler_attempts(self) -> list[str]:
        """The sampler's runs, in order: one, or two when the first did not converge."""
        return sampler_attempts(self.posterior)

    def summary(self, prob: float = INTERVAL_PROB) -> pd.DataFrame:
        """Posterior mean, sd, equal-tailed interval, R-hat and ESS per parameter, and what
        the data tell: `contraction` (1 - posterior var / prior var) and `data` ("informs", or
        "NOT INFORMED: why"; model/inference/identification.py)."""
        from model.inference.fit import summary_table

        table = summary_table(self.posterior, prob)
        ident = self.identification()
        if ident is None:
            return table
        return table.join(ident[["contraction"]]).assign(data=[
            "informs" if ident.loc[i, "informed"] else f"NOT INFORMED: {ident.loc[i, 'reason']}"
            for i in table.index])

    def identification(self) -> pd.DataFrame | None:
        """Per parameter: prior and posterior SD, contraction, `informed` and the reason when
        the data do not inform it (kept in the saved fit; for a fit saved before this was
        recorded, computed from `priors` without the structural reasons, or None without
        priors)."""
        from model.inference import identification

        text = self.posterior.attrs.get(identification.ATTR)
        if text:
            return identification.from_attr(str(text))
        if self.priors is None:
            return None
        return identification.identification_table(
            posterior_params(self.posterior, stacked=False), self.priors)

    def not_informed(self) -> list[str]:
        """One line per parameter the data do not inform, with the reason."""
        from model.inference.identification import not_informed

        ident = self.identification()
        return [] if ident is None else not_informed(ident)

    def power_scaling(self) -> pd.DataFrame:
        """Which conclusions depend on the priors: prior (and, when the fitted records are at
        hand, likelihood) power-scaling sensitivity per parameter, with a diagnosis in words
        (model/inference/sensitivity.py)."""
        from model.inference.sensitivity import power_scaling

        posterior = posterior_params(self.posterior, stacked=False)
        log_likelihood = None
        if self.records is not None:
            from model.validation.checks import runner_log_likelihood

            log_likelihood = runner_log_likelihood(self.features, posterior).transpose(
                "chain", "draw", "runner")
        return power_scaling(posterior, self.fitted_priors(), log_likelihood)

    def params(self, max_draws: int | None = None) -> xr.Dataset:
        """The parameters with chain and draw stacked into `draw` (evenly thinned)."""
        return posterior_params(self.posterior, max_draws)

    def predict(self, records: RaceRecords | Source, *, splits: Source | None = None,
                max_draws: int | None = 1000, prob: float = INTERVAL_PROB) -> pd.DataFrame:
        """P(cramp during the race) for each runner-race of `records`, as for a new runner in
        a new race (their own effects unknown and integrated over): mean and equal-tailed
        interval over the posterior draws. A DataFrame may leave out `cramped` (it is what is
        predicted); every other column follows the race-record rules."""
        from model.hazard.features import build_features
        from model.hazard.forward import predict_cramp_probability

        if isinstance(records, pd.DataFrame) and "cramped" not in records.columns:
            records = records.assign(cramped=0)
        if not isinstance(records, RaceRecords):
            records = load_records(records, splits)
        features, params = build_features(records), self.params(max_draws)
        probability = xr.concat(
            [predict_cramp_probability(features, params.isel(draw=slice(i, i + PREDICT_DRAW_CHUNK)))
             for i in range(0, params.sizes["draw"], PREDICT_DRAW_CHUNK)], "draw")
        lo, hi = np.quantile(probability.to_numpy(), [(1 - prob) / 2, (1 + prob) / 2],
                             axis=probability.get_axis_num("draw"))
        table = records.table[["runner_id", "race_id"]].copy()
        table["cramp_probability_mean"] = probability.mean("draw").to_numpy()
        table["cramp_probability_lo"] = lo
        table["cramp_probability_hi"] = hi
        return table

    # --- checks against the data it was fitted to ---------------------------------------------

    @cached_property
    def features(self) -> xr.Dataset:
        """The model's features of the fitted records (needs the records: a fit from `cramp.fit`
        has them; for a loaded one, set `fit.records = cramp.load_records(...)` first)."""
        from model.hazard.features import build_features

        if self.records is None:
            raise InputError("this fit was loaded from a file: set fit.records = "
                             "cramp.load_records(...) (the data it was fitted to) first")
        return build_features(self.records)

    def plot_prior_posterior(self, truth: dict | None = None):
        """Posterior against prior per factor (`truth`: known values, e.g. of a synthetic
        cohort, drawn as dashed lines)."""
        from model.plots import plot_prior_posterior

        priors = self.fitted_priors()
        return plot_prior_posterior(posterior_params(self.posterior, stacked=False), priors, truth)

    def plot_calibration(self, seed: int = 0):
        """PAV-adjusted reliability diagram of each race's predicted probability of a cramp
        against what happened (Dimitriadis et al. 2021)."""
        import arviz as az

        from model.hazard.specification import NO_CRAMP
        from model.plots import calibration_tree
        from model.validation.checks import cramp_probability_by_record

        cramped = (self.features["outcome"] != NO_CRAMP).to_numpy()
        probability = cramp_probability_by_record(
            self.features, posterior_params(self.posterior, stacked=False))
        return az.plot_ppc_pava(calibration_tree(probability, cramped, seed=seed))

    def plot_onset_check(self):
        """Observed against predicted onset km among cramps with a known onset; without any
        recorded onset km (common in published cohorts) a figure that says so."""
        import matplotlib.pyplot as plt

        from model.plots import plot_onset_check
        from model.validation.checks import onset_check

        try:
            check = onset_check(self.features, posterior_params(self.posterior, stacked=False))
        except InputError as exc:  # no recorded onset km: say so in the report, don't fail it
            fig, ax = plt.subplots(figsize=(9, 1.2))
            ax.axis("off")
            ax.text(0, 0.5, f"Onset check skipped: {exc}", va="center", wrap=True)
            return fig
        return plot_onset_check(check)

    def compare_with_race_level_logistic(self, *, draws: int = 1000, tune: int = 1000,
                                         seed: int = 0) -> pd.DataFrame:
        """Leave-one-runner-out comparison (PSIS-LOO, ArviZ's `compare`) with a race-level
        logistic regression fitted to the same records, both scored on whether each race
        ended with a cramp."""
        import arviz as az

        from model.inference.simple_model import fit_simple_model, simple_runner_log_likelihood
        from model.validation.checks import loo_binary, runner_log_likelihood

        posterior = posterior_params(self.posterior, stacked=False)
        order = ("chain", "draw", "runner")
        full = runner_log_likelihood(self.features, posterior).transpose(*order)
        binary = runner_log_likelihood(self.features, posterior, kind="binary").transpose(*order)
        simple = fit_simple_model(self.features, self.fitted_priors(), draws=draws,
                                  tune=tune, seed=seed)
        simple_ll = simple_runner_log_likelihood(simple["posterior"].to_dataset(),
                                                 self.features).transpose(*order)
        return az.compare({
            "hazard model": loo_binary(full, binary, "hazard model"),
            "race-level logistic": loo_binary(simple_ll, simple_ll, "race-level logistic"),
        })

    def provenance(self) -> pd.DataFrame:
        """How the fit was made (package versions, data hash, seed, priors, sampler)."""
        from model.inference.identification import ATTR

        # the identification table is shown as its own table (summary, not_informed)
        return provenance_frame({k: v for k, v in self.attrs.items() if k != ATTR})

    def __repr__(self) -> str:
        a = self.posterior.attrs
        return (f"Fit({a.get('n_records', '?')} runner-races, {a.get('n_runners', '?')} runners,"
                f" {a.get('n_races', '?')} races; data {a.get('data_source', '') or '?'})")
