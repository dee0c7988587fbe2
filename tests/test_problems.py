"""One problem collector for all input validation (model/errors.py `Problems`): its lines, rows and
the error it raises; and that no other module keeps a collector of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from model.errors import InputError, Problems, cell_place

ROOT = Path(__file__).resolve().parent.parent


def test_a_line_names_the_source_the_place_the_rule_and_the_value():
    p = Problems("race.toml")
    p.add("race.distance_km", "must be > 0", -5)
    p.add("pacing.target_time", "must be a duration 'H:MM:SS' > 0", "0:00:00")
    p.add(None, "missing table [race]")
    p.add("seed", "must be a whole number >= 0")
    assert p.messages() == ["race.toml: race.distance_km: must be > 0 (got -5)",
                            "race.toml: pacing.target_time: must be a duration 'H:MM:SS' > 0 "
                            "(got '0:00:00')",
                            "race.toml: missing table [race]",
                            "race.toml: seed: must be a whole number >= 0"]


def test_a_toml_value_is_shown_with_repr_and_a_cell_as_the_file_holds_it():
    p = Problems("f")
    p.add("k", "must be a number", "1")  # the text "1", not the number: repr tells them apart
    p.add("k", "must be a number", ["a"])
    p.add("k", "must be a number", "it's", as_written=True)
    assert p.messages() == ["f: k: must be a number (got '1')",
                            "f: k: must be a number (got ['a'])",
                            "f: k: must be a number (got 'it's')"]


def test_cells_are_named_by_row_and_column_whatever_the_table_index():
    p = Problems("r.csv")
    texts = pd.Series(["ok", "x", "ok", "-3"], index=[10, 11, 12, 13])  # not 0..n-1
    p.add_cells([4, 2], "distance_km", "must be > 0", texts)
    p.add_cells([], "distance_km", "never shown", texts)
    p.add_cells([3], "race_time_s", "faster than 2:30 min/km over the race")
    assert p.messages() == ["r.csv: row 4, column distance_km: must be > 0 (got '-3')",
                            "r.csv: row 2, column distance_km: must be > 0 (got 'x')",
                            "r.csv: row 3, column race_time_s: faster than 2:30 min/km over "
                            "the race"]
    assert cell_place(4, "distance_km") == "row 4, column distance_km"
    assert p.rows() == [2, 3, 4]


def test_rows_sort_stably_and_a_problem_without_a_row_comes_first():
    p, q = Problems("r.csv"), Problems("r.csv")
    p.add("row 3, column a", "first found on row 3", row=3)
    q.add("row 1, column b", "found on row 1", row=1)
    q.add("row 3, column c", "second found on row 3", row=3)
    q.add("column temp_c", "needed to compute WBGT")
    p.extend(q)
    p.sort_by_row()
    assert [m.split(": ", 2)[2] for m in p.messages()] == [
        "needed to compute WBGT", "found on row 1", "first found on row 3",
        "second found on row 3"]
    assert p.rows() == [1, 3] and len(p) == 4


def test_raise_if_any_lists_every_problem_under_one_message():
    p = Problems("bad.toml")
    p.raise_if_any("the scenario")  # nothing found: nothing raised
    p.add("seed", "must be a whole number >= 0", -1)
    with pytest.raises(InputError) as one:
        p.raise_if_any("the scenario")
    assert str(one.value) == "bad.toml: 1 problem(s) in the scenario"
    with pytest.raises(InputError) as single:
        p.raise_if_any("the scenario", single=True)
    assert str(single.value) == "bad.toml: seed: must be a whole number >= 0 (got -1)"
    assert single.value.problems == [str(single.value)]
    p.add("name", "must be a string", 3)
    with pytest.raises(InputError) as two:
        p.raise_if_any("the scenario", single=True, limit=1)
    assert str(two.value) == "bad.toml: 2 problem(s) in the scenario"
    assert two.value.problems == ["bad.toml: seed: must be a whole number >= 0 (got -1)"]
    error = p.error("bad.toml: 2 row(s) with a different number of fields")
    assert str(error) == "bad.toml: 2 row(s) with a different number of fields"
    assert len(error.problems) == 2


def test_a_collector_without_a_source_takes_each_place_in_full():
    p = Problems()
    p.add("r.csv: row 2, column split_28km", "must increase with km", "9000", row=2,
          as_written=True)
    assert p.messages() == ["r.csv: row 2, column split_28km: must increase with km "
                            "(got '9000')"]


def _sources(layer: str) -> list[Path]:
    return [p for p in (ROOT / layer).rglob("*.py") if p != ROOT / "model" / "errors.py"]


def _hand_made_problem_lists(path: Path) -> list[int]:
    """Lines that build an InputError with a problems list of their own (a second argument or
    `problems=`): the collector's job."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "InputError"
            and (len(node.args) > 1 or any(k.arg == "problems" for k in node.keywords))]


def test_only_model_errors_defines_a_problem_collector():
    defined = {str(p.relative_to(ROOT)) for layer in ("model", "scenarios", "cramp")
               for p in _sources(layer)
               for node in ast.walk(ast.parse(p.read_text(), filename=str(p)))
               if isinstance(node, ast.ClassDef) and node.name == "Problems"}
    assert defined == set()


@pytest.mark.parametrize("layer", [
    "model", "scenarios", "cramp"])
def test_no_module_hands_input_error_a_problem_list_of_its_own(layer):
    offenders = {str(p.relative_to(ROOT)): lines for p in _sources(layer)
                 if (lines := _hand_made_problem_lists(p))}
    assert offenders == {}
