"""Peak resident memory of a fit's preparation, stage by stage, at a given number of
runner-races: the synthetic records (model/validation/synth.py, 1 km splits), the features, the
PyMC model, the compiled model and one log-density-and-gradient evaluation. Each figure is the
process's peak so far (getrusage), so a stage's own need is its rise over the one before; the
baseline is the interpreter with the packages imported.

    uv run python bench/memory_stages.py --records 100000
    uv run python bench/memory_stages.py --records 1000000      # needs ~15 GB
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quadrature_cost import cohort  # noqa: E402

from model.evidence.priors import load_priors  # noqa: E402
from model.hazard.features import build_features  # noqa: E402
from model.inference.hazard_model import build_model, compile_for_nutpie  # noqa: E402


def peak_gb() -> float:
    """The process's peak resident memory so far [GB] (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    peaks = {"imports": peak_gb()}
    records = cohort(args.records, args.seed)
    peaks["records"] = peak_gb()
    features = build_features(records)
    del records
    peaks["features"] = peak_gb()
    model = build_model(features, load_priors())
    peaks["model"] = peak_gb()
    compiled = compile_for_nutpie(model)
    peaks["compiled"] = peak_gb()
    compiled.logp_func(compiled.initial_point_func(args.seed))
    peaks["one_gradient"] = peak_gb()
    print(json.dumps({"records": args.records, "peak_resident_GB_after": peaks}))


if __name__ == "__main__":
    main()
