"""Benchmark a newcomer's wait for an answer: whole commands, as a user runs them, against the
reference `python -c "import xarray, matplotlib.pyplot"` measured in the same run (issue 13).

Commands timed (each a fresh process, warm file caches, interleaved so that machine load hits
all of them alike; the median of `--repeats` runs is reported):

- reference: ``python -c "import xarray, matplotlib.pyplot"``
- ``cramp --help`` and ``cramp scenarios``
- ``cramp simulate goal_marathon_runner`` (one runner, default 2,000 draws, every output written)
- ``python -c "import cramp"``, and the fitting path's import (``import pymc, nutpie, arviz``) for
  scale

Each is reported as wall time and as CPU time (user + system of the process): on a machine
shared with other work the wall time stretches with the load (printed with the results), the
CPU time much less, so the CPU ratio is the steadier figure there; on an idle machine the wall
ratio is the one a user feels. `--stages` adds where a one-runner simulate's time goes, each
stage timed in one fresh process in the order the command runs them (imports counted where
they first happen).

The target is a one-runner simulate within ~1.5x the reference. Run:
``uv run python bench/answer_time.py [--repeats 7] [--stages]``
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "reference: import xarray, matplotlib.pyplot"
SIMULATE = "cramp simulate goal_marathon_runner"

# the simulate command's stages, in its order (cramp/cli/scenario.py, SimulationResult.save)
STAGES = """
import io, json, time
laps, start = [], time.perf_counter()
def lap(name):
    global start
    now = time.perf_counter()
    laps.append((name, now - start))
    start = now
import cramp.cli
lap("command line (typer, rich)")
import cramp
from cramp.cli.startup import dask_only_once_imported
from cramp.simulation import SimulationResult, parameter_draws
dask_only_once_imported()  # as `cramp simulate` without --dask
lap("import the simulation API (xarray, pandas)")
scenario = cramp.Scenario.load("goal_marathon_runner")
lap("load and check the scenario")
parameters = parameter_draws(None, None, 2000, scenario.seed)
lap("2,000 prior draws")
from scenarios.simulate import simulate
lap("import the simulator")
dataset = simulate(scenario.spec, parameters.values)
lap("simulate (135 quadrature nodes x 43 km x 2,000 draws x 5 plans)")
result = SimulationResult(dataset, scenario, parameters.description)
comparison = result.comparison
lap("comparison table")
result.course_table().to_csv(index=False)
lap("course table")
import matplotlib.backends.backend_agg, matplotlib.figure  # saved figures need no pyplot
from scenarios.plots import plot_onset, plot_risk, plot_risk_vs_time
lap("import matplotlib (figure, Agg) and the plots")
plot_risk(comparison, scenario.name, io.BytesIO())
lap("risk.png")
plot_risk_vs_time(comparison, scenario.name, io.BytesIO())
lap("risk_vs_time.png")
plot_onset(dataset, scenario.name, io.BytesIO(), curves=result.onset_curves())
lap("onset.png")
dataset.to_netcdf(engine="h5netcdf")
lap("result.nc (h5netcdf)")
print(json.dumps(laps))
"""


def commands(out: Path) -> dict[str, list[str]]:
    py = sys.executable
    return {
        REFERENCE: [py, "-c", "import xarray, matplotlib.pyplot"],
        "cramp --help": [py, "-m", "cramp.cli", "--help"],
        "cramp scenarios": [py, "-m", "cramp.cli", "scenarios"],
        "import cramp": [py, "-c", "import cramp"],
        SIMULATE: [py, "-m", "cramp.cli", "simulate", "goal_marathon_runner", "--out", str(out),
                   "--force"],
        "(fitting path) import pymc, nutpie, arviz": [py, "-c", "import pymc, nutpie, arviz"],
    }


def run_timed(argv: list[str]) -> tuple[float, float, float]:
    """(wall time [s], CPU time [s]: user + system of the process and its children, wall time
    until the first line on stdout [s]: when the answer appears)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as process:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        answered = time.perf_counter() - start
        process.stdout.read()
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, argv)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, answered if first_line else wall


def stages() -> list[tuple[str, float]]:
    """(stage, wall time [s]) of one fresh process running the simulate command's stages."""
    import json

    done = subprocess.run([sys.executable, "-c", STAGES], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--stages", action="store_true",
                        help="also time the stages of a one-runner simulate")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        todo = commands(Path(tmp))
        for argv in todo.values():  # warm the file caches once
            run_timed(argv)
        times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in todo}
        for _ in range(args.repeats):
            for name, argv in todo.items():
                times[name].append(run_timed(argv))
    load_after = os.getloadavg()
    wall = {name: statistics.median(w for w, _, _ in t) for name, t in times.items()}
    cpu = {name: statistics.median(c for _, c, _ in t) for name, t in times.items()}
    print(f"median of {args.repeats} runs each, interleaved, on {os.cpu_count()} cores; load "
          f"average {load_before[0]:.1f} before, {load_after[0]:.1f} after (1 min)")
    print(f"  {'command':<45} {'wall [s]':>9} {'(range)':>11} {'ratio':>6}   {'CPU [s]':>7} "
          f"{'ratio':>6}")
    for name in todo:
        walls = [w for w, _, _ in times[name]]
        print(f"  {name:<45} {wall[name]:9.2f} {min(walls):5.2f}-{max(walls):<5.2f} "
              f"{wall[name] / wall[REFERENCE]:5.2f}x   {cpu[name]:7.2f} "
              f"{cpu[name] / cpu[REFERENCE]:5.2f}x")
    answered = statistics.median(a for _, _, a in times[SIMULATE])
    print(f"  {'(the comparison table printed, files still to write)':<45} {answered:9.2f} "
          f"{'':11} {answered / wall[REFERENCE]:5.2f}x")
    if args.stages:
        print(f"\nwhere {SIMULATE}'s time goes (one process, wall time):")
        for name, seconds in stages():
            print(f"  {name:<68} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
