"""The simulation's PNGs drawn in a second process (cramp/plot_process.py): the same bytes as
drawn in-process, a process that imports no xarray, and the in-process drawing when the second
process is gone."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import cramp
from cramp.cli import app
from cramp.plot_process import PlotProcess, _usable_cores
from cramp.result_files import PLOTS, draw_png, plot_jobs

two_cores = pytest.mark.skipif(_usable_cores() < 2, reason="the plot process needs 2 cores")


@pytest.fixture(scope="module")
def result():
    return cramp.Scenario.load("goal_marathon_runner").run(draws=20, seed=5)


@two_cores
def test_pngs_drawn_in_the_second_process_are_the_ones_drawn_here(result):
    jobs = plot_jobs(result)
    plots = PlotProcess.start()
    plots.submit(jobs)
    drawn = plots.pngs()
    assert drawn is not None, "the plot process drew nothing"
    assert list(drawn) == list(PLOTS)
    assert drawn == {key: draw_png(*job) for key, job in jobs.items()}


def test_the_plot_process_imports_neither_xarray_nor_pandas():
    """Its import must stay light: it runs beside the simulation and is waited for."""
    probe = ("import sys\nfrom cramp.plot_process import _warm_up\nimport cramp.result_files\n"
             "import scenarios.plots\n_warm_up()\n"
             "print('LOADED:' + ','.join(m for m in ('xarray', 'pandas') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "MPLBACKEND": "Agg"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split("LOADED:")[-1].strip() == ""


def test_a_dead_plot_process_leaves_the_drawing_to_this_one(result, tmp_path):
    plots = PlotProcess.start()
    if plots._process is not None:  # as if it had crashed before the plots were sent
        plots._process.kill()
        plots._process.wait()
    plots.submit(plot_jobs(result))
    assert plots.pngs() is None
    dead = PlotProcess.start()
    dead.close()
    paths = result.save(tmp_path / "fallback", pngs=dead.pngs)
    plain = result.save(tmp_path / "plain")
    for key in PLOTS:
        assert paths[key].read_bytes() == plain[key].read_bytes()


@two_cores
def test_cramp_simulate_writes_the_plots_the_api_draws(result, tmp_path):
    out = tmp_path / "cli"
    run = CliRunner().invoke(app, ["simulate", "goal_marathon_runner", "--draws", "20",
                                   "--seed", "5", "--out", str(out)])
    assert run.exit_code == 0, run.output
    api = result.save(tmp_path / "api")
    for key in PLOTS:
        assert (out / api[key].name).read_bytes() == api[key].read_bytes()
