"""Fitting speed: the project's hazard model against the dense person-period reference
(bench/reference_dense.py), in the same run, on the same synthetic marathon cohort.

Reports wall time (compile, sampling), the smallest bulk ESS over the shared parameters (beta,
log_hazard_per_km, distance_shape, runner_sd, race_sd), ESS per second of sampling and of total
time, R-hat and divergences; then how the project's fit time grows with the cohort size. The
project's compile is a fit's: ~1 s for a structure compiled before on this machine, ~3 s for
another race count, ~15 s for the first fit ever (bench/compile_reuse.py); `compile_s` shows it.

    uv run python bench/fit_speed.py                      # 10,000 records, both models
    uv run python bench/fit_speed.py --scaling 1000 10000 100000 --skip-reference
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import arviz as az
import nutpie
import pytensor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_dense import build_reference_model  # noqa: E402

from model.conventions import FIT_DRAWS, FIT_TUNE  # noqa: E402
from model.data.records import RaceRecords  # noqa: E402
from model.evidence.priors import load_priors  # noqa: E402
from model.hazard.features import build_features  # noqa: E402
from model.inference.diagnostics import TARGET_ACCEPT  # noqa: E402
from model.inference.fit import adaptation_options, as_sampled  # noqa: E402
from model.inference.hazard_model import build_model, compile_for_nutpie  # noqa: E402
from model.validation.synth import synthesize  # noqa: E402

SHARED = ["beta", "log_hazard_per_km", "distance_shape", "runner_sd", "race_sd"]


def run(model, draws, tune, seed, adaptation, reference=False, target_accept=0.8,
        shear_priors=None):
    """Compile and sample: the project's model as a fit compiles it (compile_for_nutpie: no
    fastmath, the cached entry points) and prepares it as a fit samples it (fit.as_sampled: the
    runner shear, with the model's priors `shear_priors`; None: no shear), a reference as a
    first attempt would
    (`nutpie.compile_pymc_model` with PyTensor's default numba fastmath). compile_s includes
    the shear's search."""
    start = time.perf_counter()
    if reference:
        with pytensor.config.change_flags(numba__fastmath=True):
            compiled = nutpie.compile_pymc_model(model)
    else:
        compiled = compile_for_nutpie(model)
        if shear_priors is not None:
            compiled, _ = as_sampled(compiled, model, shear_priors)
    compiled_at = time.perf_counter()
    tree = nutpie.sample(compiled, draws=draws, tune=tune, chains=2, cores=2, seed=seed,
                         progress_bar=False, save_warmup=False, target_accept=target_accept,
                         **adaptation_options(adaptation))
    done = time.perf_counter()
    shared = [v for v in SHARED if v in tree["posterior"]]
    posterior = tree["posterior"].to_dataset()[shared]
    ess = az.ess(posterior)
    rhat = az.rhat(posterior)
    worst = {v: float(ess[v].min()) for v in shared}
    stats = tree["sample_stats"].to_dataset()
    return {
        "compile_s": round(compiled_at - start, 1),
        "sample_s": round(done - compiled_at, 1),
        "min_ess_bulk": round(min(worst.values())),
        "slowest": min(worst, key=worst.get),
        "ess_per_s_sampling": round(min(worst.values()) / (done - compiled_at), 2),
        "ess_per_s_total": round(min(worst.values()) / (done - start), 2),
        "max_rhat": round(max(float(rhat[v].max()) for v in shared), 4),
        "divergences": int(stats["diverging"].sum()),
        "mean_leapfrog_steps": round(float(stats["n_steps"].mean()), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--draws", type=int, default=FIT_DRAWS)
    parser.add_argument("--tune", type=int, default=FIT_TUNE)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--no-shear", action="store_true",
                        help="sample the project's model without the runner SD's shear")
    parser.add_argument("--scaling", type=int, nargs="*", default=[])
    parser.add_argument("--design-races", type=int, default=None,
                        help="draw the cohort with tests/design_cohorts.py (independent of the "
                             "project's generator): this many races, WBGT constant per race, "
                             "no splits, every runner seen once")
    parser.add_argument("--adaptation", nargs="+", default=["diag", "low_rank"],
                        help="nutpie mass-matrix adaptations to run the project model with")
    parser.add_argument("--reference-draws", type=int, default=None,
                        help="draws (and tune) for the reference if it is too slow for --draws")
    parser.add_argument("--reference", nargs="+", default=["plain", "no_effects", "effects"],
                        help="reference variants (bench/reference_dense.py): plain, without "
                             "runner and race effects, with them")
    args = parser.parse_args()
    priors = load_priors()
    results = {}
    if args.design_races:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from design_cohorts import Design, draw_cohort

        records, splits = draw_cohort(Design(args.design_races, args.records), args.seed)
    else:
        records, splits = synthesize(args.records, args.seed)
    features = build_features(RaceRecords(records, splits, "bench", ""))
    print(f"{args.records} marathon runner-races, {features.sizes['runner']} runners, "
          f"{features.sizes['race']} races, {features.sizes['segment']} segments", flush=True)
    for adaptation in args.adaptation:
        results[f"project {adaptation}"] = run(
            build_model(features, priors), args.draws, args.tune, args.seed, adaptation,
            target_accept=TARGET_ACCEPT,
            shear_priors=None if args.no_shear else priors)
        print(f"project {adaptation}", json.dumps(results[f"project {adaptation}"]), flush=True)
    if not args.skip_reference:
        for variant in args.reference:
            # the slow variant (with effects) may need fewer draws to finish in reasonable time
            n_ref = args.reference_draws if variant == "effects" and args.reference_draws \
                else args.draws
            n_tune = n_ref if n_ref != args.draws else args.tune
            name = f"reference {variant}"
            model = build_reference_model(features, priors, effects=variant == "effects",
                                          latent_ck=variant != "plain")
            results[name] = run(model, n_ref, n_tune, args.seed, "diag", reference=True)
            print(name, json.dumps(results[name]), flush=True)
            for adaptation in args.adaptation:
                for key in ("ess_per_s_sampling", "ess_per_s_total"):
                    ratio = results[f"project {adaptation}"][key] / results[name][key]
                    print(f"ratio project ({adaptation}) / {name} {key}: {ratio:.2f}x")
    for n in args.scaling:
        rec, spl = synthesize(n, args.seed)
        feats = build_features(RaceRecords(rec, spl, "bench", ""))
        r = run(build_model(feats, priors), args.draws, args.tune, args.seed,
                args.adaptation[0], target_accept=TARGET_ACCEPT,
                shear_priors=None if args.no_shear else priors)
        print(f"scaling {n:>7} records: {json.dumps(r)}", flush=True)


if __name__ == "__main__":
    main()
