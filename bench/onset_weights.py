"""Benchmark the onset weights (model/hazard/onset_location.py, issue 20): the split model's fit
(slowdown, profile, noise; the fade by EM and the drift SD chosen from DRIFT_SD_GRID) and the
weights of the cramps of unknown onset, on a synthetic cohort with 1 km splits, against a
reference measured in the same run, interleaved so that machine load hits both alike:

- reference: the plain local-level weights without the fade (Fade()), scored at every drift of
  DRIFT_SD_GRID on the same known onsets, then the unknown onsets' weights at the best drift;
  the work the onset location did before the fade step (commit 976bdb9)
- onset weights: `intervals`, `fit_split_model` and `onset_log_weights` as build_features runs
  them

The median of `--repeats` runs is reported, in seconds and as the ratio to the reference, with
the load average. Run: ``uv run python bench/onset_weights.py [--records 10000] [--seed 7]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace

import numpy as np

from model.data.records import RaceRecords
from model.hazard import features, onset_location
from model.hazard.onset_steps import Fade
from model.validation.synth import synthesize


def onset_inputs(n_records: int, seed: int) -> dict:
    """The arguments build_features passes to the onset location, for a synthetic cohort with
    1 km splits (captured from a build_features run)."""
    records, splits = synthesize(n_records, seed)
    captured = {}
    real_intervals, real_fit = onset_location.intervals, onset_location.fit_split_model

    def capture_intervals(*args):
        captured["intervals"] = args
        return real_intervals(*args)

    def capture_fit(iv, status_known, onset_segment, length_km):
        captured["fit"] = (status_known, onset_segment, length_km)
        return real_fit(iv, status_known, onset_segment, length_km)

    onset_location.intervals, onset_location.fit_split_model = capture_intervals, capture_fit
    try:
        features.build_features(RaceRecords(records, splits, "synthetic", ""))
    finally:
        onset_location.intervals, onset_location.fit_split_model = real_intervals, real_fit
    status_known, onset_segment, length_km = captured["fit"]
    return {"intervals": captured["intervals"], "status_known": status_known,
            "onset_segment": onset_segment, "length_km": length_km}


def onset_weights(inputs: dict):
    """The split model and ln w (record, segment), as build_features computes them."""
    iv = onset_location.intervals(*inputs["intervals"])
    model = onset_location.fit_split_model(iv, inputs["status_known"], inputs["onset_segment"],
                                           inputs["length_km"])
    return model, onset_location.onset_log_weights(iv, model, ~inputs["status_known"],
                                                  inputs["length_km"])


def reference_weights(inputs: dict) -> np.ndarray:
    """The plain local-level weights (no fade), the drift scored on the known onsets."""
    iv = onset_location.intervals(*inputs["intervals"])
    status_known, onset, length_km = (inputs["status_known"], inputs["onset_segment"],
                                      inputs["length_km"])
    # the slowdown, profile and noise alone: the drift is chosen below, without the fade
    choose = onset_location._choose_drift_sd
    onset_location._choose_drift_sd = lambda model, *_: model
    try:
        model = onset_location.fit_split_model(iv, status_known, onset, length_km)
    finally:
        onset_location._choose_drift_sd = choose
    known = np.flatnonzero(status_known & (onset > 0))
    rows = known[np.linspace(0, len(known) - 1, min(len(known), 2000)).astype(int)]
    best, best_score = None, -np.inf
    for drift in onset_location.DRIFT_SD_GRID:
        candidate = replace(model, drift_sd_ln_pace=float(drift), fade=Fade())
        log_w = onset_location._located_log_weights(iv, candidate, rows, length_km)
        norm = log_w - np.log(np.exp(log_w).sum(axis=1, keepdims=True))
        score = float(norm[np.arange(len(rows)), onset[rows] - 1].mean())
        if score > best_score:
            best, best_score = candidate, score
    return onset_location.onset_log_weights(iv, best, ~status_known, length_km)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    inputs = onset_inputs(args.records, args.seed)
    times = {"reference (no fade)": [], "onset weights": []}
    for _ in range(args.repeats):
        start = time.perf_counter()
        reference_weights(inputs)
        times["reference (no fade)"].append(time.perf_counter() - start)
        start = time.perf_counter()
        model, _ = onset_weights(inputs)
        times["onset weights"].append(time.perf_counter() - start)
    reference = statistics.median(times["reference (no fade)"])
    print(f"{args.records} records, seed {args.seed}, 1 km splits; drift "
          f"{model.drift_sd_ln_pace:.4f} per sqrt(km), fade probability "
          f"{model.fade.probability:.3f}; load average {os.getloadavg()[0]:.2f}")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"  {name:20s} {median:6.2f} s  ({median / reference:.2f}x the reference; "
              f"runs {', '.join(f'{t:.2f}' for t in runs)})")


if __name__ == "__main__":
    main()
