"""The README is a contract: its Python examples run as written, and its command lines are the
ones .ci/run executes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def python_blocks(title: str = "In Python") -> list[str]:
    section = README.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_readme_plan_example_runs(tmp_path):
    (block,) = python_blocks("Plans: how fast can she go")
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    first = result.stdout.splitlines()[0].split(" ", 1)
    assert int(first[0]) > 0 and "mean" in first[1]


def test_readme_has_a_coach_and_a_researcher_example():
    blocks = python_blocks()
    assert len(blocks) == 2
    assert "Scenario.load" in blocks[0] and "cramp.fit(" in blocks[1]


@pytest.mark.parametrize("index", [0, 1], ids=["coach", "researcher"])
def test_readme_python_example_runs(index, tmp_path):
    """Each example runs in a fresh process from an empty folder, as a user would paste it."""
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", python_blocks()[index]], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "baseline" in result.stdout
    if index == 0:
        assert (tmp_path / "results/what_if/comparison.json").exists()
        assert "5% slower + 3-week taper" in result.stdout
    else:
        assert (tmp_path / "results/my_fit.nc").exists()
        assert "cramp_probability_mean" in result.stdout
        assert "converged: True" in result.stdout  # the default settings, a fixed seed


def test_ci_runs_the_readme_commands_verbatim():
    section = README.split("## Two commands on a fresh machine", 1)[1].split("\n## ", 1)[0]
    commands = [line for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S)
                for line in block.splitlines() if line.strip()]
    assert commands == ["pip install uv", "uv run cramp simulate city_marathon_warm",
                        "uv run pytest"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "## Two commands" in ci and 'eval "$tests"' in ci and "UV_PYTHON=" not in ci


def test_python_version_file_selects_a_supported_python():
    first = (ROOT / ".python-version").read_text().split()[0]
    assert tuple(int(x) for x in first.split(".")[:2]) >= (3, 12)
