"""Sampler settings against the fit's own, by counts: gradients per effective draw of the
slowest parameter, tuning included, on one compiled model (so compile time is out of it).

Counts, not seconds: every variant runs the same kernel, so the gradients (leapfrog steps)
spent per unit of the smallest bulk ESS over the reported parameters are what differ, and they
do not depend on what else the machine runs. The fit's settings (`base`) run first, in the same
process; a variant is better only if it wins on every seed (ESS of a weakly identified SD
varies by ~30% between seeds).

    uv run python bench/sampler_variants.py --design-races 6 --seeds 1 2
    uv run python bench/sampler_variants.py --seeds 1 2 --variants '{"tune300": {"tune": 300}}'
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import arviz as az
import nutpie

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_speed import SHARED  # noqa: E402
from quadrature_cost import cohort  # noqa: E402

from model.conventions import FIT_DRAWS, FIT_TUNE  # noqa: E402
from model.evidence.priors import load_priors  # noqa: E402
from model.hazard.features import build_features  # noqa: E402
from model.inference.diagnostics import TARGET_ACCEPT  # noqa: E402
from model.inference.fit import adaptation_options, as_sampled  # noqa: E402
from model.inference.hazard_model import build_model, compile_for_nutpie  # noqa: E402

#: nutpie.sample keyword arguments tried at this stop (see the issue-20 notes for the figures)
VARIANTS = {
    "mass_matrix_switch_freq 40": {"mass_matrix_switch_freq": 40},
    "step size by Adam": {"step_size_adapt_method": "adam"},
    "target_accept 0.85": {"target_accept": 0.85},
    "tune 300": {"tune": 300},
}


def counts(compiled, seed: int, adaptation: str, options: dict) -> dict:
    """Sample with the fit's settings updated by `options`; gradients per ESS and the rest."""
    settings = {"draws": FIT_DRAWS, "tune": FIT_TUNE, "target_accept": TARGET_ACCEPT,
                **adaptation_options(adaptation), **options}
    tree = nutpie.sample(compiled, chains=2, cores=2, seed=seed, progress_bar=False,
                         save_warmup=True, **settings)
    posterior = tree["posterior"].to_dataset()[SHARED]
    ess, rhat = az.ess(posterior), az.rhat(posterior)
    worst = {v: float(ess[v].min()) for v in SHARED}
    tuning = int(tree["warmup_sample_stats"]["n_steps"].sum())
    sampling = int(tree["sample_stats"]["n_steps"].sum())
    first = tree["warmup_sample_stats"]["n_steps"].isel(draw=slice(0, 50))
    return {
        "gradients_per_ess": round((tuning + sampling) / min(worst.values()), 1),
        "min_ess_bulk": round(min(worst.values())),
        "slowest": min(worst, key=worst.get),
        "tuning_share": round(tuning / (tuning + sampling), 2),
        "first_50_tuning_draws_share": round(int(first.sum()) / (tuning + sampling), 2),
        "mean_steps_draws": round(float(tree["sample_stats"]["n_steps"].mean()), 1),
        "max_rhat": round(max(float(rhat[v].max()) for v in SHARED), 4),
        "divergences": int(tree["sample_stats"]["diverging"].sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--design-races", type=int, default=None)
    parser.add_argument("--cohort-seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--adaptation", default="low_rank")
    parser.add_argument("--no-shear", action="store_true",
                        help="sample without the runner SD's shear")
    parser.add_argument("--variants", type=json.loads, default=VARIANTS,
                        help="JSON: name -> nutpie.sample keyword arguments")
    args = parser.parse_args()
    features = build_features(cohort(args.records, args.cohort_seed, args.design_races))
    priors = load_priors()
    model = build_model(features, priors)
    compiled = compile_for_nutpie(model)
    if not args.no_shear:  # as a fit samples (fit.as_sampled)
        compiled, _ = as_sampled(compiled, model, priors)
    for name, options in {"base": {}, **args.variants}.items():
        for seed in args.seeds:
            result = counts(compiled, seed, args.adaptation, options)
            print(json.dumps({"variant": name, "seed": seed, **result}), flush=True)


if __name__ == "__main__":
    main()
