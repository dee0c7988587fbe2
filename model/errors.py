"""The error type for bad user input (the command line turns it into a message and exit code 2),
and `Problems`, the one collector every input check writes to: race records, splits, column maps,
priors files and scenarios.

A problem is one line, `<source>: <where>: <rule>` and, when the offending value is shown,
` (got <value>)`: the file (or `<race records DataFrame>`), the place in it (a key such as
`race.distance_km`, or `row 3, column cramped`) and the rule broken. A check collects every
problem before raising, so that a user fixes a file in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


class InputError(Exception):
    """Bad input from the user. `problems` lists every problem found, each a one-line message
    naming the file, row, column and the rule broken."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or [message]


def cell_place(row: int, column: str) -> str:
    """Where a table cell is, as every message names it: `row 3, column cramped` (rows from 1,
    the first data row; the CSV header is line 1)."""
    return f"row {row}, column {column}"


class Problems:
    """Every problem found in one input, in the order found, each with the table row it is on
    (from 1; None for a problem of the whole input, a key or a column); `raise_if_any` turns them
    into one InputError.

    `source` names the input and starts every line (empty: each `where` names it in full, as a
    split from a wide column names the records file, row and column it came from)."""

    def __init__(self, source: str = ""):
        self.source = source
        self._found: list[tuple[int | None, str]] = []

    def __len__(self) -> int:
        return len(self._found)

    def __bool__(self) -> bool:
        return bool(self._found)

    def add(self, where: str | None, rule: str, value: object = None, *,
            row: int | None = None, as_written: bool = False) -> None:
        """One problem at `where` (None: the input as a whole). `value`, the offending value, is
        shown with repr (a TOML value: `"1"` and `1` differ), or `as_written` for a table cell
        (always text: shown as the file holds it)."""
        got = "" if value is None else f" (got '{value}')" if as_written else f" (got {value!r})"
        self._found.append((row, f"{_join(self.source, where, rule)}{got}"))

    def add_cells(self, rows: Iterable[int], column: str, rule: str,
                  texts: Sequence[str] | None = None) -> None:
        """One problem per table row in `rows` (from 1) for `column` (the name shown); `texts`,
        the column's cells in row order, shows each offending cell as the file holds it."""
        rows = [int(row) for row in rows]
        cells = None if texts is None or not rows else np.asarray(texts, dtype=object)
        for row in rows:
            self.add(cell_place(row, column), rule, None if cells is None else cells[row - 1],
                     row=row, as_written=True)

    def extend(self, other: Problems) -> None:
        """Take over another collector's problems (each keeps its own line and row)."""
        self._found.extend(other._found)

    def sort_by_row(self) -> None:
        """Rows in file order (stable; a problem without a row counts as row 0), as a reader
        fixes a file top to bottom."""
        self._found.sort(key=lambda found: found[0] or 0)

    def messages(self) -> list[str]:
        """The one-line messages."""
        return [message for _, message in self._found]

    def rows(self) -> list[int]:
        """The table rows with a problem, sorted, each once."""
        return sorted({row for row, _ in self._found if row is not None})

    def error(self, message: str, *, limit: int | None = None) -> InputError:
        """One InputError with `message`, listing the problems (the first `limit`)."""
        return InputError(message, self.messages()[:limit])

    def raise_if_any(self, what: str, *, single: bool = False,
                     limit: int | None = None) -> None:
        """If any problem was found, raise an InputError listing them, its message
        `<source>: <n> problem(s) in <what>` (`single`: a lone problem is the message itself)."""
        if not self:
            return
        if single and len(self) == 1:
            raise self.error(self.messages()[0])
        raise self.error(_join(self.source, None, f"{len(self)} problem(s) in {what}"),
                         limit=limit)


def _join(source: str, where: object, rule: str) -> str:
    return ": ".join(str(part) for part in (source, where, rule) if part is not None
                     and str(part) != "")
