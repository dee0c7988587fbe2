"""Shared fixtures: small race-record files written the way a researcher would write them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from model.evidence.priors import load_priors


@pytest.fixture(autouse=True)
def ieee_compiles():
    """Every model the tests compile, as every fit does (model.inference.hazard_model): mixing
    fastmath and IEEE builds in one PyTensor cache breaks the fits' reproducibility."""
    from model.inference.hazard_model import ieee_arithmetic

    with ieee_arithmetic():
        yield


@pytest.fixture(scope="session")
def priors():
    return load_priors()


def write_csv(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def record(**overrides) -> dict:
    """One valid runner-race row (a 4 h marathoner from a 1:53 half, finishing in 4:05)."""
    row = {"runner_id": "A", "race_id": "city", "distance_km": 42.195, "race_time_s": 14700,
           "ref_distance_km": 21.0975, "ref_time_s": 6800, "longest_run_km": 30,
           "cramped": 0}
    row.update(overrides)
    return row


def log_rate_by_hand(p, block, race, seg):
    """Log hazard rate per (segment, runner) of a simulated block without the unknown runner and
    race-day effects, written out from design.md's definitions for one parameter draw `p`,
    independently of the simulator's matrices (the coin-flip tests race with it)."""
    import numpy as np

    from model.hazard.specification import FACTORS

    b = {f: float(p["beta"].sel(factor=f)) for f in FACTORS}
    log_ck = (float(p["ck_log_mean"]) + float(p["ck_taper_effect"]) * (block.taper_days - 7) / 7
              + float(p["ck_log_sd"]) * block.z_ck)
    with np.errstate(invalid="ignore", divide="ignore"):
        damage = np.where(np.isfinite(block.ck_pre_u_per_l), np.log2(block.ck_pre_u_per_l / 70),
                          (log_ck - np.log(70)) / np.log(2))
    mid = 0.5 * (seg.start_km + seg.end_km)
    return (float(p["log_hazard_per_km"]) + float(p["distance_shape"]) * np.log(mid / 10)
            + np.log(seg.length_km))[:, None] + (
        b["relative_pace"] * race.cell_x[0] + b["excess_distance"] * race.cell_x[1]
        + b["heat"] * race.cell_x[2]) + (
        b["muscle_damage"] * damage + b["taper"] * (block.taper_days - 7) / 7
        + b["cramp_history"] * block.cramp_history)[None, :]
