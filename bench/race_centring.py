"""How centred the race effects should be for NUTS: gradients per effective draw of the slowest
parameter, tuning included, at several values of the information per cramp that sets each
race's centring weight (model/inference/race_effects.py), on one cohort, paired by sampler seed.

Counts, not seconds (as bench/sampler_variants.py): every variant runs the same kernel, so what
differs is the gradients spent per unit of the smallest bulk ESS, which does not depend on what
else the machine runs. Each variant is a new graph (one compile each). The grid's designs are
tests/design_grid.py's FULL list, by index.

    uv run python bench/race_centring.py                       # the synthetic 25-race cohort
    uv run python bench/race_centring.py --grid-cell 7 --per-cramp 1 4
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quadrature_cost import cohort  # noqa: E402
from sampler_variants import counts  # noqa: E402

import model.inference.race_effects as race_effects  # noqa: E402
from model.data.records import RaceRecords  # noqa: E402
from model.evidence.priors import load_priors  # noqa: E402
from model.hazard.features import build_features  # noqa: E402
from model.inference.fit import as_sampled, choose_adaptation  # noqa: E402
from model.inference.hazard_model import build_model, compile_for_nutpie  # noqa: E402


def grid_cohort(index: int, seed: int) -> RaceRecords:
    """The design grid's cell `index` (tests/design_grid.py), drawn by the independent
    generator."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from design_cohorts import draw_cohort
    from design_grid import FULL

    return RaceRecords(*draw_cohort(FULL[index], seed), "bench", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--grid-cell", type=int, default=None,
                        help="a cell of tests/design_grid.py's FULL list instead of the "
                             "synthetic cohort")
    parser.add_argument("--cohort-seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--per-cramp", type=float, nargs="+",
                        default=[1.0, 2.0, race_effects.RACE_INFORMATION_PER_CRAMP])
    args = parser.parse_args()
    records = (cohort(args.records, args.cohort_seed) if args.grid_cell is None
               else grid_cohort(args.grid_cell, args.cohort_seed))
    features = build_features(records)
    adaptation = choose_adaptation(features.sizes["record"])  # as a fit chooses
    priors = load_priors()
    for per_cramp in args.per_cramp:
        # read by race_centring when the graph is built
        race_effects.RACE_INFORMATION_PER_CRAMP = per_cramp
        model = build_model(features, priors)
        compiled, _ = as_sampled(compile_for_nutpie(model), model, priors)
        for seed in args.seeds:
            result = counts(compiled, seed, adaptation, {})
            print(json.dumps({"per_cramp": per_cramp, "seed": seed, "adaptation": adaptation,
                              **result}), flush=True)


if __name__ == "__main__":
    main()
