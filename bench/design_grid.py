"""The default fit on a grid of study designs: convergence, coverage and time per design.

Cohorts come from tests/design_cohorts.py (written independently of the project's generator).
Each design is fitted with `cramp fit`'s defaults; the table gives the worst R-hat, the smallest
bulk and tail ESS, divergences, wall time, and whether every true value lies inside its 95%
interval (Bonferroni-adjusted over the parameters checked, as tests/test_recovery.py does).

    uv run python bench/design_grid.py                 # the full grid (about 5 minutes here)
    uv run python bench/design_grid.py --quick         # the CI subset
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from design_grid import FULL, QUICK, run_design  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", type=int, nargs="*", help="indices into the grid")
    args = parser.parse_args()
    from model.evidence.priors import load_priors

    priors = load_priors()
    grid = QUICK if args.quick else FULL
    for i, design in enumerate(grid):
        if args.only and i not in args.only:
            continue
        print(json.dumps(run_design(design, args.seed, priors)), flush=True)


if __name__ == "__main__":
    main()
