"""Tables read as the text a CSV file holds, one set of rules for CSV, Parquet and DataFrames.

CSV is read here rather than by pandas, because pandas re-reads a malformed file silently: a
data row with one field more than the header turns the first column into the index (every
value then sits under the wrong name), and duplicate names become `name.1`. Here a row with
the wrong number of fields and a name given twice (also after trimming spaces) are errors
naming the row and the counts.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from model.errors import InputError, Problems

MAX_PROBLEMS_SHOWN = 50


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as text cells (a missing value is an empty cell)."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            table = pd.read_parquet(path)
        except Exception as exc:  # any parser failure is the file's fault, not ours
            raise InputError(f"{path}: cannot be read as parquet ({exc})") from None
        return as_text(table, str(path))
    if suffix in (".csv", ".txt"):
        return as_text(read_csv_text(path), str(path))
    raise InputError(f"{path}: unknown file type '{suffix}' (use .csv or .parquet)")


def read_csv_text(path: Path) -> pd.DataFrame:
    """A comma-separated file as a DataFrame of strings; blank lines are skipped (so row N is
    the N-th data row, as pandas counts them)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8 CSV"
                         ) from None
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
                if row]
    except csv.Error as exc:
        raise InputError(f"{path}: cannot be read as csv ({exc})") from None
    if not rows:
        raise InputError(f"{path}: file is empty")
    header = rows[0]
    if len(header) == 1:
        for delim, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if delim in header[0]:
                raise InputError(f"{path}: header looks {name}-delimited ('{header[0][:40]}...'); "
                                 "the file must be comma-separated")
    problems = Problems(str(path))
    for i, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            problems.add(f"row {i}", f"has {len(row)} fields, the header {len(header)}", row=i)
    if problems:
        raise problems.error(f"{path}: {len(problems)} row(s) with a different number of fields "
                             "than the header (a stray comma, or an unquoted comma in a value)",
                             limit=MAX_PROBLEMS_SHOWN)
    return pd.DataFrame(rows[1:], columns=header, dtype=object)


def as_text(table: pd.DataFrame, label: str) -> pd.DataFrame:
    """Every cell as the text a CSV file would hold: a missing value (NaN, None) becomes an
    empty cell, a boolean 0/1. Column names are trimmed; two names equal after trimming are an
    error (which one to read would be a guess)."""
    if table.empty:
        raise InputError(f"{label}: has a header but no data rows")
    names = [str(name).strip() for name in table.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"{label}: column(s) {', '.join(repr(n) for n in repeated)} given "
                         "more than once in the header (names are compared without spaces)")
    columns = {}
    for position, name in enumerate(names):
        column = table.iloc[:, position]
        if pd.api.types.is_bool_dtype(column):
            column = column.astype(int)
        text = column.astype(object).where(column.notna(), "").astype(str)
        columns[name] = text.replace({"nan": "", "None": "", "<NA>": ""})
    return pd.DataFrame(columns, index=table.index)
