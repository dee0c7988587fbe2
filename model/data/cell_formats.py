"""How a cell of a researcher's table is read, defined once for race records and splits.

- **Missing**: a cell is missing when, trimmed and compared without case, it is one of
  `MISSING_MARKERS`: empty, `NA` (R), `N/A`, `#N/A` (Excel), `NULL`, `None`, `.` (Stata, SAS),
  `-` or `--`. A column map may add more (e.g. `-99`). `nan` and `inf` are *not* missing: they are
  numbers to pandas and are refused by name, so that an export bug never passes as "not measured".
- **Durations** in time columns (names ending `_s`, and wide split columns): a number of seconds,
  or `h:mm:ss` with optional decimals on the seconds (`3:59:59.4`, `27:41:00` for a 24 h race).
  `mm:ss` and `h:mm` are refused: `3:30` is 3 h 30 min as a marathon time but 3 min 30 s as a
  pace, and which one a researcher meant cannot be read from the cell.
- **Yes/no** in the 0/1 columns (`FLAG_COLUMNS`): `1`/`0`, or `yes`/`no`, `true`/`false`, `y`/`n`
  in any case.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

MISSING_MARKERS = ("", "NA", "N/A", "#N/A", "NULL", "None", ".", "-", "--")  # any case
FLAG_COLUMNS = ("cramped", "cramp_history", "cramp_after_finish")
YES_NO = {"yes": "1", "no": "0", "true": "1", "false": "0", "y": "1", "n": "0"}
# hours unbounded (ultras), minutes and seconds below 60; ASCII digits only ('²' is not a 2)
DURATION = re.compile(r"([0-9]+):([0-5][0-9]):([0-5][0-9](?:\.[0-9]+)?)")
DURATION_RULE = "a number of seconds or h:mm:ss"
# a wide split column: the elapsed time at a timing mat, `split_28km` or `split_21.0975km_s`
WIDE_SPLIT = re.compile(r"split_([0-9]+(?:\.[0-9]+)?)km(?:_s)?")


def wide_split_km(column: str) -> float | None:
    """The km of a wide split column's timing mat; None if `column` is not one."""
    match = WIDE_SPLIT.fullmatch(column)
    return float(match[1]) if match else None


def is_time_column(column: str) -> bool:
    """Columns holding a duration in seconds (units live in names: `_s`), wide splits too."""
    return column.endswith("_s") or wide_split_km(column) is not None


def missing_mask(text: pd.Series, extra: tuple[str, ...] = ()) -> pd.Series:
    """Whether each cell is missing: a common marker, or one of `extra` (text, compared without
    case; a number among them also matches the same number written differently, -99.0)."""
    cell = text.astype(str).str.strip()
    lowered = cell.str.lower()
    missing = lowered.isin([m.strip().lower() for m in MISSING_MARKERS + tuple(extra)])
    numbers = [float(m) for m in extra if _is_number(m)]
    if numbers:
        import pandas as pd  # here: a scenario file reads durations (`duration_s`) without it

        missing |= pd.to_numeric(cell, errors="coerce").isin(numbers)
    return missing


def blank_missing(table: pd.DataFrame, columns, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """`table` with the missing cells of `columns` (those present) made empty, so that every
    later rule sees one kind of missing."""
    out = table.copy()
    for column in columns:
        if column in out.columns:
            out[column] = out[column].where(~missing_mask(out[column], extra), "")
    return out


def read_formats(table: pd.DataFrame, columns) -> pd.DataFrame:
    """`table` with `h:mm:ss` in time columns written as seconds and yes/no in the 0/1 columns
    written as 1/0; other cells as they were (the number rules then judge them)."""
    out = table.copy()
    for column in columns:
        if column not in out.columns:
            continue
        if is_time_column(column):
            seconds = duration_seconds(out[column])
            out[column] = out[column].where(seconds.isna(), seconds.astype(str))
        elif column in FLAG_COLUMNS:
            flag = out[column].str.strip().str.lower().map(YES_NO)
            out[column] = out[column].where(flag.isna(), flag)
    return out


def duration_seconds(text: pd.Series) -> pd.Series:
    """`h:mm:ss` cells as seconds (float); NaN where a cell is not such a duration."""
    import pandas as pd

    parts = text.astype(str).str.strip().str.extract(f"^{DURATION.pattern}$")
    hours, minutes, seconds = (pd.to_numeric(parts[i]) for i in range(3))
    return hours * 3600.0 + minutes * 60.0 + seconds


def duration_s(text: object) -> float | None:
    """One `h:mm:ss` text as seconds (> 0); None if it is not such a duration."""
    match = DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    total = int(match[1]) * 3600.0 + int(match[2]) * 60.0 + float(match[3])
    return total if total > 0 else None


def _is_number(text: str) -> bool:
    try:
        return bool(np.isfinite(float(text)))
    except ValueError:
        return False
