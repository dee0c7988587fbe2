"""The design grid: study designs from one race to a hundred, fitted with the defaults of
`cramp fit`, each judged on convergence and on whether the truth lies inside its intervals.
Used by tests/test_design_grid.py (the quick subset in CI, the full grid as a slow test) and by
bench/design_grid.py (the table with times)."""

from __future__ import annotations

import time

import numpy as np
from design_cohorts import Design, draw_cohort, flat_truth

QUICK = [
    Design(1, 500),
    Design(3, 1500, heat="per_race", ck_measured_share=0.2),
    Design(6, 2000, races_per_runner=2, splits=True),
]
FULL = QUICK + [
    Design(2, 300),
    Design(1, 3000, splits=True, ck_measured_share=0.2),
    Design(6, 10000, ck_measured_share=0.7, onset_known_share=0.7),
    Design(12, 5000, races_per_runner=3, heat="per_record"),
    Design(25, 10000, races_per_runner=2, splits=True),
    Design(100, 20000, races_per_runner=3, heat="per_record", ck_measured_share=0.2),
]
CHECKED = ("beta", "log_hazard_per_km", "distance_shape", "runner_sd", "race_sd",
           "ck_log_mean", "ck_log_sd", "ck_taper_effect")


def run_design(design: Design, seed: int, priors) -> dict:
    """Draw, load through the project's loader, fit with the defaults, and judge."""
    from model.data.records import RaceRecords
    from model.hazard.features import build_features
    from model.inference.diagnostics import diagnose
    from model.inference.fit import fit

    records, splits = draw_cohort(design, seed)
    features = build_features(RaceRecords(records, splits, "design grid", "0" * 64))
    start = time.perf_counter()
    tree = fit(features, priors, seed=seed)
    seconds = time.perf_counter() - start
    d = diagnose(tree)
    misses = truth_misses(tree, flat_truth(design.truth))
    return {"design": design.label, "rhat_max": round(d.rhat_max, 4),
            "ess_bulk_min": round(d.ess_bulk_min), "ess_tail_min": round(d.ess_tail_min),
            "divergences": d.divergences, "seconds": round(seconds, 1),
            "slowest": slowest(tree), "attempts": tree.attrs["sampler_attempts"],
            "cramps": int(records["cramped"].sum()),
            "truth_misses": misses,
            "converged": d.ok}


def slowest(tree) -> str:
    """The parameter with the smallest bulk ESS."""
    import arviz as az

    from model.inference.posterior import REPORTED

    posterior = tree["posterior"].to_dataset()[list(REPORTED)].reset_coords(drop=True)
    ess = az.ess(posterior, method="bulk")
    worst = {f"{v}[{i}]": x for v in ess.data_vars
             for i, x in enumerate(np.atleast_1d(ess[v].to_numpy()))}
    return min(worst, key=worst.get)


def truth_misses(tree, truth: dict) -> list[str]:
    """Parameters whose true value lies outside the 1 - 0.05/k central interval (k values)."""
    posterior = tree["posterior"].to_dataset()
    checked = {k: np.atleast_1d(v) for k, v in truth.items() if k in CHECKED}
    k = sum(v.size for v in checked.values())
    tail = 0.05 / k / 2
    misses = []
    for name, value in checked.items():
        samples = posterior[name]
        lo = np.atleast_1d(samples.quantile(tail, ("chain", "draw")).to_numpy())
        hi = np.atleast_1d(samples.quantile(1 - tail, ("chain", "draw")).to_numpy())
        for i in np.flatnonzero((value < lo) | (value > hi)):
            misses.append(f"{name}[{i}] {value[i]:g} not in [{lo[i]:.3g}, {hi[i]:.3g}]")
    return misses
