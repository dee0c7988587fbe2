"""Splits (runner_id, race_id, km, elapsed_s): the elapsed time at a timing mark, each checked
against its race record, so that nothing is re-read silently. A mark may sit at any km, whole or
not (a half-marathon mat at 21.0975 km, mile marks converted to km): the features
(model/hazard/features.py) interpolate elapsed time linearly in km between marks. A mark must be
below the distance reached (the finish time is race_time_s; a split at exactly the distance
reached must agree with it), before the finish in time, and given once.

A row whose elapsed_s is missing (a blank cell or a missing marker, model/data/cell_formats.py)
is left out and counted in a note; h:mm:ss is read as seconds. The rows may come from a file in
the long format, from wide split columns (model/data/wide_splits.py) or both; a row from a wide
column carries its `place` (file, row, column) for messages."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.data.cell_formats import DURATION_RULE, blank_missing, read_formats
from model.errors import InputError, Problems, cell_place

SPLIT_COLUMNS = ("runner_id", "race_id", "km", "elapsed_s")
# [km] a mark within this of the distance reached is at the finish, and two marks this close
# are one (a float export writes 42.195 as 42.19500000001)
WHOLE_KM_TOLERANCE = 1e-6


def check_split_columns(path: str, splits: pd.DataFrame) -> None:
    """InputError naming the long-format columns `splits` lacks."""
    missing = [c for c in SPLIT_COLUMNS if c not in splits.columns]
    if missing:
        raise InputError(f"{path}: missing required column(s) {', '.join(missing)} for splits "
                         f"(found: {', '.join(map(str, splits.columns[:12]))}; or give wide "
                         "columns split_<km>km)")


def load_splits(path: str, splits: pd.DataFrame, table: pd.DataFrame,
                extra_missing: tuple[str, ...] = (), names: dict[str, str] | None = None
                ) -> tuple[pd.DataFrame, list[str]]:
    """Validated splits (numbers parsed) for the validated race records `table`, and notes on
    rows left out (a missing elapsed_s); InputError listing every problem with its row (rows
    numbered from 1, or the row's `place`) and rule. `names`: our column -> the name shown."""
    check_split_columns(path, splits)
    names = names or {}
    places = splits["place"] if "place" in splits.columns else pd.Series(np.nan, splits.index)
    # a row's number in its own file (from wide_to_long, or the file's `row`), else its position
    given = pd.to_numeric(splits["row"], errors="coerce") if "row" in splits.columns else \
        pd.Series(np.nan, splits.index)
    rows = given.fillna(pd.Series(np.arange(1, len(splits) + 1), splits.index)).to_numpy(int)
    splits = read_formats(blank_missing(splits, SPLIT_COLUMNS, extra_missing), ("elapsed_s",))
    left_out = (splits["elapsed_s"].str.strip() == "").to_numpy()
    notes = []
    if left_out.any():
        where = [p if isinstance(p, str) else f"{path}: row {rows[i]}"
                 for i, p in zip(np.flatnonzero(left_out), places[left_out], strict=True)]
        notes.append(f"{int(left_out.sum())} split row(s) with a missing elapsed_s left out "
                     f"({'; '.join(where[:5])}{' ...' if len(where) > 5 else ''})")
    # a row from a wide column names its own place: the records file, row and column
    found = Problems()

    def report(mask, column: str, rule: str, shown: pd.Series | None = None) -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool) & ~left_out).tolist():
            place = places.iloc[i] if isinstance(places.iloc[i], str) else \
                f"{path}: {cell_place(int(rows[i]), names.get(column, column))}"
            found.add(place, rule, None if shown is None else shown.iloc[i], row=int(rows[i]),
                      as_written=True)

    km = pd.to_numeric(splits["km"].str.strip(), errors="coerce")
    elapsed = pd.to_numeric(splits["elapsed_s"].str.strip(), errors="coerce")
    with np.errstate(invalid="ignore"):
        bad_km = ~np.isfinite(km.to_numpy(float)) | (km <= 0).to_numpy()
        bad_elapsed = ~np.isfinite(elapsed.to_numpy(float)) | (elapsed <= 0).to_numpy()
    report(bad_km, "km", "must be a finite number > 0", splits["km"])
    report(bad_elapsed, "elapsed_s", f"must be {DURATION_RULE}, > 0", splits["elapsed_s"])
    runner, race = splits["runner_id"].str.strip(), splits["race_id"].str.strip()
    keys = pd.MultiIndex.from_arrays([table["runner_id"], table["race_id"]])
    record = keys.get_indexer(pd.MultiIndex.from_arrays([runner, race]))
    for i in np.flatnonzero((record < 0) & ~left_out):
        report(np.arange(len(record)) == i, "runner_id", f"no race record for runner "
               f"{runner.iloc[i]} in race {race.iloc[i]}")
    ok = (record >= 0) & ~bad_km & ~bad_elapsed & ~left_out
    if ok.any():
        _check_against_records(km, elapsed, record, ok, table, report, splits)
    found.sort_by_row()
    if found:
        raise found.error(f"{path}: {len(found)} problem(s) in the splits")
    kept = splits.assign(runner_id=runner, race_id=race, km=km, elapsed_s=elapsed)[~left_out]
    return kept.drop(columns=["place", "row"], errors="ignore").reset_index(drop=True), notes


def _check_against_records(km, elapsed, record, ok, table, report, raw) -> None:
    km_, t = km.to_numpy(float), elapsed.to_numpy(float)
    reached = table["dnf_km"].where(table["dnf_km"].notna(), table["distance_km"]) \
        if "dnf_km" in table else table["distance_km"]
    reached = reached.to_numpy(float)[np.maximum(record, 0)]
    finish = table["race_time_s"].to_numpy(float)[np.maximum(record, 0)]
    at_end = ok & (np.abs(km_ - reached) <= WHOLE_KM_TOLERANCE)
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
