"""Do the likelihood and the generator agree? The score (gradient of the log-likelihood) at the
true parameters has mean zero over cohorts drawn with them, whatever the design, if the
likelihood is the generator's; a mismatch in how a factor enters shows as a mean score for its
coefficient. No sampler involved: one kernel evaluation per cohort.

Per parameter, the self-normalised sum  z = sum_i s_i / sqrt(sum_i s_i^2)  over cohorts i
(truths drawn from the priors, as simulation-based calibration draws them; SBC's seeds) is about
Normal(0, 1) under agreement.

    uv run python bench/score_check.py three_races_600 -n 200
    uv run python bench/score_check.py three_races_600 -n 200 --nodes 21
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def cohort_scores(design, index: int, seed: int, priors, n_nodes: int) -> dict[str, float]:
    """Scores at the truth of replication `index` (the SBC replication's prior draw and cohort):
    the intercept, every factor coefficient and the distance shape, and runner_sd; the cohort's
    true runner_sd."""
    from model.data.records import RaceRecords
    from model.hazard.features import build_features
    from model.hazard.forward import prior_draws
    from model.hazard.specification import FACTORS
    from model.inference.hazard_model import N_NODES_DAMAGE, kernel_data, prepare
    from model.inference.likelihood_kernel import loglik_and_gradient
    from model.validation.sbc import (
        design_cohort,
        design_race_effects,
        kernel_point,
        replication_seeds,
        truth_values,
    )
    from model.validation.synth import synthesize

    draw_seed, cohort_seed, _, _ = replication_seeds(seed, index)
    flat = truth_values(prior_draws(priors, 1, draw_seed).isel(draw=0))
    truth = {k: v for k, v in flat.items() if not k.startswith("beta[")}
    truth["beta"] = {f: flat[f"beta[{f}]"] for f in FACTORS}
    records, splits = design_cohort(design, cohort_seed, truth, synthesize)
    features = build_features(RaceRecords(records, splits, f"score:{index}", ""))
    d = prepare(features)
    race_effect = design_race_effects(design, cohort_seed, truth, features["race"].to_numpy())
    point = kernel_point(d, truth, race_effect)
    data = kernel_data(d, n_nodes, N_NODES_DAMAGE)
    _, g_const, g_cell, g_params = loglik_and_gradient(*point, *data.arrays())
    scores = {"intercept": float(g_const.sum()), "distance_shape": float(g_cell[0]),
              "runner_sd": float(g_params[0]), "beta[muscle_damage]": float(g_params[1])}
    for j, name in enumerate(d.cell_names):
        scores[f"beta[{name}]"] = float(g_cell[1 + j])
    for i, name in enumerate(d.record_names):
        if name != "muscle_damage":
            scores[f"beta[{name}]"] = float(g_const @ d.record_x[i])
    scores["true_runner_sd"] = truth["runner_sd"]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("design")
    parser.add_argument("-n", "--cohorts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nodes", type=int, default=9)
    parser.add_argument("--out", help="write every cohort's scores here (JSON lines)")
    args = parser.parse_args()
    from model.evidence.priors import load_priors
    from model.validation.sbc import design_named

    design, priors = design_named(args.design), load_priors(None)
    rows = [cohort_scores(design, i, args.seed, priors, args.nodes) for i in range(args.cohorts)]
    if args.out:
        with open(args.out, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    sd = np.array([r["true_runner_sd"] for r in rows])
    for subset, keep in (("all", sd >= 0), ("runner_sd < 1", sd < 1), ("runner_sd >= 1", sd >= 1)):
        names = [k for k in rows[0] if k != "true_runner_sd"]
        z = {}
        for name in names:
            s = np.array([r.get(name, 0.0) for r in rows])[keep]
            z[name] = round(float(s.sum() / np.sqrt((s**2).sum())), 2)
        print(json.dumps({"cohorts": int(keep.sum()), "subset": subset, "z": z}))


if __name__ == "__main__":
    main()
