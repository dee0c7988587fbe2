"""How wrong is the fit's runner-effect quadrature? Per-runner marginal log-likelihoods of
generator cohorts (the SBC design three_races_600) at the true parameters, from the kernel's
Gauss-Hermite rule against brute force (a trapezoid rule on a fine grid of the runner effect,
exact to ~1e-10 for these smooth integrands), and the error's slope in cramp_history and
runner_sd: a slope s in a parameter of posterior SD p moves its posterior by about s p^2.

    uv run python bench/quadrature_error.py                 # runner_sd 0.5 / 1 / 1.5 / 2
    uv run python bench/quadrature_error.py --nodes 9 15 21 --seeds 4
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def cohort(runner_sd: float, seed: int):
    """(features, truth, true race effects) of one three_races_600 cohort at DEFAULT_TRUTH but
    `runner_sd`."""
    from model.data.records import RaceRecords
    from model.hazard.features import build_features
    from model.validation.sbc import DESIGNS, design_cohort, design_race_effects
    from model.validation.synth import DEFAULT_TRUTH, synthesize

    truth = {**DEFAULT_TRUTH, "runner_sd": runner_sd}
    design = DESIGNS["three_races_600"]
    records, splits = design_cohort(design, seed, truth, synthesize)
    features = build_features(RaceRecords(records, splits, f"quad:{seed}", ""))
    return features, truth, design_race_effects(design, seed, truth, features["race"].to_numpy())


def per_runner_loglik(d, const, b_cell, params, z_runner, logw_runner):
    """Per runner, the kernel's marginal log-likelihood with these runner nodes and log-weights
    (damage nodes as the fit's)."""
    from dataclasses import replace

    from model.inference.hazard_model import kernel_data
    from model.inference.likelihood_kernel import runner_logliks

    k = replace(kernel_data(d, 9, 5), z_runner=z_runner, logw_runner=logw_runner)
    return runner_logliks(const, b_cell, params, *k.arrays())


def errors(features, truth, race_effect, nodes: list[int], step: float = 0.25) -> dict:
    """Total error (rule - brute force) at the truth, and its slopes in cramp_history and
    runner_sd (central differences of +-step), per node count; and per-runner detail."""
    from model.hazard.quadrature import gauss_hermite_normal, trapezoid_normal
    from model.inference.hazard_model import prepare
    from model.validation.sbc import kernel_point

    d = prepare(features)
    out = {}
    shifted = {
        "truth": truth,
        "history+": {**truth, "beta": {**truth["beta"], "cramp_history":
                                       truth["beta"]["cramp_history"] + step}},
        "history-": {**truth, "beta": {**truth["beta"], "cramp_history":
                                       truth["beta"]["cramp_history"] - step}},
        "sd+": {**truth, "runner_sd": truth["runner_sd"] + step},
        "sd-": {**truth, "runner_sd": max(truth["runner_sd"] - step, 1e-3)},
    }
    brute = {}
    for key, t in shifted.items():
        point = kernel_point(d, t, race_effect)
        brute[key] = per_runner_loglik(d, *point, *trapezoid_normal())
    cramps = np.bincount(d.runner_index, weights=d.outcome != 0, minlength=d.n_runner)
    races = np.bincount(d.runner_index, minlength=d.n_runner)
    for n in nodes:
        err = {}
        for key, t in shifted.items():
            point = kernel_point(d, t, race_effect)
            err[key] = per_runner_loglik(d, *point, *gauss_hermite_normal(n)) - brute[key]
        by_cramps = {int(c): round(float(err["truth"][cramps == c].sum()), 4)
                     for c in np.unique(cramps)}
        dsd = shifted["sd+"]["runner_sd"] - shifted["sd-"]["runner_sd"]
        out[n] = {
            "total_error": round(float(err["truth"].sum()), 4),
            "worst_runner_error": round(float(np.abs(err["truth"]).max()), 4),
            "error_by_runner_cramps": by_cramps,
            "slope_history": round(float((err["history+"].sum() - err["history-"].sum())
                                         / (2 * step)), 4),
            "slope_runner_sd": round(float((err["sd+"].sum() - err["sd-"].sum()) / dsd), 4),
        }
    out["runners_by_races"] = np.bincount(races).tolist()
    out["runners_by_cramps"] = np.bincount(cramps.astype(int)).tolist()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner-sd", type=float, nargs="+", default=[0.5, 1.0, 1.5, 2.0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[9, 15, 21])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    for sd in args.runner_sd:
        for seed in range(args.seeds):
            features, truth, race_effect = cohort(sd, 100 + seed)
            result = errors(features, truth, race_effect, args.nodes)
            print(json.dumps({"runner_sd": sd, "seed": 100 + seed, **{str(k): v for k, v in
                                                                     result.items()}}))


if __name__ == "__main__":
    main()
