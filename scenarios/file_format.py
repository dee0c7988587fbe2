"""Reading a scenario file's values (numbers in a range, tables, lists of texts) into the one
problem collector, `model.errors.Problems`, and the time formats ("HH:MM" clock times, "M:SS"
paces)."""

from __future__ import annotations

import math
import re

from model.errors import Problems


def is_number(value: object) -> bool:
    """A finite int or float (TOML allows nan and inf, and a bool is not a number here)."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def number(p: Problems, table: dict, key: str, prefix: str, *, low=None, high=None,
           default=None, required=True) -> float | None:
    """`table[key]` as a float, or None with the problem added to `p` (missing when
    `required` and no `default`, not a finite number, outside [`low`, `high`])."""
    value = table.get(key, default)
    name = f"{prefix}.{key}"
    if value is None:
        if required:
            p.add(name, "missing")
        return None
    if not is_number(value):
        p.add(name, "must be a finite number", value)
        return None
    if low is not None and value < low or high is not None and value > high:
        p.add(name, f"must be between {low} and {high}", value)
        return None
    return float(value)


def table_of(doc: dict, key: str, p: Problems) -> dict:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        p.add(key, "must be a table", value)
        return {}
    return value


# ASCII digits only: str.isdigit() also accepts '²' or '٣', which int() then rejects or reads
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def clock_hours(text: object) -> float | None:
    """'HH:MM' (24 h clock) -> hours after midnight; None if not such a time."""
    match = _CLOCK.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    h, m = int(match[1]), int(match[2])
    return h + m / 60 if h < 24 and m < 60 else None


def pace_s_per_km(text: object) -> float | None:
    """'M:SS' per km -> seconds per km (> 0); None if not such a pace."""
    match = _CLOCK.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    minutes, seconds = int(match[1]), int(match[2])
    total = minutes * 60.0 + seconds
    return total if seconds < 60 and total > 0 else None


def text_list(doc: dict, key: str, p: Problems) -> tuple[str, ...]:
    """A list of strings (e.g. `sources`); a string or a number in its place is a problem, not
    a list of its characters."""
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        p.add(key, "must be a list of strings", value)
        return ()
    return tuple(value)
