"""A study's own column names, units and codes mapped onto ours (docs/study_data.md).

A column map is a TOML file (or the same structure as a dict) with up to three keys:

    missing = ["-99", "not measured"]          # markers read as missing, besides the common set

    [records]                                   # their column = our column
    "Subject" = "runner_id"
    "Finish time (h:mm:ss)" = { column = "race_time_s", unit = "h:mm:ss" }
    "EAMC (yes/no)" = { column = "cramped", values = { yes = 1, no = 0 } }
    "Time at 28 km" = { column = "split_28km", unit = "h:mm:ss" }   # a wide split (timing mat)

    [splits]                                    # the same, for a splits file
    "Mark (mi)" = { column = "km", unit = "miles" }

Units: time columns (names ending `_s`, wide splits) take seconds, minutes, hours or h:mm:ss;
distance columns (names ending `_km`, and a split's `km`) take km, miles or m. A value map is
matched on the trimmed cell without case; cells it does not name pass unchanged (the column's
rules then judge them). The map is checked like any input: each problem an InputError naming the
map and the key.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from model.data.cell_formats import (
    MISSING_MARKERS,
    duration_seconds,
    is_time_column,
    missing_mask,
    wide_split_km,
)
from model.data.columns import RECORD_COLUMNS
from model.data.splits import SPLIT_COLUMNS
from model.errors import InputError, Problems

# unit -> factor to our unit (None: a clock text read by duration_seconds)
TIME_UNITS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "h:mm:ss": None}
DISTANCE_UNITS = {"km": 1.0, "miles": 1.609344, "m": 0.001}
SECTIONS = {"records": RECORD_COLUMNS, "splits": SPLIT_COLUMNS}
_ENTRY_KEYS = ("column", "unit", "values")

ColumnMapSource = str | Path | dict


@dataclass(frozen=True)
class Mapping:
    """One of their columns read as one of ours."""

    source: str
    target: str
    unit: str | None = None
    values: dict[str, str] = field(default_factory=dict)  # their cell (lower case) -> ours

    def describe(self) -> str:
        """'their name' -> ours, with the conversion, as `cramp check` prints it."""
        how = []
        if self.unit is not None:
            ours = "seconds" if self.unit in TIME_UNITS else "km"
            factor = {**TIME_UNITS, **DISTANCE_UNITS}[self.unit]
            how.append(f"{self.unit} -> {ours}" + ("" if factor in (None, 1.0)
                                                     else f", x {factor!r}"))
        if self.values:
            how.append("values " + ", ".join(f"{k} -> {v if v != '' else 'missing'}"
                                             for k, v in self.values.items()))
        return f"'{self.source}' -> {self.target}" + (f" ({'; '.join(how)})" if how else "")


@dataclass(frozen=True)
class MappedTable:
    """A table read through a column map: text cells under our names and units; `names`: our
    name -> 'ours (their name)' for messages; `unread`: per converted column, the cells that did
    not read in the map's unit, and `rules`: the rule they broke."""

    table: pd.DataFrame
    names: dict[str, str] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)
    unread: dict[str, np.ndarray] = field(default_factory=dict)

    def report(self, problems: Problems) -> None:
        """Add each cell that did not read in its unit to `problems` (rows from 1)."""
        for column, mask in self.unread.items():
            problems.add_cells(np.flatnonzero(mask) + 1, self.names[column], self.rules[column],
                               self.table[column])

    def without_unread(self) -> pd.DataFrame:
        """The table with unread cells emptied (they are reported by `report`)."""
        out = self.table.copy()
        for column, mask in self.unread.items():
            out[column] = out[column].where(~mask, "")
        return out


@dataclass(frozen=True)
class ColumnMap:
    """A validated column map: per section (records, splits) their columns read as ours, and
    the extra missing markers."""

    label: str
    records: tuple[Mapping, ...] = ()
    splits: tuple[Mapping, ...] = ()
    missing: tuple[str, ...] = ()
    sha256: str = ""  # of the map's content, for the data's provenance

    def describe(self, splits_given: bool) -> list[str]:
        """One line per mapped column, then the missing markers in force."""
        lines = [f"records: {m.describe()}" for m in self.records]
        if self.splits and not splits_given:
            lines.append(f"splits: [splits] of {self.label} not applied (no splits file given)")
        elif splits_given:
            lines += [f"splits: {m.describe()}" for m in self.splits]
        common = ", ".join(m if m else "empty" for m in MISSING_MARKERS)
        extra = f"; from the map: {', '.join(self.missing)}" if self.missing else ""
        lines.append(f"missing: {common} (any case){extra}")
        return lines

    def apply(self, table: pd.DataFrame, file_label: str, section: str
              ) -> MappedTable:
        """`table` (text cells) with their columns renamed to ours, coded values and missing
        markers read, and cells converted to our units (a cell that does not read in its unit
        stays as written and is flagged in `unread`, never read as a number in ours).
        InputError if a source column is absent or ours is there already."""
        mappings = self.records if section == "records" else self.splits
        columns = set(table.columns)
        problems = Problems(self.label)
        for m in mappings:
            key = f"{section}.{_quoted(m.source)}"
            if m.source not in columns:
                problems.add(key, f"no column '{m.source}' in {file_label} (found: "
                             f"{', '.join(map(str, table.columns[:12]))})")
            elif m.target in columns and m.target != m.source:
                problems.add(key, f"{file_label} has a column {m.target} already (one source "
                             "per column: drop one)")
        problems.raise_if_any("the column map", single=True)
        out = table.rename(columns={m.source: m.target for m in mappings})
        names = {m.target: f"{m.target} (their '{m.source}')" for m in mappings}
        rules = {m.target: "must be h:mm:ss" if m.unit == "h:mm:ss"
                 else f"must be a number of {m.unit}" for m in mappings if m.unit is not None}
        unread = {}
        for m in mappings:
            text = out[m.target]
            if m.values:
                coded = text.str.strip().str.lower().map(m.values)
                text = text.where(coded.isna(), coded)
            text = text.where(~missing_mask(text, self.missing), "")
            if m.unit is not None:
                text, unread[m.target] = _convert(text, m.unit)
            out[m.target] = text
        return MappedTable(out, names, rules, unread)


