"""Do the likelihood and the generator agree? The score (gradient of the log-likelihood) at the
true parameters has mean zero over cohorts drawn with them, whatever the design, if the
likelihood is the generator's; a mismatch in how a factor enters shows as a mean score for its
coefficient. No sampler involved: one kernel evaluation per cohort.

Per parameter, the self-normalised sum  z = sum_i s_i / sqrt(sum_i s_i^2)  over cohorts i
(truths drawn from the priors, as simulation-based calibration draws them; SBC's seeds) is about
Normal(0, 1) under agreement.

    uv run python bench/score_check.py three_races_600 -n 200
    uv run python bench/score_check.py three_races_600 -n 200 --nodes 21

Variants that isolate a term of the likelihood (issue 20): `--onset-known 1` (every onset
recorded), `--onset-weights oracle` (unknown onsets kept unknown, their weights put on the
true segment: the located-onset term then equals the known-onset one), `--onset-weights
uniform` (the plain 1 - prod(1 - h) over the splits-based pace), `--no-splits`, and the
generator's `--slowdown` (1.0: none) and `--fast-start-share` (0: nobody starts too fast). Each
changes no random draw, so the variants score the same cohorts. A cohort whose score is not
finite is left out and counted ("non_finite").
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def cohort_scores(design, index: int, seed: int, priors, n_nodes: int, *,
                  generator: dict | None = None, onset_weights: str = "splits") -> dict[str, float]:
    """Scores at the truth of replication `index` (the SBC replication's prior draw and cohort):
    the intercept, every factor coefficient and the distance shape, and runner_sd; the cohort's
    true runner_sd. `generator`: keyword options of synth.synthesize; `onset_weights` of the
    cramps of unknown onset: "splits" (the model's), "oracle" or "uniform" (module docstring)."""
    import functools

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
    generate = functools.partial(synthesize, **(generator or {}))
    records, splits = design_cohort(design, cohort_seed, truth, generate)
    features = build_features(RaceRecords(records, splits, f"score:{index}", ""))
    if onset_weights != "splits":
        every_onset = functools.partial(synthesize, **{**(generator or {}),
                                                       "onset_known_fraction": 1.0})
        true_km = design_cohort(design, cohort_seed, truth, every_onset)[0]["cramp_km"]
        features = _replace_onset_weights(features, true_km.to_numpy(), onset_weights)
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


def _replace_onset_weights(features, true_cramp_km, how: str):
    """`features` with the onset weights of its cramps of unknown onset replaced: all on the
    segment of `true_cramp_km` [km] (per record, the cohort drawn with every onset recorded)
    for "oracle", all equal over the km reached for "uniform"."""
    from model.hazard.features import segment_of_km
    from model.hazard.onset_location import UNREACHABLE_LOG_WEIGHT
    from model.hazard.specification import ONSET_UNKNOWN

    unknown = features["outcome"].to_numpy() == ONSET_UNKNOWN
    reached = features["segment_length_km"].to_numpy() > 0
    log_w = features["onset_log_weight"].to_numpy().copy()
    if how == "oracle":
        segment = segment_of_km(np.nan_to_num(true_cramp_km), np.inf)
        on_truth = features["segment"].to_numpy()[None, :] == segment[:, None]
        chosen = np.where(on_truth & reached, 0.0, UNREACHABLE_LOG_WEIGHT)
    elif how == "uniform":
        chosen = np.where(reached, 0.0, UNREACHABLE_LOG_WEIGHT)
    else:
        raise ValueError(f"onset weights: unknown {how!r}")
    log_w[unknown] = chosen[unknown]
    return features.assign(onset_log_weight=(("record", "segment"), log_w))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("design")
    parser.add_argument("-n", "--cohorts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nodes", type=int, default=9)
    parser.add_argument("--out", help="write every cohort's scores here (JSON lines)")
    parser.add_argument("--onset-known", type=float, help="share of onsets recorded (0.75)")
    parser.add_argument("--onset-weights", choices=("splits", "oracle", "uniform"),
                        default="splits")
    parser.add_argument("--no-splits", action="store_true")
    parser.add_argument("--slowdown", type=float, help="pace after a cramp / before (1.15)")
    parser.add_argument("--fast-start-share", type=float, help="runners starting fast (0.4)")
    args = parser.parse_args()
    from model.evidence.priors import load_priors
    from model.validation.sbc import design_named

    generator = {key: value for key, value in (
        ("onset_known_fraction", args.onset_known), ("cramp_slowdown", args.slowdown),
        ("fast_start_share", args.fast_start_share)) if value is not None}
    design = design_named(args.design, splits=False if args.no_splits else None)
    priors = load_priors(None)
    rows = [cohort_scores(design, i, args.seed, priors, args.nodes, generator=generator,
                          onset_weights=args.onset_weights) for i in range(args.cohorts)]
    if args.out:
        with open(args.out, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    print(json.dumps({"variant": {**generator, "onset_weights": args.onset_weights,
                                  "splits": design.splits}}))
    finite = np.array([all(np.isfinite(v) for v in r.values()) for r in rows])
    sd = np.array([r["true_runner_sd"] for r in rows])
    for subset, keep in (("all", sd >= 0), ("runner_sd < 1", sd < 1), ("runner_sd >= 1", sd >= 1)):
        print(json.dumps({"cohorts": int((keep & finite).sum()), "subset": subset,
                          "non_finite": [i for i in np.flatnonzero(keep & ~finite).tolist()],
                          "z": z_scores(rows, keep & finite)}))


def z_scores(rows: list[dict[str, float]], keep: np.ndarray) -> dict[str, float]:
    """Self-normalised sum z of every score over the cohorts `keep` (about Normal(0, 1) per
    parameter when the likelihood is the generator's)."""
    z = {}
    for name in (k for k in rows[0] if k != "true_runner_sd"):
        s = np.array([r.get(name, 0.0) for r in rows])[keep]
        z[name] = round(float(s.sum() / np.sqrt((s**2).sum())), 2)
    return z


if __name__ == "__main__":
    main()
