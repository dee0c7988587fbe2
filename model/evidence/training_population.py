"""The population's longest training run given the race distance, as data: read and check
training_population.toml (next to this module), which states its sources and assumptions.

Used where a study did not record `longest_run_km`: the excess_distance feature of such a
runner-race is its expectation under this distribution (model/hazard/features.py)."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from model.errors import InputError

DEFAULT_TRAINING_POPULATION_PATH = Path(__file__).with_name("training_population.toml")
# a normal longest run needs no truncation at 0 km when its mean is >= 3 SD (P(< 0) < 0.2%)
MIN_MEAN_IN_SD = 3.0


@dataclass(frozen=True)
class TrainingPopulation:
    """Longest run of the 8 weeks before a race [km] ~ Normal(mean, sd), the rows' figures
    interpolated linearly in the race distance and held constant beyond the first and last."""

    path: str
    sha256: str
    distance_km: np.ndarray  # (row,) increasing
    mean_km: np.ndarray
    sd_km: np.ndarray

    def longest_run_km(self, race_distance_km) -> tuple[np.ndarray, np.ndarray]:
        """(mean, sd) [km] of the longest run for races of `race_distance_km` [km]."""
        d = np.asarray(race_distance_km, float)
        return (np.interp(d, self.distance_km, self.mean_km),
                np.interp(d, self.distance_km, self.sd_km))

    def describe(self) -> str:
        """What a fit's note says the missing values were replaced by."""
        rows = ", ".join(f"{d:g} km: {m:g} +/- {s:g}" for d, m, s in
                         zip(self.distance_km, self.mean_km, self.sd_km, strict=True))
        return (f"longest run ~ Normal(mean, sd) by race distance ({rows}; linear between) "
                f"from {Path(self.path).name}")


def load_training_population(path: str | Path | None = None) -> TrainingPopulation:
    """Read and check the training-population file (default: the shipped one); a malformed
    file raises InputError naming the file, the row and the key."""
    return _load(str(DEFAULT_TRAINING_POPULATION_PATH if path is None else path))


@lru_cache(maxsize=4)
def _load(path: str) -> TrainingPopulation:
    try:
        raw_bytes = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read training population file ({exc.strerror})") \
            from None
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid TOML training population file ({exc})") from None
    rows = raw.get("longest_run")
    if not isinstance(rows, list) or not rows:
        raise InputError(f"{path}: missing [[longest_run]] rows (distance_km, mean_km, sd_km)")
    values = np.empty((len(rows), 3))
    for i, row in enumerate(rows, start=1):
        for j, key in enumerate(("distance_km", "mean_km", "sd_km")):
            value = row.get(key) if isinstance(row, dict) else None
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not np.isfinite(value) or value <= 0:
                raise InputError(f"{path}: [[longest_run]] row {i}, key {key}: must be a "
                                 f"number > 0, got {value!r}")
            values[i - 1, j] = value
        if values[i - 1, 1] < MIN_MEAN_IN_SD * values[i - 1, 2]:
            raise InputError(f"{path}: [[longest_run]] row {i}, key sd_km: mean_km must be at "
                             f"least {MIN_MEAN_IN_SD:g} x sd_km (a normal longest run must not "
                             "reach below 0 km)")
    if np.any(np.diff(values[:, 0]) <= 0):
        raise InputError(f"{path}: [[longest_run]] key distance_km: rows must be in increasing "
                         "race distance, each distance once")
    return TrainingPopulation(path, hashlib.sha256(raw_bytes).hexdigest(), values[:, 0],
                              values[:, 1], values[:, 2])
