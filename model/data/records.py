"""Load race records (CSV or Parquet) and check them against the column rules of design.md.

Every problem is collected, each naming the file, row, column and rule, so a researcher fixes a
file in one pass. Rows are numbered from 1 for the first data row (the CSV header is line 1, so
row N is line N + 1). Unknown columns are kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from model.data.splits import load_splits
from model.data.table_text import as_text, read_table
from model.errors import InputError
from model.hazard.physiology import clock_text, predicted_time_s, world_record_time_s

REQUIRED = (
    "runner_id",
    "race_id",
    "distance_km",
    "race_time_s",
    "ref_distance_km",
    "ref_time_s",
    "longest_run_km",
    "cramped",
)
OPTIONAL_NUMERIC = (
    "cramp_km",
    "dnf_km",
    "ck_pre_u_per_l",
    "taper_days",
    "wbgt_c",
    "temp_c",
    "rh_pct",
    "start_hour",
    "cramp_history",
    "age",
)

# text spellings of NaN and infinity that pandas reads as numbers
_NON_FINITE = ("nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity",
               "-infinity")

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


def file_sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


Source = str | Path | pd.DataFrame


def load_records(
    source: Source, splits: Source | None = None, skip_invalid: bool = False
) -> RaceRecords:
    """Read and validate race records from a CSV or Parquet file or a pandas DataFrame (and
    optional per-km splits, likewise). A DataFrame goes through the same rules and messages as a
    file; its rows are numbered from 1 as in a file. Raises InputError listing every problem,
    unless `skip_invalid`, which excludes the offending rows and lists each exclusion with its
    reason."""
    label, table, digest = _read_source(source, "race records")
    problems = _check_columns(label, table, REQUIRED, "race records")
    if problems:
        raise InputError(problems[0], problems)
    row_problems = _check_rows(label, table)
    excluded: list[str] = []
    if row_problems:
        if not skip_invalid:
            raise InputError(_summary(label, row_problems), [m for _, m in row_problems])
        bad_rows = sorted({row for row, _ in row_problems})
        excluded = [f"excluded: {m}" for _, m in row_problems]
        table = table.drop(index=[r - 1 for r in bad_rows])
        if table.empty:
            raise InputError(f"{label}: every row is invalid", [m for _, m in row_problems])
    table = _coerce(table)
    notes = _missing_factor_notes(table)
    split_table = None
    if splits is not None:
        split_label, raw_splits, split_digest = _read_source(splits, "splits")
        split_table = load_splits(split_label, raw_splits, table)
        digest = hashlib.sha256((digest + split_digest).encode()).hexdigest()
    notes += _pace_from_finish_time_notes(table, split_table)
    return RaceRecords(table.reset_index(drop=True), split_table, label, digest, excluded, notes)


def _pace_from_finish_time_notes(table: pd.DataFrame, splits: pd.DataFrame | None) -> list[str]:
    """Cramped runners without splits: their pace before the cramp is read from the finish
    time, which includes the slowdown after it, so they look slower than they ran and the pace
    effect is pulled towards zero or below (in a cohort drawn with a 15% slowdown after a cramp,
    tests/design_cohorts.py, relative_pace came out -0.75 for a true +0.7)."""
    cramped = table["cramped"].to_numpy(float) == 1
    if splits is not None and not splits.empty:
        keys = pd.MultiIndex.from_frame(splits[["runner_id", "race_id"]].astype(str))
        has = pd.MultiIndex.from_frame(table[["runner_id", "race_id"]].astype(str)).isin(keys)
        cramped &= ~np.asarray(has)
    n = int(cramped.sum())
    if n == 0:
        return []
    return [f"{n} runner-race(s) with a cramp have no splits: their pace is read from the finish "
            "time, which includes the slowdown after the cramp, so the relative_pace effect is "
            "biased towards zero or below; splits (per-km elapsed times) avoid this"]


def _read_source(source: Source, what: str) -> tuple[str, pd.DataFrame, str]:
    """(label for messages, the table as text, sha256 of the content)."""
    if isinstance(source, pd.DataFrame):
        label = f"<{what} DataFrame>"
        table = as_text(source.reset_index(drop=True), label)
        digest = hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()
        return label, table, digest
    path = Path(source)
    return str(path), read_table(path), file_sha256([path])


def _summary(label: str, problems: list[tuple[int, str]]) -> str:
    rows = len({r for r, _ in problems})
    return f"{label}: {len(problems)} problem(s) in {rows} row(s)"


def _check_columns(
    path: str, table: pd.DataFrame, required: tuple[str, ...], what: str
) -> list[str]:
    missing = [c for c in required if c not in table.columns]
    if not missing:
        return []
    return [
        f"{path}: missing required column(s) {', '.join(missing)} for {what} "
        f"(found: {', '.join(map(str, table.columns[:12]))})"
    ]


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.str.strip(), errors="coerce")


def _check_rows(path: str, table: pd.DataFrame) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    rows = np.arange(1, len(table) + 1)

    def report(mask, column: str, rule: str, values=None) -> None:
        for row in rows[np.asarray(mask, dtype=bool)]:
            shown = "" if values is None else f" (got '{values.iloc[row - 1]}')"
            problems.append((int(row), f"{path}: row {row}, column {column}: {rule}{shown}"))

    for column in ("runner_id", "race_id"):
        report(table[column].str.strip() == "", column, "must not be empty")
    numeric: dict[str, pd.Series] = {}
    for column in REQUIRED[2:] + OPTIONAL_NUMERIC:
        if column not in table.columns:
            continue
        text = table[column].str.strip()
        values = _numeric(text)
        blank = text == ""
        if column in REQUIRED:
            report(blank, column, "required value is missing")
        finite = np.isfinite(values.to_numpy(float))
        # 'nan', 'inf' and 1e999 parse as numbers and pass every range test: refused by name
        non_finite = text.str.lower().isin(_NON_FINITE) | (values.notna() & ~finite)
        report(~blank & values.isna() & ~non_finite, column, "must be a number", table[column])
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
        problems += _check_consistency(path, table, numeric, rows)
    return sorted(problems, key=lambda p: p[0])


def _check_consistency(
    path: str, table: pd.DataFrame, numeric: dict[str, pd.Series], rows: np.ndarray
) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []

    def report(mask, column: str, rule: str) -> None:
        for row in rows[np.asarray(mask.fillna(False), dtype=bool)]:
            problems.append((int(row), f"{path}: row {row}, column {column}: {rule}"))

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
            problems.append((int(row), f"{path}: row {row}, column {time}: faster than the "
                             f"world record for {name} ({km.iloc[row - 1]:g} km in about "
                             f"{clock_text(record_s.iloc[row - 1])})"))
    has_heat = [c for c in ("wbgt_c", "temp_c", "rh_pct") if c in numeric]
    if "wbgt_c" not in numeric and has_heat:
        for column in ("temp_c", "rh_pct"):
            if column not in numeric:
                problems.append(
                    (
                        1,
                        f"{path}: column {column}: needed with "
                        f"{has_heat[0]} to compute WBGT (or give wbgt_c)",
                    )
                )
            else:
                report(numeric[column].isna(), column, "missing (needed to compute WBGT)")
    elif "wbgt_c" in numeric:
        wbgt_missing = numeric["wbgt_c"].isna()
        if "temp_c" in numeric and "rh_pct" in numeric:
            wbgt_missing &= numeric["temp_c"].isna() | numeric["rh_pct"].isna()
        report(wbgt_missing, "wbgt_c", "missing (and no temp_c + rh_pct to compute it)")
    for column in ("taper_days", "cramp_history"):
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
    return problems


def _coerce(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    out["runner_id"] = out["runner_id"].str.strip()
    out["race_id"] = out["race_id"].str.strip()
    for column in REQUIRED[2:] + OPTIONAL_NUMERIC:
        if column in out.columns:
            out[column] = _numeric(out[column])
    out["cramped"] = out["cramped"].astype(int)
    return out


def _missing_factor_notes(table: pd.DataFrame) -> list[str]:
    notes = []
    if {"wbgt_c", "temp_c", "rh_pct"} <= set(table.columns):
        both = int((table["wbgt_c"].notna() & table["temp_c"].notna()
                    & table["rh_pct"].notna()).sum())
        if both:
            notes.append(f"{both} row(s) give both wbgt_c and temp_c + rh_pct: wbgt_c (measured)"
                         " is used; temp_c + rh_pct only where wbgt_c is missing")
    if not {"wbgt_c", "temp_c"} & set(table.columns):
        notes.append(
            "no weather columns (wbgt_c or temp_c + rh_pct): heat set to the reference "
            "15 degC WBGT; its coefficient stays at its prior"
        )
    if "taper_days" not in table.columns:
        notes.append(
            "no taper_days column: taper set to the reference 7 days; its coefficient "
            "stays at its prior"
        )
    if "cramp_history" not in table.columns:
        notes.append("no cramp_history column: every runner treated as without history")
    if "ck_pre_u_per_l" not in table.columns:
        notes.append("no ck_pre_u_per_l column: pre-race damage is latent for every runner")
    return notes
