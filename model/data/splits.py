"""Per-km splits (runner_id, race_id, km, elapsed_s): each checked against its race record, so
that nothing is re-read silently. The model uses a split as the elapsed time at the end of km
segment `km`, so `km` must be a whole number of km (mile marks or GPS-lap distances are refused,
not rounded), below the distance reached (the finish time is race_time_s; a split at exactly
the distance reached must agree with it), before the finish in time, and given once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.errors import InputError

SPLIT_COLUMNS = ("runner_id", "race_id", "km", "elapsed_s")
WHOLE_KM_TOLERANCE = 1e-6  # km written as 5.0000001 by a float export is still km 5


def load_splits(path: str, splits: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Validated splits (numbers parsed) for the validated race records `table`; InputError
    listing every problem with its row (rows numbered from 1) and rule."""
    missing = [c for c in SPLIT_COLUMNS if c not in splits.columns]
    if missing:
        raise InputError(f"{path}: missing required column(s) {', '.join(missing)} for per-km "
                         f"splits (found: {', '.join(map(str, splits.columns[:12]))})")
    found: list[str] = []

    def report(mask, column: str, rule: str, shown: pd.Series | None = None) -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            got = "" if shown is None else f" (got '{shown.iloc[i]}')"
            found.append(f"{path}: row {i + 1}, column {column}: {rule}{got}")

    km = pd.to_numeric(splits["km"].str.strip(), errors="coerce")
    elapsed = pd.to_numeric(splits["elapsed_s"].str.strip(), errors="coerce")
    with np.errstate(invalid="ignore"):
        bad_km = ~np.isfinite(km.to_numpy(float)) | (km <= 0).to_numpy()
        bad_elapsed = ~np.isfinite(elapsed.to_numpy(float)) | (elapsed <= 0).to_numpy()
    report(bad_km, "km", "must be a finite number > 0", splits["km"])
    report(bad_elapsed, "elapsed_s", "must be a finite number > 0", splits["elapsed_s"])
    runner, race = splits["runner_id"].str.strip(), splits["race_id"].str.strip()
    keys = pd.MultiIndex.from_arrays([table["runner_id"], table["race_id"]])
    record = keys.get_indexer(pd.MultiIndex.from_arrays([runner, race]))
    for i in np.flatnonzero(record < 0):
        found.append(f"{path}: row {i + 1}, column runner_id: no race record for runner "
                     f"{runner.iloc[i]} in race {race.iloc[i]}")
    ok = (record >= 0) & ~bad_km & ~bad_elapsed
    if ok.any():
        _check_against_records(km, elapsed, record, ok, table, report, splits)
    if found:
        found.sort(key=lambda line: int(line.split(": row ", 1)[1].split(",", 1)[0])
                   if ": row " in line else 0)
        raise InputError(f"{path}: {len(found)} problem(s) in the splits", found)
    return splits.assign(runner_id=runner, race_id=race, km=km, elapsed_s=elapsed)


def _check_against_records(km, elapsed, record, ok, table, report, raw) -> None:
    km_, t = km.to_numpy(float), elapsed.to_numpy(float)
    reached = table["dnf_km"].where(table["dnf_km"].notna(), table["distance_km"]) \
        if "dnf_km" in table else table["distance_km"]
    reached = reached.to_numpy(float)[np.maximum(record, 0)]
    finish = table["race_time_s"].to_numpy(float)[np.maximum(record, 0)]
    at_end = ok & (np.abs(km_ - reached) <= WHOLE_KM_TOLERANCE)
    whole = np.abs(km_ - np.rint(km_)) <= WHOLE_KM_TOLERANCE
    report(ok & ~whole & ~at_end, "km", "must be a whole km (splits are per km: convert mile "
           "marks or lap distances to the elapsed time at each whole km, never rounded here)",
           raw["km"])
    report(ok & ~at_end & (km_ > reached), "km", "beyond the distance reached (distance_km, or "
           "dnf_km for a DNF)", raw["km"])
    report(at_end & (np.abs(t - finish) > 1.0), "elapsed_s", "a split at the distance "
           "reached must equal race_time_s (the finish)", raw["elapsed_s"])
    report(ok & ~at_end & (km_ < reached) & (t >= finish), "elapsed_s", "at or after the "
           "finish (race_time_s) though the km is before it", raw["elapsed_s"])
    frame = pd.DataFrame({"record": record, "km": np.rint(km_ * 1e6) / 1e6, "t": t})[ok]
    twice = frame.duplicated(["record", "km"], keep="first")
    report(np.isin(np.arange(len(km)), frame.index[twice.to_numpy()]), "km",
           "given twice for this runner and race (each km once)", raw["km"])
    order = frame[~twice].sort_values(["record", "km"])
    not_increasing = (order["record"].diff() == 0) & (order["t"].diff() <= 0)
    report(np.isin(np.arange(len(km)), order.index[not_increasing.to_numpy()]), "elapsed_s",
           "must increase with km", raw["elapsed_s"])
