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
ratio is the one a user feels; the CPU time includes the plot process that draws the PNGs
beside the simulation (cramp/plot_process.py), so on two cores it exceeds the wall time.
`--stages` adds where a one-runner simulate's time goes in each of its two processes, each
stage timed in a fresh process in the order the command runs them (imports counted where they
first happen).

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

# a stage script's stopwatch: lap(name) records the time since the last lap
LAPS = """
import json, pickle, sys, time
laps, start = [], time.perf_counter()
def lap(name):
    global start
    now = time.perf_counter()
    laps.append((name, now - start))
    start = now
"""

# the simulate command's stages, in its order (cramp/cli/scenario.py, SimulationResult.save)
STAGES = LAPS + """
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
from cramp.result_files import plot_jobs
jobs = plot_jobs(result)
lap("the plots' inputs, sent to the plot process")
pickle.dump(jobs, open(sys.argv[1], "wb"))
start = time.perf_counter()
result.course_table().to_csv(index=False)
lap("course table")
dataset.to_netcdf(engine="h5netcdf")
lap("result.nc (h5netcdf)")
print(json.dumps(laps))
"""

# the plot process's stages (cramp/plot_process.py), from the start of `cramp simulate`
PLOT_STAGES = LAPS + """
import scenarios.plots
from cramp.plot_process import _warm_up
from cramp.result_files import draw_png
lap("import matplotlib and the plots")
_warm_up()
lap("warm-up figure (while the simulation runs)")
jobs = pickle.load(open(sys.argv[1], "rb"))
start = time.perf_counter()
for key, job in jobs.items():
    draw_png(*job)
    lap(f"draw {key}")
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


def stages() -> dict[str, list[tuple[str, float]]]:
    """(stage, wall time [s]) of the simulate command's two processes, each run alone in a
    fresh process: the simulation's, and the plot process's (which the command starts first,
    so that it runs beside the other)."""
    import json

    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        jobs = str(Path(tmp) / "jobs.pickle")
        for name, code in (("the command's process", STAGES), ("the plot process", PLOT_STAGES)):
            done = subprocess.run([sys.executable, "-c", code, jobs], cwd=ROOT, check=True,
                                  capture_output=True, text=True)
            found[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


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
        for process, laps in stages().items():
            print(f"\nwhere {SIMULATE}'s time goes, {process} (wall time):")
            for name, seconds in laps:
                print(f"  {name:<68} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
