"""Benchmark a newcomer's wait for an answer: whole commands, as a user runs them, against the
reference `python -c "import xarray, matplotlib.pyplot"` measured in the same run (issue 13).

Commands timed (each a fresh process, warm file caches, interleaved so that machine load hits
all of them alike; the median of `--repeats` runs is reported):

- reference: ``python -c "import xarray, matplotlib.pyplot"``
- ``cramp --help`` and ``cramp scenarios``
- ``cramp simulate goal_marathon_runner`` (one runner, default 2,000 draws, every output written)
- ``python -c "import cramp"``, and the fitting path's import (``import pymc, nutpie, arviz``) for
  scale

The target is a one-runner simulate within ~1.5x the reference. Run:
``uv run python bench/answer_time.py [--repeats 7]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "reference: import xarray, matplotlib.pyplot"


def commands(out: Path) -> dict[str, list[str]]:
    py = sys.executable
    return {
        REFERENCE: [py, "-c", "import xarray, matplotlib.pyplot"],
        "cramp --help": [py, "-m", "cramp.cli", "--help"],
        "cramp scenarios": [py, "-m", "cramp.cli", "scenarios"],
        "import cramp": [py, "-c", "import cramp"],
        "cramp simulate goal_marathon_runner": [py, "-m", "cramp.cli", "simulate",
                                                "goal_marathon_runner", "--out", str(out),
                                                "--force"],
        "(fitting path) import pymc, nutpie, arviz": [py, "-c", "import pymc, nutpie, arviz"],
    }


def wall_time_s(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        todo = commands(Path(tmp))
        for argv in todo.values():  # warm the file caches once
            wall_time_s(argv)
        times: dict[str, list[float]] = {name: [] for name in todo}
        for _ in range(args.repeats):
            for name, argv in todo.items():
                times[name].append(wall_time_s(argv))
    medians = {name: statistics.median(t) for name, t in times.items()}
    reference = medians[REFERENCE]
    print(f"median of {args.repeats} runs each, interleaved; ratio to the reference")
    for name, median in medians.items():
        spread = f"{min(times[name]):.2f}-{max(times[name]):.2f}"
        print(f"  {name:<45} {median:6.2f} s  ({spread})  {median / reference:5.2f}x")


if __name__ == "__main__":
    main()
