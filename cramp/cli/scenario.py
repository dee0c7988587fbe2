"""Commands for coaches' what-ifs and reports: simulate, scenarios, report."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from cramp.cli.app import ForceOpt, PriorsOpt, app, err, guarded, out, say
from cramp.cli.render import print_comparison
from cramp.cli.startup import dask_only_once_imported
from model.errors import InputError


@app.command()
@guarded
def simulate(
    scenario: Annotated[str, typer.Argument(
        help="scenario TOML file, or the name of a shipped one (see `cramp scenarios`)")],
    posterior: Annotated[Path | None, typer.Option(
        "--posterior", help="FIT.nc from `cramp fit` (default: the literature prior)")] = None,
    priors_path: PriorsOpt = None,
    draws: Annotated[int, typer.Option(
        "--draws", help="parameter draws (prior draws, or posterior thinned to at most this)")
    ] = 2000,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="seed for prior draws and the simulated runners (default: the file's)")
    ] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="output folder (default results/simulate/<scenario>)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the comparison as JSON")] = False,
    dask_address: Annotated[str | None, typer.Option(
        "--dask", help="run on a dask cluster: a scheduler address, or 'local' for a "
        "LocalCluster on this machine")] = None,
    force: ForceOpt = False,
    yes: Annotated[bool, typer.Option(
        "--yes", help="run even when the work is above the limit (estimate shown first)")
    ] = False,
) -> None:
    """Simulate a race under each intervention of a scenario and compare them: risk, risk
    difference, relative risk, NNT, probability of helping, time cost and expected finishing
    time, with 95% equal-tailed credible intervals; plots and the full result are saved."""
    from cramp.plot_process import PlotProcess

    # first: the second process imports matplotlib while this one simulates
    plots = PlotProcess.start()
    try:
        _simulate(scenario, posterior, priors_path, draws, seed, out_dir, as_json, dask_address,
                  force, yes, plots)
    finally:
        plots.close()


def _simulate(scenario, posterior, priors_path, draws, seed, out_dir, as_json, dask_address,
              force, yes, plots) -> None:
    import cramp
    from cramp.result_files import plot_jobs
    from scenarios.work import work_estimate

    s = cramp.Scenario.load(scenario)
    if draws < 2:
        raise InputError(f"--draws must be >= 2, got {draws}")
    if seed is not None and seed < 0:
        raise InputError(f"--seed must be a whole number >= 0, got {seed}")
    work = work_estimate(s.spec, draws)
    if work.too_large and not yes:
        raise InputError(f"{s.source}: this simulation is {work.describe()}; above the limit "
                         "(scenarios/README.md, 'Work bounds'): rerun with --yes to run it, or "
                         "use fewer runners, draws or plans")
    # the output is claimed before the work: a bad --out or a second run on it fails now
    with s.claim_output(out_dir, force=force, need_bytes=work.result_bytes) as claim:
        who = "one runner" if s.single_runner else f"{s.spec.runners.count} runners"
        source = ("the literature prior" if posterior is None else f"the posterior {posterior}")
        say(err, f"{s.name}: {who}, {len(s.spec.interventions)} plans, parameters from "
            f"{source}; {work.describe()}")
        result = _run_with_progress(s, posterior, draws, seed, priors_path, dask_address)
        plots.submit(plot_jobs(result))
        # the answer first: the coach reads it while the plots are drawn; a failed write still
        # ends the command with its error and exit code
        if as_json:
            print(result.to_json(), flush=True)
        else:
            print_comparison(result.comparison)
            sys.stdout.flush()
        paths = result.save(claim=claim, pngs=plots.pngs)
    if not as_json:
        say(out, f"wrote {claim.target} ({', '.join(p.name for p in paths.values())})")


def _run_with_progress(s, posterior, draws, seed, priors_path, dask_address):
    from rich.progress import Progress

    run = functools.partial(s.run, posterior, draws=draws, seed=seed, priors=priors_path)
    if dask_address is not None:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1) if dask_address == "local" \
            else None
        with Client(cluster or dask_address):
            return run(backend="dask")
    # this process runs no dask: xarray need not import it (~0.5 s; cramp/cli/startup.py)
    dask_only_once_imported()
    with Progress(console=err, transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("simulating", total=None)
        return run(progress=lambda done, total: bar.update(task, completed=done, total=total))


@app.command("scenarios")
@guarded
def list_scenarios() -> None:
    """List the shipped scenarios (use their name with `cramp simulate`)."""
    import cramp

    for stem, (title, plans) in cramp.Scenario.catalogue().items():
        out.print(Text.assemble((stem, "bold"), f": {title} ({', '.join(plans)})"))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@guarded
def report(
    ctx: typer.Context,
    notebook: Annotated[str, typer.Argument(
        help="a notebook in notebooks/ by name (evidence_to_priors, fitting_logged_data, "
        "what_if_coach) or a path to a jupytext .py notebook; then -p KEY VALUE (repeatable) "
        "for its parameters cell, e.g. -p draws 200 -p seed 3")],
    out_dir: Annotated[Path, typer.Option("--out", help="output folder")] = Path(
        "results/reports"),
    show_code: Annotated[bool, typer.Option(
        "--show-code", help="show the code cells in the HTML (hidden by default)")] = False,
    force: ForceOpt = False,
) -> None:
    """Execute a notebook headless (papermill) into results/reports/ as HTML, recording the git
    commit, package versions, parameters, data hash and seed in the report. The HTML shows the
    text, tables and plots; the code is in the executed notebook next to it (or --show-code)."""
    from cramp.report import parse_parameters, run_report

    parameters = parse_parameters(ctx.args)
    html = run_report(notebook, parameters, out_dir, force=force, progress=sys.stderr.isatty(),
                      show_code=show_code)
    say(out, f"wrote {html} (and the executed notebook next to it)")


