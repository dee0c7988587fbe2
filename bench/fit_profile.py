"""Where a fit's wall time goes: building the model, compiling it (PyTensor graph, numba, nutpie
wrapper), and sampling, split into tuning and draws by leapfrog steps, with the cost of one
log-density-and-gradient evaluation of the whole compiled graph beside the likelihood kernel's.

    uv run python bench/fit_profile.py                    # synth cohort, 10,000 records
    uv run python bench/fit_profile.py --design-races 6   # the 6-race design cohort
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import nutpie

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quadrature_cost import cohort, per_call_seconds  # noqa: E402

from model.conventions import FIT_DRAWS, FIT_TUNE  # noqa: E402
from model.evidence.priors import load_priors  # noqa: E402
from model.hazard.features import build_features  # noqa: E402
from model.inference.diagnostics import TARGET_ACCEPT  # noqa: E402
from model.inference.fit import adaptation_options  # noqa: E402
from model.inference.hazard_model import build_model, compile_for_nutpie  # noqa: E402
from model.inference.likelihood import loglik_and_gradient  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--draws", type=int, default=FIT_DRAWS)
    parser.add_argument("--tune", type=int, default=FIT_TUNE)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--design-races", type=int, default=None)
    parser.add_argument("--adaptation", default="low_rank")
    parser.add_argument("--chains", type=int, default=2)
    args = parser.parse_args()
    out: dict = {}
    t0 = time.perf_counter()
    features = build_features(cohort(args.records, args.seed, args.design_races))
    t1 = time.perf_counter()
    model = build_model(features, load_priors())
    t2 = time.perf_counter()
    compiled = compile_for_nutpie(model)
    t3 = time.perf_counter()
    out.update(features_s=round(t1 - t0, 2), build_model_s=round(t2 - t1, 2),
               compile_s=round(t3 - t2, 2))
    # one evaluation of the whole graph (priors, race effects, the kernel Op) against the kernel
    kernel_inputs = [np.asarray(v) for k, v in model.cramp_graph_data.items()
                     if k.startswith("kernel_")]
    d = model.cramp_data
    rng = np.random.default_rng(1)
    kpoint = (rng.normal(-4.9, 0.3, len(d.outcome)), rng.normal(0.0, 0.1, 1 + len(d.cell_names)),
              np.array([0.6, 0.4, 4.4, 0.55, -0.3]))
    n_dim = compiled.n_dim
    flat = rng.normal(0, 0.1, n_dim)
    logp = compiled.logp_func
    times = per_call_seconds({"kernel": lambda: loglik_and_gradient(*kpoint, *kernel_inputs),
                              "graph": lambda: logp(flat)}, 20)
    out.update(ms_kernel=round(1e3 * times["kernel"], 3), ms_graph=round(1e3 * times["graph"], 3))
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t4 = time.perf_counter()
    tree = nutpie.sample(compiled, draws=args.draws, tune=args.tune, chains=args.chains,
                         cores=args.chains, seed=args.seed, progress_bar=False,
                         save_warmup=True, target_accept=TARGET_ACCEPT,
                         **adaptation_options(args.adaptation))
    t5 = time.perf_counter()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    warm = tree["warmup_sample_stats"]["n_steps"].to_numpy()
    draw = tree["sample_stats"]["n_steps"].to_numpy()
    steps_per_chain = (warm.sum() + draw.sum()) / args.chains
    out.update(
        sample_s=round(t5 - t4, 2),
        leapfrog_tune_per_chain=int(warm.sum() / args.chains),
        leapfrog_draws_per_chain=int(draw.sum() / args.chains),
        mean_steps_tune=round(float(warm.mean()), 2), mean_steps_draws=round(float(draw.mean()), 2),
        gradient_s_per_chain=round(steps_per_chain * times["graph"], 2),
        # fresh pages the kernel's temporary arrays touch (glibc returns freed memory to the OS)
        page_faults_per_gradient=round(faults / (steps_per_chain * args.chains), 1),
        divergences=int(tree["sample_stats"]["diverging"].sum()),
    )
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
