"""The likelihood's two backends, in the same run on the same data: the numba kernel (hand-derived
gradient) against the reference definition (plain PyTensor, automatic gradients), per
evaluation of the log-likelihood and its gradient (what NUTS calls at every leapfrog step), and
the reference's compile time.

    uv run python bench/likelihood_backends.py                  # 300, 3,000 and 10,000 records
    uv run python bench/likelihood_backends.py --records 1000
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def measure(n_records: int, repeats: int) -> dict:
    import pytensor
    import pytensor.tensor as pt

    from model.data.records import RaceRecords
    from model.hazard.features import build_features
    from model.inference.hazard_model import ieee_arithmetic, kernel_data, prepare
    from model.inference.likelihood import loglik_and_gradient
    from model.inference.likelihood_reference import reference_loglik
    from model.validation.synth import synthesize

    records, splits = synthesize(n_records, 5, ck_measured_fraction=0.5, onset_known_fraction=0.5)
    data = kernel_data(prepare(build_features(RaceRecords(records, splits, "bench", ""))), 9, 5)
    rng = np.random.default_rng(1)
    point = (rng.normal(-4.9, 0.3, data.record_order.size),
             rng.normal(0.0, 0.5, data.cell_x.shape[0]), np.array([0.6, 0.4, 4.4, 0.55, -0.3]))
    const, b_cell, params = pt.dvector("const"), pt.dvector("b_cell"), pt.dvector("params")
    total = reference_loglik(const, b_cell, params, data)
    start = time.perf_counter()
    with ieee_arithmetic():
        reference = pytensor.function([const, b_cell, params],
                                      [total, *pt.grad(total, [const, b_cell, params])],
                                      mode="NUMBA")
        reference(*point)
    compile_s = time.perf_counter() - start
    arrays = data.arrays()
    loglik_and_gradient(*point, *arrays)  # compiled (or loaded from numba's cache) first

    def per_call(f) -> float:
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(repeats):
                f()
            best = min(best, (time.perf_counter() - start) / repeats)
        return best

    kernel_s = per_call(lambda: loglik_and_gradient(*point, *arrays))
    reference_s = per_call(lambda: reference(*point))
    return {"records": n_records, "kernel_ms": round(1e3 * kernel_s, 3),
            "reference_ms": round(1e3 * reference_s, 3),
            "reference_over_kernel": round(reference_s / kernel_s, 1),
            "reference_compile_s": round(compile_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="*", default=[300, 3000, 10000])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    for n in args.records:
        print(json.dumps(measure(n, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
