"""What the Laplace scaling (model/inference/laplace.py; not in the fit, see there) would save:
the fit's sampler on the fit's compiled and sheared model, in the model's own coordinates
against the scaled ones, same run, same sampler seeds. Counts (gradients per effective draw of
the slowest parameter, tuning included; the first 50 tuning draws' share) and seconds (the
scaling's own search included).

    uv run python bench/laplace_preconditioning.py --design-races 6 --seeds 1 2
    uv run python bench/laplace_preconditioning.py --records 100000 --seeds 1 --only scaled
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quadrature_cost import cohort  # noqa: E402
from sampler_variants import counts  # noqa: E402

from model.evidence.priors import load_priors  # noqa: E402
from model.hazard.features import build_features  # noqa: E402
from model.inference.fit import as_sampled  # noqa: E402
from model.inference.hazard_model import build_model, compile_for_nutpie  # noqa: E402
from model.inference.laplace import with_laplace_scaling  # noqa: E402
from model.inference.nutpie_entry import flat_point  # noqa: E402

VARIANTS = ("own", "scaled")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--design-races", type=int, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--adaptation", default="low_rank")
    parser.add_argument("--draws", type=int, default=None, help="default: the fit's")
    parser.add_argument("--tune", type=int, default=None, help="default: the fit's")
    parser.add_argument("--only", choices=VARIANTS, default=None)
    args = parser.parse_args()
    began = time.perf_counter()
    features = build_features(cohort(args.records, 1, args.design_races))
    priors = load_priors()
    model = build_model(features, priors)
    compiled, _ = as_sampled(compile_for_nutpie(model), model, priors)
    print(json.dumps({"records": args.records, "prepared_s": round(time.perf_counter() - began,
                                                                     1)}), flush=True)
    options = {k: v for k, v in (("draws", args.draws), ("tune", args.tune)) if v is not None}
    for seed in args.seeds:
        for variant in [args.only] if args.only else VARIANTS:
            began = time.perf_counter()
            sampled, extra = compiled, {}
            if variant == "scaled":
                sampled, scaling = with_laplace_scaling(
                    compiled, flat_point(compiled, model.initial_point()))
                extra = {"scaling": scaling.describe()}
            result = counts(sampled, seed, args.adaptation, options)
            print(json.dumps({"variant": variant, "seed": seed, **result, **extra,
                              "seconds": round(time.perf_counter() - began, 1)}), flush=True)


if __name__ == "__main__":
    main()
