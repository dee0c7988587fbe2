"""Simulation-based calibration (Talts et al. 2018): parameters drawn from the priors, a cohort
simulated with them by the model's own generator (model/validation/synth.py), the model fitted,
and the truth's rank among thinned posterior draws recorded for every scalar parameter. If the
likelihood, the generator and the priors agree, every parameter's ranks are uniform
(model/validation/sbc_plot.py tests that and draws it).

Replications are independent fits: in-process, or as tasks on dask (a scheduler address, or a
LocalCluster on this machine). Each is seeded from (base seed, replication index) only, so the
ranks are the same whatever runs them. A worker process fits every replication of one design
with one compiled model (model/inference/compiled.py): the `compiled` variable records which
replications compiled.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
import xarray as xr

from model.errors import InputError
from model.evidence.priors import Priors
from model.hazard.specification import FACTORS

PARAMETERS: tuple[str, ...] = (
    "log_hazard_per_km", "distance_shape", *[f"beta[{f}]" for f in FACTORS],
    "runner_sd", "race_sd", "ck_log_mean", "ck_log_sd", "ck_taper_effect",
)
#: ranks are taken among at most this many posterior draws, evenly spaced over the chains, and
#: at most about the parameter's bulk ESS of them, so the kept draws are close to independent
#: (autocorrelated draws make ranks pile up at the ends though the fit is calibrated)
MAX_RANKED_DRAWS = 99
MIN_RANKED_DRAWS = 20


@dataclass(frozen=True)
class SbcDesign:
    """A small cell of the design grid: `n_records` runner-races over `n_races` races (runners
    run 1-3 of them), per-km splits or none, and the share of records with pre-race CK."""

    name: str
    n_records: int
    n_races: int
    splits: bool = True
    ck_measured_fraction: float = 0.6

    def describe(self) -> str:
        return (f"{self.name}: {self.n_records} runner-races, {self.n_races} race(s), "
                f"{'per-km splits' if self.splits else 'no splits'}, CK measured for "
                f"{self.ck_measured_fraction:.0%}")


DESIGNS: dict[str, SbcDesign] = {d.name: d for d in (
    SbcDesign("one_race_300", 300, 1),
    SbcDesign("three_races_600", 600, 3),
    SbcDesign("six_races_1200", 1200, 6),
)}


def design_named(name: str, **overrides) -> SbcDesign:
    """A preset design, with any of n_records, n_races, splits, ck_measured_fraction changed
    (None leaves the preset's). Raises InputError for an unknown name or a bad value."""
    if name not in DESIGNS:
        raise InputError(f"design {name!r}: unknown; choose one of {', '.join(DESIGNS)}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(changes) - {"n_records", "n_races", "splits", "ck_measured_fraction"}
    if unknown:
        raise ValueError(f"unknown design fields: {', '.join(sorted(unknown))}")
    design = replace(DESIGNS[name], **changes)
    if design.n_records < 20:
        raise InputError(f"design {name}: runner-races must be >= 20, got {design.n_records}")
    if not 1 <= design.n_races <= design.n_records:
        raise InputError(f"design {name}: races must be between 1 and the runner-races "
                         f"({design.n_records}), got {design.n_races}")
    if not 0.0 <= design.ck_measured_fraction <= 1.0:
        raise InputError(f"design {name}: CK measured share must be between 0 and 1, got "
                         f"{design.ck_measured_fraction}")
    return design


@dataclass(frozen=True)
class FitSettings:
    """Sampler settings of every replication's fit (draws and tuning steps per chain)."""

    draws: int = 400
    tune: int = 400
    chains: int = 2


def replication_seeds(base_seed: int, index: int) -> tuple[int, int, int, int]:
    """Seeds of replication `index` (prior draw, cohort, sampler, rank tie-breaking), from the
    base seed and the index only."""
    state = np.random.SeedSequence([int(base_seed), int(index)]).generate_state(4)
    return tuple(int(s) & 0x7FFFFFFF for s in state)  # type: ignore[return-value]


def truth_values(draw: xr.Dataset) -> dict[str, float]:
    """One prior draw (no `draw` dim) as {parameter name: value}, names as PARAMETERS."""
    values = {name: float(draw[name]) for name in PARAMETERS if not name.startswith("beta[")}
    values.update({f"beta[{f}]": float(draw["beta"].sel(factor=f)) for f in FACTORS})
    return values


def posterior_samples(posterior: xr.Dataset) -> dict[str, np.ndarray]:
    """(chain, draw) samples of every parameter of PARAMETERS."""
    samples = {name: posterior[name].to_numpy() for name in PARAMETERS
               if not name.startswith("beta[")}
    samples.update({f"beta[{f}]": posterior["beta"].sel(factor=f).to_numpy() for f in FACTORS})
    return samples


def rank_statistics(samples: np.ndarray, truth: float, ess_bulk: float,
                    rng: np.random.Generator) -> tuple[int, int, float]:
    """(rank, number of ranked draws L, randomised PIT) of `truth` among L draws of `samples`
    (chain, draw) evenly spaced over the chains, L = ESS rounded down within
    [MIN_RANKED_DRAWS, MAX_RANKED_DRAWS]. The PIT (rank + V) / (L + 1), V ~ Uniform(0, 1), is
    Uniform(0, 1) for a calibrated model whatever L is, so replications with different L pool."""
    flat = np.ravel(samples)
    n_ranked = int(np.clip(np.floor(ess_bulk), MIN_RANKED_DRAWS, min(MAX_RANKED_DRAWS, flat.size)))
    kept = flat[np.linspace(0, flat.size - 1, n_ranked).round().astype(int)]
    rank = int((kept < truth).sum())
    return rank, n_ranked, (rank + rng.random()) / (n_ranked + 1)


#: the generator's runners run up to this many races, each a different one
MAX_RACES_PER_RUNNER = 3


def design_cohort(design: SbcDesign, seed: int, truth: dict, synthesize: Callable):
    """(records, splits or None) of `design` from the model's generator. With fewer races than
    a runner can run, the generator would put a runner twice in one race: a cohort with
    MAX_RACES_PER_RUNNER races is drawn (about n_records per race kept) and only the first
    `n_races` races are kept. Selecting by race, never by outcome, leaves the kept records a
    draw from the model (the others are unobserved), so the calibration is unchanged."""
    n_drawn_races = max(design.n_races, MAX_RACES_PER_RUNNER)
    n_drawn = -(-design.n_records * n_drawn_races // design.n_races)
    records, splits = synthesize(n_drawn, seed, truth, n_races=n_drawn_races,
                                 ck_measured_fraction=design.ck_measured_fraction)
    kept_races = sorted(records["race_id"].unique())[:design.n_races]
    records = records[records["race_id"].isin(kept_races)].reset_index(drop=True)
    splits = splits[splits["race_id"].isin(kept_races)].reset_index(drop=True)
    return records, splits if design.splits else None


def design_race_effects(design: SbcDesign, seed: int, truth: dict,
                        race_ids: np.ndarray) -> np.ndarray:
    """The true race effects [log hazard] of `design_cohort(design, seed, truth, ...)`'s races
    `race_ids` ("race000", ...): the generator's field redrawn from the same seed."""
    from model.validation.synth import draw_field

    n_drawn_races = max(design.n_races, MAX_RACES_PER_RUNNER)
    n_drawn = -(-design.n_records * n_drawn_races // design.n_races)
    field = draw_field(n_drawn, np.random.default_rng(seed), n_races=n_drawn_races)
    return truth["race_sd"] * field.z_race[[int(r.removeprefix("race")) for r in race_ids]]


def kernel_point(d, truth: dict, race_effect: np.ndarray):
    """(const, b_cell, params) of the likelihood kernel for model data `d`
    (hazard_model.prepare) at a truth in the generator's format (synth.DEFAULT_TRUTH) with the
    races' effects `race_effect` [log hazard]: the covariates are centred, so the intercept at
    the centre is log_hazard_per_km plus each factor's centre times its coefficient."""
    beta = truth["beta"]
    shift = sum(beta[f] * d.centres[f] for f in FACTORS)
    shift += truth["distance_shape"] * d.centres["distance_shape"]
    const = truth["log_hazard_per_km"] + shift + race_effect[d.race_index]
    for i, name in enumerate(d.record_names):
        if name != "muscle_damage":  # damage enters the kernel itself (integrated if missing)
            const = const + beta[name] * d.record_x[i]
    b_cell = np.array([truth["distance_shape"]] + [beta[n] for n in d.cell_names])
    params = np.array([truth["runner_sd"], beta["muscle_damage"], truth["ck_log_mean"],
                       truth["ck_log_sd"], truth["ck_taper_effect"]])
    return const, b_cell, params


def replicate(design: SbcDesign, index: int, base_seed: int, priors: Priors,
              settings: FitSettings = FitSettings()) -> dict:
    """One replication: prior draw -> synthetic cohort (the model's generator) -> fit -> the
    truth's rank among the posterior draws of every parameter, with the fit's diagnostics.
    A plain dict of numbers (cheap to send back from a dask worker)."""
    import arviz as az

    from model.data.records import RaceRecords
    from model.hazard.features import build_features
    from model.hazard.forward import prior_draws
    from model.inference import compiled as compiled_models
    from model.inference.diagnostics import diagnose
    from model.inference.fit import fit
    from model.inference.posterior import ATTEMPT_SEPARATOR
    from model.validation.synth import synthesize

    draw_seed, cohort_seed, fit_seed, pit_seed = replication_seeds(base_seed, index)
    truth = truth_values(prior_draws(priors, 1, draw_seed).isel(draw=0))
    synth_truth = {k: v for k, v in truth.items() if not k.startswith("beta[")}
    synth_truth["beta"] = {f: truth[f"beta[{f}]"] for f in FACTORS}
    records, splits = design_cohort(design, cohort_seed, synth_truth, synthesize)
    zero_ck = int((records["ck_pre_u_per_l"] <= 0).sum())
    if zero_ck:  # kept as a guard: the generator no longer rounds a CK to 0 U/L
        return failed_result(index, truth, f"{zero_ck} pre-race CK rounded to 0 U/L")
    features = build_features(RaceRecords(records, splits, f"sbc:{design.name}:{index}", ""))
    # a structure key that appears in the cache is a compile; one already there, a reuse
    keys_before = compiled_models.cached_structures()
    start = time.perf_counter()
    try:
        tree = fit(features, priors, draws=settings.draws, tune=settings.tune,
                   chains=settings.chains, seed=fit_seed, reusable=True)
    except RuntimeError as exc:  # nutpie: no finite starting point
        return failed_result(index, truth, f"fit failed: {str(exc).splitlines()[0]}")
    seconds = time.perf_counter() - start
    compiled_here = bool(compiled_models.cached_structures() - keys_before)
    samples = posterior_samples(tree["posterior"].to_dataset())
    ess = az.ess(xr.Dataset({n: (("chain", "draw"), s) for n, s in samples.items()}),
                 method="bulk")
    rng = np.random.default_rng(pit_seed)
    ranks = [rank_statistics(samples[n], truth[n], float(ess[n]), rng) for n in PARAMETERS]
    q05, q95 = np.array([np.quantile(samples[n], [0.05, 0.95]) for n in PARAMETERS]).T
    d = diagnose(tree)
    return {
        "index": index,
        "truth": np.array([truth[n] for n in PARAMETERS]),
        "rank": np.array([r[0] for r in ranks]),
        "n_ranked": np.array([r[1] for r in ranks]),
        "pit": np.array([r[2] for r in ranks]),
        "posterior_mean": np.array([samples[n].mean() for n in PARAMETERS]),
        "q05": q05,
        "q95": q95,
        "ess_bulk": np.array([float(ess[n]) for n in PARAMETERS]),
        "rhat_max": d.rhat_max,
        "divergences": d.divergences,
        "n_cramps": int((features["outcome"].to_numpy() != 0).sum()),
        "attempts": len(str(tree.attrs["sampler_attempts"]).split(ATTEMPT_SEPARATOR)),
        "compiled": compiled_here,
        "fit_seconds": seconds,
        "worker_pid": os.getpid(),
        "failed": "",
    }


def failed_result(index: int, truth: dict[str, float], reason: str) -> dict:
    """A replication without ranks, and why. Left out of the verdicts, never silently: the
    reason depends on the data (and the sampler's seed) only, not on the truth directly, so
    the ranks of the others stay uniform for a calibrated model."""
    nan = np.full(len(PARAMETERS), np.nan)
    return {"index": index, "truth": np.array([truth[n] for n in PARAMETERS]),
            "rank": np.full(len(PARAMETERS), -1), "n_ranked": np.zeros(len(PARAMETERS), int),
            "pit": nan, "posterior_mean": nan, "q05": nan, "q95": nan, "ess_bulk": nan,
            "rhat_max": np.nan, "divergences": -1, "n_cramps": -1, "attempts": 0,
            "compiled": False, "fit_seconds": np.nan, "worker_pid": os.getpid(),
            "failed": reason}


Progress = Callable[[int, int], None]


def run_sbc(design: SbcDesign, replications: int, *, seed: int, priors: Priors,
            settings: FitSettings = FitSettings(), scheduler: str | None = None,
            n_workers: int | None = None, progress: Progress | None = None) -> xr.Dataset:
    """`replications` replications of `design`: in this process (`scheduler` None), on a
    LocalCluster of `n_workers` single-threaded worker processes (default: the machine's cores;
    `scheduler` "local"), or on the dask scheduler at that address. `progress(done, total)`
    after each replication. Returns `sbc_dataset` of the results."""
    if replications < 1:
        raise InputError(f"replications must be >= 1, got {replications}")
    total = replications
    results = []
    start = time.perf_counter()
    if scheduler is None:
        for i in range(total):
            results.append(replicate(design, i, seed, priors, settings))
            if progress:
                progress(i + 1, total)
    else:
        results = _on_dask(design, total, seed, priors, settings, scheduler, n_workers, progress)
    wall = time.perf_counter() - start
    return sbc_dataset(design, sorted(results, key=lambda r: r["index"]), seed=seed,
                       priors=priors, settings=settings, wall_seconds=wall,
                       scheduler=scheduler or "in-process")


def _on_dask(design, total, seed, priors, settings, scheduler, n_workers, progress):
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        # one thread per worker: nutpie runs the chains in threads of its own
        cluster = LocalCluster(n_workers=n_workers or os.cpu_count() or 1,
                               threads_per_worker=1, processes=True, dashboard_address=":0")
    try:
        with Client(cluster or scheduler) as client:
            futures = [client.submit(replicate, design, i, seed, priors, settings, pure=False,
                                     key=f"sbc-{design.name}-{seed}-{i}") for i in range(total)]
            results = []
            for done, future in enumerate(as_completed(futures), start=1):
                results.append(future.result())
                if progress:
                    progress(done, total)
            return results
    finally:
        if cluster is not None:
            cluster.close()


def sbc_dataset(design: SbcDesign, results: list[dict], *, seed: int, priors: Priors,
                settings: FitSettings, wall_seconds: float, scheduler: str) -> xr.Dataset:
    """The replications' results as a Dataset over (replication, parameter) with provenance."""
    from model.provenance import provenance_attrs

    def stack(key):
        return np.stack([r[key] for r in results])

    def column(key, dtype=float):
        return np.array([r[key] for r in results], dtype=dtype)

    pair = ("replication", "parameter")
    ds = xr.Dataset(
        {
            "truth": (pair, stack("truth")),
            "rank": (pair, stack("rank")),
            "n_ranked": (pair, stack("n_ranked")),
            "pit": (pair, stack("pit")),
            "posterior_mean": (pair, stack("posterior_mean")),
            "q05": (pair, stack("q05")),
            "q95": (pair, stack("q95")),
            "ess_bulk": (pair, stack("ess_bulk")),
            "rhat_max": ("replication", column("rhat_max")),
            "divergences": ("replication", column("divergences", int)),
            "n_cramps": ("replication", column("n_cramps", int)),
            "sampler_attempts": ("replication", column("attempts", int)),
            "compiled": ("replication", column("compiled", bool)),
            "fit_seconds": ("replication", column("fit_seconds")),
            "worker_pid": ("replication", column("worker_pid", int)),
            "failed": ("replication", column("failed", str)),
        },
        coords={"replication": column("index", int), "parameter": list(PARAMETERS)},
    )
    ds["rank"].attrs["description"] = (
        "number of the n_ranked thinned posterior draws below the truth")
    ds["pit"].attrs["description"] = (
        "(rank + U) / (n_ranked + 1), U ~ Uniform(0, 1): uniform if calibrated")
    ds["q05"].attrs["description"] = "5% posterior quantile (all draws)"
    ds["failed"].attrs["description"] = "why a replication has no ranks ('' if it has)"
    ds["compiled"].attrs["description"] = (
        "the fit compiled its model (else it reused one compiled earlier in its process); "
        "depends on the scheduler, unlike the ranks")
    ds.attrs.update(provenance_attrs(seed=seed, priors=priors, data_source="synthetic (SBC)",
                                     extra={"sbc_design": asdict(design),
                                            "sbc_fit_settings": asdict(settings),
                                            "sbc_scheduler": scheduler,
                                            "sbc_wall_seconds": round(wall_seconds, 1),
                                            "sbc_replications": len(results)}))
    return ds
