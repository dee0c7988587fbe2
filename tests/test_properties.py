"""Property tests of the loaders (issue 19): whatever a race-record file, a splits file or a
scenario holds, loading gives a result or the project's InputError naming the problem, never
another exception. Hostile values (NaN, infinity, rich markup, odd digits, wrong types, extra or
missing fields, repeated names) are drawn more often than chance would. Bounded budget: 200
examples per property, the whole module well under a minute."""

from __future__ import annotations

import copy
import csv
import io
import tomllib

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.data.records import OPTIONAL_NUMERIC, REQUIRED, RaceRecords, load_records
from model.errors import InputError
from scenarios.spec import LIBRARY, parse_scenario

BUDGET = settings(max_examples=200, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                         HealthCheck.too_slow])

HOSTILE_CELLS = ["", " ", "nan", "NaN", "inf", "-inf", "1e999", "-1", "0", "1", "2", "0.5",
                 "42.195", "21.0975", "14700", "6800", "30", "abc", "[/x]", "[bold]", "١٢",
                 "²", "1,5", '"', "None", "true", "\t7", "A", "B", "x", "city"]
NUMBERISH = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                      st.integers(-10**6, 10**6).map(str))
CELL = st.one_of(st.sampled_from(HOSTILE_CELLS), NUMBERISH, st.text(max_size=6))
COLUMNS = [*REQUIRED, *OPTIONAL_NUMERIC, " cramped", "runner_id ", "extra", ""]


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


@st.composite
def record_files(draw) -> str:
    """A records CSV: mostly the required columns, some optional, sometimes a repeated or
    padded name; rows mostly of the header's width, sometimes one field more or less."""
    header = list(REQUIRED) if draw(st.booleans()) else []
    header += draw(st.lists(st.sampled_from(COLUMNS), max_size=6))
    width = len(header)
    rows = draw(st.lists(st.lists(CELL, min_size=max(width - 1, 0), max_size=width + 1)
                         if draw(st.integers(0, 4)) == 0 else
                         st.lists(CELL, min_size=width, max_size=width), max_size=5))
    return csv_text(header, rows)


def valid_or_input_error(load) -> None:
    try:
        result = load()
    except InputError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return
    assert isinstance(result, RaceRecords) and len(result.table) > 0


@BUDGET
@given(text=record_files())
def test_any_records_csv_loads_or_is_an_input_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("r") / "records.csv"
    path.write_text(text, encoding="utf-8")
    valid_or_input_error(lambda: load_records(path))


@BUDGET
@given(rows=st.lists(st.fixed_dictionaries(
    {"runner_id": st.sampled_from(["A", "B", ""]), "race_id": st.sampled_from(["city", "x"]),
     "km": CELL, "elapsed_s": CELL}), min_size=1, max_size=6),
    extra=st.booleans())
def test_any_splits_load_or_are_an_input_error(tmp_path_factory, rows, extra):
    folder = tmp_path_factory.mktemp("s")
    records = folder / "r.csv"
    records.write_text(csv_text(list(REQUIRED), [
        ["A", "city", "42.195", "14700", "21.0975", "6800", "30", "0"],
        ["B", "city", "42.195", "15000", "21.0975", "7000", "32", "1"]]))
    frame = pd.DataFrame(rows)
    if extra:
        frame["km "] = frame["km"]  # a name given twice once trimmed
    splits = folder / "s.csv"
    frame.to_csv(splits, index=False)
    valid_or_input_error(lambda: load_records(records, splits))


@BUDGET
@given(values=st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                                 st.booleans(), st.integers(-5, 10**5), st.text(max_size=4)),
                        min_size=8, max_size=8))
def test_any_dataframe_loads_or_is_an_input_error(values):
    frame = pd.DataFrame([dict(zip(REQUIRED, values, strict=True))])
    valid_or_input_error(lambda: load_records(frame))


def _shipped(name: str) -> dict:
    return tomllib.loads((LIBRARY / f"{name}.toml").read_text())


SHIPPED = {name: _shipped(name) for name in ("goal_marathon_runner", "city_marathon_warm",
                                             "trail_race_hilly")}
LEAF = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                 st.floats(allow_nan=True, allow_infinity=True),
                 st.sampled_from(["", "[/x]", "0:00:00", "08:²0", "25:00", "3:30:00", "5:00",
                                  "normal", "nan", "baseline", "24:00"]),
                 st.text(max_size=8))
VALUE = st.recursive(LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(
        ["dist", "mean", "sd", "min", "max", "median", "sd_log", "p", "name", "x"]), inner,
        max_size=4)), max_leaves=8)


@st.composite
def mutated_scenarios(draw) -> dict:
    """A shipped scenario with one to three keys (at any depth) replaced, added or removed."""
    doc = copy.deepcopy(SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))])
    for _ in range(draw(st.integers(1, 3))):
        node = doc
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = node[key]
            if isinstance(child, dict | list) and child and draw(st.booleans()):
                node = child
                continue
            action = draw(st.integers(0, 4))
            if action == 0 and isinstance(node, dict):
                del node[key]
            elif action == 1 and isinstance(node, dict):
                node[draw(st.sampled_from(["wbgt_c", "temp_c", "name", "count", "x"]))] = \
                    draw(VALUE)
            else:
                node[key] = draw(VALUE)
            break
    return doc


@BUDGET
@given(doc=mutated_scenarios())
def test_any_scenario_parses_or_is_an_input_error(doc):
    try:
        scenario = parse_scenario(doc, "fuzz.toml")
    except InputError as exc:
        assert exc.problems and all(p.startswith("fuzz.toml") for p in exc.problems)
        return
    assert scenario.course.distance_km > 0 and "baseline" in scenario.interventions


@BUDGET
@given(text=st.text(alphabet=st.sampled_from(list("[]=\"'.,:0123456789abcdenrtu_ \n#-+")),
                    max_size=120))
def test_any_scenario_text_parses_or_is_an_input_error(tmp_path_factory, text):
    from scenarios.spec import load_scenario

    path = tmp_path_factory.mktemp("t") / "fuzz.toml"
    path.write_text(text)
    try:
        load_scenario(path)
    except InputError:
        pass
