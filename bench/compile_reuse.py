"""Compile once, fit many: the first fit of a structure compiles the model, a second fit of other
data with the same structure reuses it (model/inference/compiled.py). Reports, in one run, the
compile time of the first fit and of the second, the whole fit's wall time for each, and the ratio
second / first (what a simulation-based calibration or a design grid gains per fit).

    uv run python bench/compile_reuse.py                  # 2,000 runner-races, 300 + 300 draws
    uv run python bench/compile_reuse.py --records 10000
"""

from __future__ import annotations

import argparse
import json
import time

from model.data.records import RaceRecords
from model.evidence.priors import load_priors
from model.hazard.features import build_features
from model.inference import compiled
from model.inference.fit import fit
from model.inference.hazard_model import build_model
from model.validation.synth import synthesize


def timed_fit(records: RaceRecords, priors, draws: int, seed: int) -> dict:
    features = build_features(records)
    start = time.perf_counter()
    _, reused = compiled.compiled_for(build_model(features, priors, reusable=True), priors)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()  # the fit finds the model compiled (or reused) above
    fit(features, priors, draws=draws, tune=draws, seed=seed, extend=False, reusable=True)
    return {"reused": reused, "compile_s": round(compile_s, 2),
            "fit_s": round(compile_s + time.perf_counter() - start, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--draws", type=int, default=300)
    args = parser.parse_args()
    priors = load_priors()
    cohorts = [RaceRecords(*synthesize(args.records, seed), f"synth {seed}", "")
               for seed in (1, 2)]
    compiled.clear()
    first, second = (timed_fit(c, priors, args.draws, seed)
                     for seed, c in enumerate(cohorts, start=1))
    print(json.dumps({"records": args.records, "first": first, "second": second,
                      "second_over_first_fit": round(second["fit_s"] / first["fit_s"], 3),
                      "second_over_first_compile": round(
                          second["compile_s"] / first["compile_s"], 4)}, indent=2))


if __name__ == "__main__":
    main()
