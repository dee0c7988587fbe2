"""The machinery of the hazard's factor registry: what a factor is (its name, level, meaning and
feature definition) and the registry every part of the project reads the factors from. The
factors themselves are listed in model/hazard/specification.py.

A *plain linear* factor is defined by its feature alone, and then flows through records ->
features -> kernel inputs -> PyMC model -> forward evaluation -> simulator with no code of its
own:
- a record factor by the record column it is computed from (`column`, `to_units`, `absent`),
  and in the simulator by `in_race(block, plan)`, or else the simulated runners' attribute of
  the same name as the column;
- a cell factor by a function of the segment grid, `on_grid(start_km, end_km, distance_km)`,
  evaluated on the records' segments and on the simulated course alike.
A factor whose feature needs more (splits, clock time, the CK mediator, a plan's changes) says
in `special` where its own code is and why.

`registered_factor(factor)` adds a factor for the duration of a `with` block (tests, model
variants); the views `names()` returns are live, so code that reads them at call time sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.errors import InputError

LEVELS = ("cell", "record")


@dataclass(frozen=True)
class Factor:
    """One factor of the hazard: `level` "cell" varies along the course, "record" is constant
    within a runner-race; `meaning` is what one unit is and which sign raises the risk; `unit`
    the feature's unit as the features label it. The rest is its feature definition (module
    docstring)."""

    name: str
    level: str
    meaning: str
    unit: str = ""
    #: record factor: the record column [its own unit] and its conversion to feature units
    column: str | None = None
    to_units: Callable[[np.ndarray], np.ndarray] | None = None
    #: column value of a record without the column (NaN: the feature is unknown there)
    absent: float = float("nan")
    #: a blank value is allowed (NaN feature, which the model integrates over); else a record
    #: with a blank value is an input error
    missing_allowed: bool = False
    #: cell factor: (start_km, end_km, distance_km) -> feature units, broadcasting
    on_grid: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None
    #: record factor in the simulator: (RunnerBlock, Plan) -> (runner,) in feature units
    in_race: Callable[[Any, Any], np.ndarray] | None = None
    #: where a factor that is not plain linear has its own code, and why
    special: str = ""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"factor {self.name}: level must be one of {LEVELS}, "
                             f"not {self.level!r}")
        plain = self.column is not None if self.level == "record" else self.on_grid is not None
        if not plain and not self.special:
            raise ValueError(f"factor {self.name}: give its feature definition (a record "
                             "factor's column, a cell factor's on_grid) or say in `special` "
                             "where its own code is")

    def from_column(self, values: np.ndarray | None, n_records: int) -> np.ndarray:
        """The feature (record,) from the record column's values (None: the column is absent,
        every record gets `absent`)."""
        raw = (np.full(n_records, self.absent) if values is None
               else np.asarray(values, dtype=float))
        return np.asarray(self.to_units(raw) if self.to_units else raw, dtype=float)

    def from_grid(self, start_km, end_km, distance_km) -> np.ndarray:
        """The feature on a segment grid [km]: (record, segment) from (record, segment) bounds
        and (record, 1) distances, or (segment, 1) bounds and a scalar distance."""
        return np.asarray(self.on_grid(start_km, end_km, distance_km), dtype=float)

    def for_runners(self, block: Any, plan: Any) -> np.ndarray:
        """The feature of each simulated runner (runner,) under `plan`."""
        if self.in_race is not None:
            return np.asarray(self.in_race(block, plan), dtype=float)
        if self.column is None or not hasattr(block, self.column):
            raise InputError(f"factor {self.name}: the simulated runners have no "
                             f"{self.column} and the factor defines no in_race")
        return self.from_column(getattr(block, self.column), block.size)


class FactorRegistry:
    """The hazard's factors in the order of the posterior's `factor` dimension."""

    def __init__(self, factors: Sequence[Factor]):
        self._factors = tuple(factors)

    @property
    def factors(self) -> tuple[Factor, ...]:
        return self._factors

    def names(self, level: str | None = None) -> tuple[str, ...]:
        return tuple(f.name for f in self._factors if level is None or f.level == level)

    def __getitem__(self, name: str) -> Factor:
        for f in self._factors:
            if f.name == name:
                return f
        raise KeyError(name)

    @contextmanager
    def registered(self, factor: Factor) -> Iterator[Factor]:
        """`factor` appended to the registry inside the `with` block, removed after it."""
        if factor.name in self.names():
            raise ValueError(f"factor {factor.name} is already registered")
        before = self._factors
        self._factors = (*before, factor)
        try:
            yield factor
        finally:
            self._factors = before


class FactorNames(Sequence[str]):
    """A live, read-only view of the registry's factor names (all, or one level's): a tuple
    that follows `registered_factor`."""

    def __init__(self, registry: FactorRegistry, level: str | None = None):
        self._registry, self._level = registry, level

    def _names(self) -> tuple[str, ...]:
        return self._registry.names(self._level)

    def __getitem__(self, index):
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __eq__(self, other: object) -> bool:
        return self._names() == (tuple(other) if isinstance(other, Sequence) else other)

    __hash__ = None  # type: ignore[assignment]  # equal to a tuple that changes

    def __repr__(self) -> str:
        return repr(self._names())


class FactorMeaning(Mapping[str, str]):
    """A live view: factor name -> `meaning`."""

    def __init__(self, registry: FactorRegistry):
        self._registry = registry

    def __getitem__(self, name: str) -> str:
        return self._registry[name].meaning

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry.names())

    def __len__(self) -> int:
        return len(self._registry.factors)
