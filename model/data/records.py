"""Load race records (CSV or Parquet) and check them against the column rules of design.md.

Every problem is collected, each naming the file, row, column and rule, so a researcher fixes a
file in one pass. Rows are numbered from 1 for the first data row (the CSV header is line 1, so
row N is line N + 1). Unknown columns are kept.

A study's own names, units and codes are read through a column map (model/data/column_map.py,
docs/study_data.md); missing markers (`NA`, `N/A`, ...), h:mm:ss times and yes/no flags are read
without one (model/data/cell_formats.py); wide split columns (`split_28km`) become splits
(model/data/wide_splits.py).

`longest_run_km` may be absent or blank: the table then holds NaN there, and the features say
how a missing longest run is treated.

Cramps during and after the race: `cramped` is the first cramp *during* the race, the outcome
the model predicts. `cramp_after_finish` = 1 marks a runner who cramped only after the finish
(within the study's window) and counts as no cramp during the race. A study whose `cramped`
lumps cramps during and after the race (no way to tell them apart) should say so: fitted to it,
the model's in-race risk is overstated by the share of post-race-only cramps, and its onset
locations lose those runners' meaning; recording `cramp_after_finish` avoids both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from model.data.cell_formats import DURATION_RULE, blank_missing, read_formats
from model.data.column_map import ColumnMap, ColumnMapSource, MappedTable, load_column_map
from model.data.columns import (
    MAY_BE_MISSING,
    MUST_HAVE,
    NUMERIC_COLUMNS,
    OPTIONAL_NUMERIC,
    REQUIRED,
)
from model.data.record_notes import missing_factor_notes, outcome_notes, pace_notes
from model.data.splits import check_split_columns, load_splits
from model.data.table_text import as_text, read_table
from model.data.wide_splits import wide_columns, wide_to_long
from model.errors import InputError, Problems
from model.hazard.physiology import clock_text, predicted_time_s, world_record_time_s
from model.hazard.specification import REGISTRY

__all__ = ["OPTIONAL_NUMERIC", "REQUIRED", "RaceRecords", "load_records"]

# text spellings of NaN and infinity that pandas reads as numbers
_NON_FINITE = ("nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity",
               "-infinity")

# a clock text without hours or without seconds, in a column of seconds
_AMBIGUOUS_CLOCK = r"[0-9]+:[0-9]{2}(?:\.[0-9]+)?"

# (column, test on the numeric value, rule as the user reads it); a missing optional value is
# allowed unless a rule below says otherwise.
_RANGE_RULES = (
    ("distance_km", lambda x: (x > 0) & (x <= 1000), "must be > 0 and <= 1000 km"),
    ("race_time_s", lambda x: x > 0, "must be > 0 seconds"),
    ("ref_distance_km", lambda x: (x > 0) & (x <= 1000), "must be > 0 and <= 1000 km"),
    ("ref_time_s", lambda x: x > 0, "must be > 0 seconds"),
    ("longest_run_km", lambda x: (x >= 0) & (x <= 1000), "must be >= 0 and <= 1000 km"),
    ("cramped", lambda x: np.isin(x, (0, 1)), "must be 0 or 1"),
    ("cramp_history", lambda x: np.isin(x, (0, 1)), "must be 0 or 1"),
    ("cramp_after_finish", lambda x: np.isin(x, (0, 1)), "must be 0 or 1"),
    ("cramp_km", lambda x: x >= 0, "must be >= 0 km"),
    ("dnf_km", lambda x: x > 0, "must be > 0 km"),
    ("ck_pre_u_per_l", lambda x: (x > 0) & (x < 100000), "must be > 0 and < 100000 U/L"),
    ("taper_days", lambda x: (x >= 0) & (x <= 60), "must be between 0 and 60 days"),
    ("wbgt_c", lambda x: (x >= -20) & (x <= 40), "must be between -20 and 40 degC"),
    ("temp_c", lambda x: (x >= -30) & (x <= 50), "must be between -30 and 50 degC"),
    ("rh_pct", lambda x: (x >= 0) & (x <= 100), "must be between 0 and 100 %"),
    ("start_hour", lambda x: (x >= 0) & (x < 24), "must be a clock hour in [0, 24)"),
)


@dataclass
class RaceRecords:
    """Validated race records (one row per runner-race) and optional per-km splits."""

    table: pd.DataFrame
    splits: pd.DataFrame | None
    source: str
    sha256: str
    excluded: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mapping: list[str] = field(default_factory=list)  # the column map applied, one line each


def file_sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


Source = str | Path | pd.DataFrame


def load_records(
    source: Source,
    splits: Source | None = None,
    skip_invalid: bool = False,
    columns: ColumnMapSource | None = None,
) -> RaceRecords:
    """Read and validate race records from a CSV or Parquet file or a pandas DataFrame (and
    optional per-km splits, likewise, long or wide). A DataFrame goes through the same rules and
    messages as a file; its rows are numbered from 1 as in a file. `columns`: a column map (TOML
    path or dict, docs/study_data.md) reading a study's own column names, units and codes as
    ours, for the records and the splits. Raises InputError listing every problem, unless
    `skip_invalid`, which excludes the offending rows and lists each exclusion with its
    reason."""
    column_map = load_column_map(columns) if columns is not None else ColumnMap("")
    extra = column_map.missing
    label, raw, digest = _read_source(source, "race records")
    mapped = column_map.apply(raw, label, "records")
    table = mapped.without_unread()
    _check_columns(label, table, MUST_HAVE, "race records")
    numeric_columns = _numeric_columns()
    table = blank_missing(table, ("runner_id", "race_id", *numeric_columns), extra)
    table, wide = wide_to_long(label, read_formats(table, numeric_columns), extra)
    problems = Problems(label)
    mapped.report(problems)
    _check_rows(problems, table, mapped)
    problems.sort_by_row()
    excluded: list[str] = []
    if problems:
        if not skip_invalid:
            problems.raise_if_any(f"{len(problems.rows())} row(s)")
        bad_rows = problems.rows()
        excluded = [f"excluded: {m}" for m in problems.messages()]
        table = table.drop(index=[r - 1 for r in bad_rows])
        if table.empty:
            raise problems.error(f"{label}: every row is invalid")
        if wide is not None:
            wide = wide[~wide["row"].isin(bad_rows)]
    table = _coerce(table)
    notes = missing_factor_notes(table) + outcome_notes(table)
    parts = [] if wide is None or wide.empty else [wide]
    split_label, names = label, {}
    if splits is not None:
        split_label, split_part, names, split_digest = _read_splits(splits, column_map)
        parts.append(split_part)
        digest = hashlib.sha256((digest + split_digest).encode()).hexdigest()
    split_table = None
    if parts:
        split_table, split_notes = load_splits(split_label, pd.concat(parts, ignore_index=True),
                                               table, extra, names)
        notes += split_notes
    if columns is not None:  # the same file read through another map is other data
        digest = hashlib.sha256((digest + column_map.sha256).encode()).hexdigest()
    notes += pace_notes(table, split_table)
    return RaceRecords(table.reset_index(drop=True), split_table, label, digest, excluded, notes,
                       column_map.describe(splits is not None) if columns is not None else [])


def _read_splits(source: Source, column_map: ColumnMap
                 ) -> tuple[str, pd.DataFrame, dict[str, str], str]:
    """A splits file or DataFrame through the map, wide columns made long: (label, long rows
    as text, our column -> name shown, sha256)."""
    label, raw, digest = _read_source(source, "splits")
    mapped = column_map.apply(raw, label, "splits")
    unread = Problems(label)
    mapped.report(unread)
    unread.raise_if_any("the splits")
    table = mapped.table
    if wide_columns(table):
        long_given = [c for c in ("km", "elapsed_s") if c in table.columns]
        ids_missing = [c for c in ("runner_id", "race_id") if c not in table.columns]
        if long_given or ids_missing:
            raise InputError(f"{label}: wide split columns ({', '.join(wide_columns(table))}) "
                             + (f"next to long ones ({', '.join(long_given)}): use one format"
                                if long_given else f"need {', '.join(ids_missing)}"))
        table = wide_to_long(label, table, column_map.missing)[1]
    else:  # numbered in its own file: it may follow wide splits from the records
        table = table.assign(row=np.arange(1, len(table) + 1))
    check_split_columns(label, table)
    return label, table, mapped.names, digest


def _read_source(source: Source, what: str) -> tuple[str, pd.DataFrame, str]:
    """(label for messages, the table as text, sha256 of the content)."""
    if isinstance(source, pd.DataFrame):
        label = f"<{what} DataFrame>"
        table = as_text(source.reset_index(drop=True), label)
        digest = hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()
        return label, table, digest
    path = Path(source)
    return str(path), read_table(path), file_sha256([path])


def _check_columns(path: str, table: pd.DataFrame, required: tuple[str, ...], what: str
                   ) -> None:
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(f"{path}: missing required column(s) {', '.join(missing)} for {what} "
                         f"(found: {', '.join(map(str, table.columns[:12]))})")


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.str.strip(), errors="coerce")


def _check_rows(problems: Problems, table: pd.DataFrame, mapped: MappedTable) -> None:
    """Each cell's own rules (given, a number, a finite one, in range), then the rules between
    the cells of a row and between rows (`_check_consistency`), into `problems`."""
    rows = np.arange(1, len(table) + 1)

    def report(mask, column: str, rule: str, values=None) -> None:
        problems.add_cells(rows[np.asarray(mask, dtype=bool)], mapped.names.get(column, column),
                           rule, values)

    for column in ("runner_id", "race_id"):
        report(table[column].str.strip() == "", column, "must not be empty")
    numeric: dict[str, pd.Series] = {}
    for column in _numeric_columns():
        if column not in table.columns:
            continue
        text = table[column].str.strip()
        values = _numeric(text)
        blank = text == ""
        if column in MUST_HAVE:  # a cell that did not read in the map's unit is reported there
            unread = mapped.unread.get(column, np.zeros(len(table), bool))
            report(blank & ~unread, column, "required value is missing")
        finite = np.isfinite(values.to_numpy(float))
        # 'nan', 'inf' and 1e999 parse as numbers and pass every range test: refused by name
        non_finite = text.str.lower().isin(_NON_FINITE) | (values.notna() & ~finite)
        not_number = ~blank & values.isna() & ~non_finite
        if column.endswith("_s"):
            ambiguous = text.str.fullmatch(_AMBIGUOUS_CLOCK)
            report(not_number & ambiguous, column, "mm:ss or h:mm is ambiguous (a time of 3:30 "
                   "may be 3 h 30 min or 3 min 30 s): write h:mm:ss or seconds", table[column])
            report(not_number & ~ambiguous, column, f"must be {DURATION_RULE}", table[column])
        else:
            report(not_number, column, "must be a number", table[column])
        report(non_finite, column, "must be a finite number (not NaN or infinity)",
               table[column])
        values = values.where(finite)
        numeric[column] = values
    for column, test, rule in _RANGE_RULES:
        if column in numeric:
            values = numeric[column]
            with np.errstate(invalid="ignore"):
                bad = values.notna() & ~test(values.to_numpy())
            report(bad, column, rule, table[column])
    with np.errstate(all="ignore"):  # rows with zeros or blanks are reported above
        _check_consistency(problems, table, numeric, rows, mapped.names)


def _check_consistency(
    problems: Problems, table: pd.DataFrame, numeric: dict[str, pd.Series], rows: np.ndarray,
    names: dict[str, str],
) -> None:
    def report(mask, column: str, rule: str) -> None:
        problems.add_cells(rows[np.asarray(mask.fillna(False), dtype=bool)],
                           names.get(column, column), rule)

    distance = numeric["distance_km"]
    reached = distance
    if "dnf_km" in numeric:
        dnf = numeric["dnf_km"]
        report(dnf > distance, "dnf_km", "must not exceed distance_km")
        reached = dnf.where(dnf.notna(), distance)
    if "cramp_km" in numeric:
        cramp_km = numeric["cramp_km"]
        report(
            cramp_km > reached,
            "cramp_km",
            "onset beyond the distance reached (distance_km, or dnf_km for a DNF)",
        )
        report(
            cramp_km.notna() & (numeric["cramped"] == 0),
            "cramp_km",
            "given for a row with cramped = 0",
        )
    if "cramp_after_finish" in numeric:
        report((numeric["cramp_after_finish"] == 1) & (numeric["cramped"] == 1),
               "cramp_after_finish", "1 (a cramp only after the finish) but cramped = 1 (a "
               "cramp during the race): a cramp during the race is cramped = 1 with "
               "cramp_after_finish = 0 or empty")
    # A runner's ability implies a finishing time; more than 3x off is a data error, not pacing.
    predicted = predicted_time_s(numeric["ref_time_s"], numeric["ref_distance_km"], reached)
    ratio = predicted / numeric["race_time_s"]
    report(
        (ratio < 1 / 3) | (ratio > 3),
        "race_time_s",
        "implausible against the ability from ref_time_s/ref_distance_km (more than 3x off)",
    )
    pace_min_per_km = numeric["race_time_s"] / 60 / reached
    report(pace_min_per_km < 2.5, "race_time_s", "faster than 2:30 min/km over the race")
    # faster than the world record over the distance is a data error, named with the bound
    for time, km, name in (("race_time_s", reached, "the distance reached"),
                           ("ref_time_s", numeric["ref_distance_km"], "ref_distance_km")):
        with np.errstate(invalid="ignore", divide="ignore"):
            record_s = pd.Series(world_record_time_s(km.to_numpy(float)), index=km.index)
        faster = (numeric[time] < record_s) & np.isfinite(record_s)  # km over 1000: reported
        for row in rows[faster.fillna(False).to_numpy()]:
            problems.add_cells([row], names.get(time, time), f"faster than the world record for "
                               f"{name} ({km.iloc[row - 1]:g} km in about "
                               f"{clock_text(record_s.iloc[row - 1])})")
    has_heat = [c for c in ("wbgt_c", "temp_c", "rh_pct") if c in numeric]
    if "wbgt_c" not in numeric and has_heat:
        for column in ("temp_c", "rh_pct"):
            if column not in numeric:
                problems.add(f"column {column}", f"needed with {has_heat[0]} to compute WBGT (or "
                             "give wbgt_c)", row=1)
            else:
                report(numeric[column].isna(), column, "missing (needed to compute WBGT)")
    elif "wbgt_c" in numeric:
        wbgt_missing = numeric["wbgt_c"].isna()
        if "temp_c" in numeric and "rh_pct" in numeric:
            wbgt_missing &= numeric["temp_c"].isna() | numeric["rh_pct"].isna()
        report(wbgt_missing, "wbgt_c", "missing (and no temp_c + rh_pct to compute it)")
    for column in _factor_columns(missing_allowed=False):
        if column in numeric:
            report(
                numeric[column].isna(),
                column,
                "missing value (give it for every row, or leave the column out)",
            )
    keys = table["runner_id"].str.strip() + "\x00" + table["race_id"].str.strip()
    report(
        pd.Series(keys.duplicated(keep="first").to_numpy()),
        "runner_id",
        "duplicate runner_id + race_id (each runner-race once)",
    )
    per_race = distance.groupby(table["race_id"].str.strip()).transform("nunique")
    report(per_race > 1, "distance_km", "differs between rows of the same race_id")


def _coerce(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    out["runner_id"] = out["runner_id"].str.strip()
    out["race_id"] = out["race_id"].str.strip()
    for column in _numeric_columns():
        if column in out.columns:
            out[column] = _numeric(out[column])
    for column in MAY_BE_MISSING:  # one shape for the features: NaN where not given
        if column not in out.columns:
            out[column] = np.nan
    out["cramped"] = out["cramped"].astype(int)
    return out


def _numeric_columns() -> tuple[str, ...]:
    """design.md's numeric columns and any other a registered factor is computed from."""
    return (*NUMERIC_COLUMNS, *(c for c in _factor_columns() if c not in NUMERIC_COLUMNS))


def _factor_columns(missing_allowed: bool | None = None) -> tuple[str, ...]:
    """The record columns the hazard's record factors are computed from (model/hazard/
    specification.py), numeric like design.md's; `missing_allowed` False: those whose blank
    value is an error (the feature would be unknown and the model does not integrate it)."""
    return tuple(f.column for f in REGISTRY.factors if f.level == "record" and f.column
                 and (missing_allowed is None or f.missing_allowed == missing_allowed))
