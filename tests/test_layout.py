"""The layering the design promises: cramp -> scenarios -> model, never the other way round (and
the web page on the public API alone); and every source file short enough to read top to
bottom."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(("layer", "forbidden"), [("model", {"scenarios", "cramp"}),
                                                  ("scenarios", {"cramp"}),
                                                  # the web page is built on `import cramp`
                                                  ("cramp/web", {"model", "scenarios"})])
def test_imports_point_one_way(layer, forbidden):
    offenders = {str(p.relative_to(ROOT)): sorted(imported_packages(p) & forbidden)
                 for p in (ROOT / layer).rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_source_files_are_short():
    sources = [p for layer in ("model", "scenarios", "cramp") for p in (ROOT / layer).rglob("*.py")]
    long = {str(p.relative_to(ROOT)): n for p in sources
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
