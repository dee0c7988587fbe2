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

from model.errors import InputError
from model.hazard.physiology import predicted_time_s

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
SPLIT_COLUMNS = ("runner_id", "race_id", "km", "elapsed_s")
MAX_PROBLEMS_SHOWN = 50

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
        split_table = _load_splits(split_label, raw_splits, table)
        digest = hashlib.sha256((digest + split_digest).encode()).hexdigest()
    return RaceRecords(table.reset_index(drop=True), split_table, label, digest, excluded, notes)


def _read_source(source: Source, what: str) -> tuple[str, pd.DataFrame, str]:
    """(label for messages, the table as text, sha256 of the content)."""
    if isinstance(source, pd.DataFrame):
        label = f"<{what} DataFrame>"
        table = _as_text(source.reset_index(drop=True), label)
        digest = hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()
        return label, table, digest
    path = Path(source)
    return str(path), _read_table(path), file_sha256([path])


def _summary(label: str, problems: list[tuple[int, str]]) -> str:
    rows = len({r for r, _ in problems})
    return f"{label}: {len(problems)} problem(s) in {rows} row(s)"


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            table = pd.read_parquet(path)
        elif suffix in (".csv", ".txt"):
            table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        else:
            raise InputError(f"{path}: unknown file type '{suffix}' (use .csv or .parquet)")
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: file is empty") from None
    except Exception as exc:  # any parser failure is the file's fault, not ours
        raise InputError(f"{path}: cannot be read as {suffix[1:]} ({exc})") from None
    table = _as_text(table, str(path))
    if len(table.columns) == 1:
        header = table.columns[0]
        for delim, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if delim in header:
                raise InputError(
                    f"{path}: header looks {name}-delimited ('{header[:40]}...'); "
                    "the file must be comma-separated"
                )
    return table


def _as_text(table: pd.DataFrame, label: str) -> pd.DataFrame:
    """Every cell as the text a CSV file would hold, so that one set of rules reads CSV, Parquet
    and DataFrames alike: a missing value (NaN, None) becomes an empty cell, a boolean 0/1."""
    if table.empty:
        raise InputError(f"{label}: has a header but no data rows")
    columns = {}
    for name in table.columns:
        column = table[name]
        if pd.api.types.is_bool_dtype(column):
            column = column.astype(int)
        text = column.astype(object).where(column.notna(), "").astype(str)
        columns[str(name).strip()] = text.replace({"nan": "", "None": ""})
    return pd.DataFrame(columns, index=table.index)


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
        report(~blank & values.isna(), column, "must be a number", table[column])
        numeric[column] = values
    for column, test, rule in _RANGE_RULES:
        if column in numeric:
            values = numeric[column]
            with np.errstate(invalid="ignore"):
                bad = values.notna() & ~test(values.to_numpy())
            report(bad, column, rule, table[column])
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


def _load_splits(path: str, splits: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    problems = _check_columns(path, splits, SPLIT_COLUMNS, "per-km splits")
    if problems:
        raise InputError(problems[0], problems)
    found: list[str] = []
    km = _numeric(splits["km"])
    elapsed = _numeric(splits["elapsed_s"])
    for i in np.flatnonzero(km.isna().to_numpy() | (km <= 0).to_numpy()):
        found.append(f"{path}: row {i + 1}, column km: must be a number > 0")
    for i in np.flatnonzero(elapsed.isna().to_numpy() | (elapsed <= 0).to_numpy()):
        found.append(f"{path}: row {i + 1}, column elapsed_s: must be a number > 0")
    splits = splits.assign(
        runner_id=splits["runner_id"].str.strip(),
        race_id=splits["race_id"].str.strip(),
        km=km,
        elapsed_s=elapsed,
    )
    known = set(zip(table["runner_id"], table["race_id"], strict=True))
    for i, key in enumerate(zip(splits["runner_id"], splits["race_id"], strict=True)):
        if key not in known:
            found.append(
                f"{path}: row {i + 1}, column runner_id: no race record for "
                f"runner {key[0]} in race {key[1]}"
            )
    if not found:
        order = splits.sort_values(["runner_id", "race_id", "km"])
        keys = order[["runner_id", "race_id"]]
        same = keys.eq(keys.shift()).all(axis=1)
        not_increasing = same & (order["elapsed_s"].diff() <= 0)
        for i in order.index[not_increasing.to_numpy()]:
            found.append(f"{path}: row {i + 1}, column elapsed_s: must increase with km")
    if found:
        raise InputError(f"{path}: {len(found)} problem(s) in the splits", found)
    return splits
