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