def load_column_map(source: ColumnMapSource) -> ColumnMap:
    """A column map from a TOML file or a dict of the same shape; InputError listing every
    problem, each naming the map and the key."""
    if isinstance(source, dict):
        label, doc = "<column map dict>", source
        content = json.dumps(source, sort_keys=True, default=str).encode()
    else:
        path = Path(source)
        label = str(path)
        if not path.is_file():
            raise InputError(f"{path}: column map file not found")
        content = path.read_bytes()
        try:
            doc = tomllib.loads(content.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot be read as TOML ({exc})") from None
    problems = Problems(label)
    for key in doc:
        if key not in (*SECTIONS, "missing"):
            problems.add(key, "unknown key (use records, splits, missing)")
    missing = doc.get("missing", [])
    if not isinstance(missing, list) or not all(
            isinstance(m, str | int | float) and not isinstance(m, bool) for m in missing):
        problems.add("missing", "must be a list of texts or numbers", missing)
        missing = []
    sections = {name: _section(name, doc.get(name, {}), problems) for name in SECTIONS}
    problems.raise_if_any("the column map", single=True)
    return ColumnMap(label, sections["records"], sections["splits"],
                     tuple(str(m) for m in missing), hashlib.sha256(content).hexdigest())


def _section(name: str, entries: object, problems: Problems) -> tuple[Mapping, ...]:
    if not isinstance(entries, dict):
        problems.add(name, "must be a table of their column = our column")
        return ()
    mappings, claimed = [], {}
    for source, entry in entries.items():
        key = f"{name}.{_quoted(source)}"
        if isinstance(entry, str):
            entry = {"column": entry}
        if not isinstance(entry, dict):
            problems.add(key, "must be our column's name or a table { column = ..., unit = ..., "
                         "values = { ... } }", entry)
            continue
        unknown = [k for k in entry if k not in _ENTRY_KEYS]
        if unknown:
            problems.add(key, f"unknown key(s) {', '.join(unknown)} (use column, unit, values)")
        target = entry.get("column")
        if not _known(name, target):
            problems.add(key, f"unknown target column {target!r} (ours for {name}: "
                         f"{', '.join(SECTIONS[name])}, or split_<km>km)")
            continue
        if target in claimed:
            problems.add(key, f"two sources for {target} ({_quoted(claimed[target])} and "
                         f"{_quoted(source)})")
            continue
        claimed[target] = source
        unit = entry.get("unit")
        if unit is not None and unit not in _units_for(name, target):
            fits = _units_for(name, target)
            problems.add(key, f"unit {unit!r} does not fit {target} (" + (
                f"use {', '.join(fits)}" if fits else "it takes no unit") + ")")
            continue
        values = _values(key, entry.get("values", {}), problems)
        mappings.append(Mapping(str(source), target, unit, values))
    return tuple(mappings)


def _known(section: str, target: object) -> bool:
    return isinstance(target, str) and (target in SECTIONS[section]
                                        or wide_split_km(target) is not None)


def _units_for(section: str, target: str) -> tuple[str, ...]:
    if is_time_column(target):
        return tuple(TIME_UNITS)
    if target.endswith("_km") or (section == "splits" and target == "km"):
        return tuple(DISTANCE_UNITS)
    return ()


def _values(key: str, values: object, problems: Problems) -> dict[str, str]:
    ok = isinstance(values, dict) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in values.values())
    if not ok:
        problems.add(key, "values must be a table of their value = ours (a number or text), "
                     "e.g. { yes = 1, no = 0 }", values)
        return {}
    lowered = [str(k).strip().lower() for k in values]
    twice = sorted({k for k in lowered if lowered.count(k) > 1})
    if twice:
        problems.add(key, f"values: {', '.join(twice)} given twice (matched without case)")
    return dict(zip(lowered, (str(v) for v in values.values()), strict=True))


def _convert(text: pd.Series, unit: str) -> tuple[pd.Series, np.ndarray]:
    """Cells in our unit (text), and which given cells did not read in `unit` (as written)."""
    given = text.str.strip() != ""
    factor = {**TIME_UNITS, **DISTANCE_UNITS}[unit]
    if factor is None:
        values = duration_seconds(text)
    else:
        values = pd.to_numeric(text.str.strip(), errors="coerce") * factor
        values = values.where(np.isfinite(values.to_numpy(float)))
    unread = (given & values.isna()).to_numpy()
    return text.where(~given | unread, values.astype(str)), unread


def _quoted(name: object) -> str:
    return f'"{name}"'
