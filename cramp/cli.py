"""The `cramp` command line: priors, check, synth, fit, prior-check, simulate, scenarios and
report.

Exit codes: 0 success; 2 bad input (the message names file, row, column and rule); 1 internal
failure; 3 `fit --strict` when the convergence diagnostics fail.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from model.errors import InputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Bayesian cramp risk for endurance races: priors, data checks, fitting.",
)
# piped output (scripts, logs, tests) gets wide lines instead of rich's 80-column default
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_DIAGNOSTICS = 2, 1, 3

PriorsOpt = Annotated[
    Path | None,
    typer.Option(
        "--priors", help="priors TOML file (default: the literature priors, model/priors.toml)"
    ),
]
SplitsOpt = Annotated[
    Path | None,
    typer.Option("--splits", help="per-km splits CSV/Parquet (runner_id, race_id, km, elapsed_s)"),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="overwrite existing outputs")]


def guarded(command):
    """Turn bad input into a clear message and exit 2, anything else into exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            problems = exc.problems
            if len(problems) > 1:
                err.print(f"[bold red]error:[/] {exc}", highlight=False)
            for line in problems[:50]:
                err.print(
                    f"[red]error:[/] {line}" if len(problems) == 1 else f"  {line}",
                    highlight=False,
                    soft_wrap=True,
                )
            if len(problems) > 50:
                err.print(f"  ... and {len(problems) - 50} more", highlight=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # an internal failure: say so plainly
            err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}", highlight=False)
            if os.environ.get("CRAMP_DEBUG"):
                traceback.print_exc()
            else:
                err.print("set CRAMP_DEBUG=1 for the traceback", highlight=False)
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


@app.command()
@guarded
def priors(
    priors_path: PriorsOpt = None,
    detail: Annotated[
        bool, typer.Option("--detail", help="also print the arithmetic from the published figures")
    ] = False,
) -> None:
    """Print the priors with their units and the evidence they rest on."""
    from model.priors import load_priors

    p = load_priors(priors_path)
    table = Table(title=f"Priors ({p.path})", show_lines=False)
    for column in ("section", "name", "prior", "unit", "evidence"):
        table.add_column(column, overflow="fold")
    for row in p.table_rows():
        table.add_row(*row.values())
    out.print(table)
    if detail:
        for entry in p.entries.values():
            out.print(f"\n[bold]{entry.section}.{entry.name}[/] ({', '.join(entry.evidence)})")
            out.print(entry.arithmetic, highlight=False)


@app.command()
@guarded
def check(data: Path, splits: SplitsOpt = None) -> None:
    """Validate race records (and splits) only; report every problem with its row and column."""
    from cramp import load_records

    records = load_records(data, splits)
    n = len(records.table)
    cramped = int(records.table["cramped"].sum())
    out.print(
        f"{data}: {n} runner-race records, {records.table['runner_id'].nunique()} runners,"
        f" {records.table['race_id'].nunique()} races, {cramped} with a cramp: OK"
    )
    for note in records.notes:
        out.print(f"note: {note}", highlight=False)


@app.command()
@guarded
def synth(
    out_path: Annotated[Path, typer.Option("--out", help="records CSV to write")],
    runners: Annotated[int, typer.Option("--runners", help="runner-race records")] = 2000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    distance_km: Annotated[
        list[float] | None, typer.Option("--distance-km", help="race distance(s); repeat for a mix")
    ] = None,
    races: Annotated[int | None, typer.Option("--races", help="number of races")] = None,
    force: ForceOpt = False,
) -> None:
    """Write a synthetic cohort drawn from the model with known true coefficients, plus its
    per-km splits (<out>_splits.csv)."""
    from model.provenance import check_writable, write_atomic
    from model.specification import MARATHON_KM
    from model.synth import DEFAULT_TRUTH, synthesize

    if runners < 1:
        raise InputError(f"--runners must be >= 1, got {runners}")
    splits_path = out_path.with_name(out_path.stem + "_splits.csv")
    for path in (out_path, splits_path):
        check_writable(path, force)
    records, splits = synthesize(
        runners, seed, distances_km=tuple(distance_km or [MARATHON_KM]), n_races=races
    )
    write_atomic(out_path, lambda tmp: records.to_csv(tmp, index=False))
    write_atomic(splits_path, lambda tmp: splits.to_csv(tmp, index=False))
    out.print(
        f"wrote {out_path} ({len(records)} records, {int(records['cramped'].sum())} cramps)"
        f" and {splits_path}; true coefficients: {json.dumps(DEFAULT_TRUTH['beta'])}"
    )


@app.command()
@guarded
def fit(
    data: Path,
    splits: SplitsOpt = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="posterior netCDF (default results/fit.nc)")
    ] = None,
    draws: Annotated[int, typer.Option("--draws")] = 1000,
    tune: Annotated[int, typer.Option("--tune")] = 1000,
    chains: Annotated[int, typer.Option("--chains")] = 2,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    priors_path: PriorsOpt = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="exit 3 if R-hat >= 1.01, ESS < 400 or any divergence")
    ] = False,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="exclude invalid rows (each one reported) instead of failing"
        ),
    ] = False,
    adaptation: Annotated[str, typer.Option(
        "--adaptation", help="nutpie mass matrix: auto (low_rank from 5,000 runner-races, "
        "1.8-3x faster there; diag below, more robust on small cohorts), diag or low_rank"
    )] = "auto",
    force: ForceOpt = False,
) -> None:
    """Fit the hazard model to logged race records and write the posterior."""
    import cramp
    from model import onset_location
    from model.features import build_features
    from model.fit import ADAPTATIONS
    from model.hazard_model import onset_windows
    from model.posterior import INTERVAL_KIND, INTERVAL_PROB
    from model.provenance import check_writable
    from model.specification import ONSET_UNKNOWN

    for name, value in (("--draws", draws), ("--tune", tune), ("--chains", chains)):
        if value < 1:
            raise InputError(f"{name} must be >= 1, got {value}")
    if adaptation not in ADAPTATIONS:
        raise InputError(f"--adaptation {adaptation!r}: use auto, diag or low_rank")
    priors = cramp.load_priors(priors_path)
    records = cramp.load_records(data, splits, skip_invalid=skip_invalid)
    if out_path is None:
        out_path = Path("results") / "fit.nc"
        out_path.parent.mkdir(exist_ok=True)
    check_writable(out_path, force)
    for line in records.excluded:
        err.print(line, highlight=False)
    for note in records.notes:
        err.print(f"note: {note}", highlight=False)
    features = build_features(records)
    outcome = features["outcome"].to_numpy()
    out.print(onset_location.summary(int((outcome == ONSET_UNKNOWN).sum()),
                                     int(onset_windows(features)[0].sum()), features.attrs),
              highlight=False)
    out.print(
        f"fitting {features.sizes['record']} runner-races ({features.sizes['runner']} "
        f"runners, {features.sizes['race']} races): compiling, then sampling "
        f"{chains} x ({tune} tune + {draws} draws)..."
    )
    result = cramp.fit(records, priors=priors, draws=draws, tune=tune, chains=chains, seed=seed,
                       adaptation=adaptation, progress=sys.stderr.isatty())
    result.save(out_path, force=force)
    table = result.summary()
    kind = f"{INTERVAL_PROB:.0%} equal-tailed credible interval"
    rich_table = Table(title=f"Posterior ({kind})")
    for column in ("parameter", "mean", "sd", "lower", "upper", "R-hat", "ESS bulk"):
        rich_table.add_column(column, justify="right" if column != "parameter" else "left")
    lower, upper = [c for c in table.columns if c.startswith(INTERVAL_KIND)][:2]
    for name, row in table.iterrows():
        rich_table.add_row(
            escape(str(name)),
            f"{row['mean']:.3f}",
            f"{row['sd']:.3f}",
            f"{row[lower]:.3f}",
            f"{row[upper]:.3f}",
            f"{row['r_hat']:.3f}",
            f"{row['ess_bulk']:.0f}",
        )
    out.print(rich_table)
    diagnostics = result.diagnostics
    out.print(
        f"diagnostics: max R-hat {diagnostics.rhat_max:.3f}, min ESS bulk "
        f"{diagnostics.ess_bulk_min:.0f} / tail {diagnostics.ess_tail_min:.0f}, "
        f"{diagnostics.divergences} divergences: "
        + ("OK" if diagnostics.ok else "NOT OK (" + "; ".join(diagnostics.problems()) + ")")
    )
    out.print(f"wrote {out_path}")
    if strict and not diagnostics.ok:
        raise typer.Exit(EXIT_DIAGNOSTICS)


@app.command("prior-check")
@guarded
def prior_check(
    priors_path: PriorsOpt = None,
    runners: Annotated[int, typer.Option("--runners")] = 1000,
    draws: Annotated[int, typer.Option("--draws")] = 400,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    out_dir: Annotated[Path, typer.Option("--out", help="output folder")] = Path(
        "results/prior_check"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    force: ForceOpt = False,
) -> None:
    """Prior predictive check: cramp incidence and onset positions the literature prior implies
    for a typical marathon and 56 km ultra field (no data needed)."""
    import cramp
    from model.posterior import INTERVAL_KIND, INTERVAL_PROB

    check = cramp.prior_check(priors_path, runners=runners, draws=draws, seed=seed)
    paths = check.save(out_dir, force=force)
    nc_path, png_path = paths["nc"], paths["png"]
    summary = check.summary()
    if as_json:
        print(json.dumps({"interval": {"kind": INTERVAL_KIND, "prob": INTERVAL_PROB},
                          "fields": summary}, indent=2))
        return
    table = Table(
        title="Prior predictive (literature prior; median and 95% equal-tailed "
        "interval over prior draws)"
    )
    for column in ("field", "incidence", "median onset km", "onsets in 2nd half"):
        table.add_column(column)
    for field, s in summary.items():
        table.add_row(
            field,
            f"{s['incidence_median']:.1%} ({s['incidence_lo']:.1%}-{s['incidence_hi']:.1%})",
            f"{s['onset_median_km']:.1f}",
            f"{s['onset_second_half_median']:.0%} ({s['onset_second_half_lo']:.0%}-"
            f"{s['onset_second_half_hi']:.0%})",
        )
    out.print(table)
    out.print(f"wrote {nc_path} and {png_path}")


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
) -> None:
    """Simulate a race under each intervention of a scenario and compare them: risk, risk
    difference, relative risk, NNT, probability of helping, time cost and expected finishing
    time, with 95% equal-tailed credible intervals; plots and the full result are saved."""
    import cramp

    s = cramp.Scenario.load(scenario)
    if draws < 2:
        raise InputError("--draws must be >= 2")
    paths = s.output_paths(out_dir, force=force)  # checked before the work, not after it
    who = "one runner" if s.single_runner else f"{s.spec.runners.count} runners"
    source = ("the literature prior" if posterior is None else f"the posterior {posterior}")
    err.print(f"{s.name}: {who}, {len(s.spec.interventions)} plans, parameters from {source}",
              highlight=False)
    result = _run_with_progress(s, posterior, draws, seed, priors_path, dask_address)
    result.save(paths["nc"].parent, force=force)
    if as_json:
        print(result.to_json())
        return
    _print_comparison(result.comparison)
    out.print(f"wrote {', '.join(str(x) for x in paths.values())}", highlight=False)


def _run_with_progress(s, posterior, draws, seed, priors_path, dask_address):
    from rich.progress import Progress

    run = functools.partial(s.run, posterior, draws=draws, seed=seed, priors=priors_path)
    if dask_address is not None:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1) if dask_address == "local" \
            else None
        with Client(cluster or dask_address):
            return run(backend="dask")
    with Progress(console=err, transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("simulating", total=None)
        return run(progress=lambda done, total: bar.update(task, completed=done, total=total))


def _print_comparison(table: dict) -> None:
    i = table["interval"]
    t = Table(title=f"{table['scenario']} ({table['parameters']}); mean and {i['prob']:.0%} "
              f"{'equal-tailed' if i['kind'] == 'eti' else i['kind']} credible interval")
    for column in ("plan", "risk", "risk difference", "relative risk", "NNT", "P(helps)",
                   "planned time", "expected finish incl. cramps", "median onset km"):
        t.add_column(column, overflow="fold")

    def pct(x):
        return f"{100 * x['mean']:.1f}% ({100 * x['lo']:.1f} to {100 * x['hi']:.1f})"

    for row in table["interventions"]:
        base = row["name"] == "baseline"
        nnt = row["nnt"]
        nnt_text = "" if base else (
            f"{nnt['mean']:.0f} ({nnt['lo']:.0f} to {nnt['hi']:.0f})" if nnt["lo"] is not None
            else f"{nnt['mean']:.0f} (interval includes no effect)" if nnt["mean"] else "-")
        e = row["expected_finish_time_s"]
        t.add_row(
            escape(row["name"]),
            pct(row["risk"]),
            "" if base else _points(row["risk_difference"]),
            "" if base else f"{row['relative_risk']['mean']:.2f} ({row['relative_risk']['lo']:.2f}"
            f" to {row['relative_risk']['hi']:.2f})",
            nnt_text,
            "" if base else f"{row['p_better']:.0%}",
            _clock(row["finish_time_delta_s"]["mean"], signed=not base) if not base else "",
            f"{_clock(e['mean'])} ({_clock(e['lo'])} to {_clock(e['hi'])})",
            f"{row['onset_km']['q50']:.1f}",
        )
    out.print(t)


def _points(x: dict) -> str:
    return f"{100 * x['mean']:+.1f} pts ({100 * x['lo']:+.1f} to {100 * x['hi']:+.1f})"


def _clock(seconds: float, signed: bool = False) -> str:
    sign = ("+" if seconds >= 0 else "-") if signed else ""
    total = round(abs(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h}:{m:02d}:{s:02d}"


@app.command("scenarios")
@guarded
def list_scenarios() -> None:
    """List the shipped scenarios (use their name with `cramp simulate`)."""
    import cramp

    for stem, (title, plans) in cramp.Scenario.catalogue().items():
        out.print(f"[bold]{stem}[/]: {title} ({', '.join(plans)})")


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
    force: ForceOpt = False,
) -> None:
    """Execute a notebook headless (papermill) into results/reports/ as HTML, recording the git
    commit, package versions, parameters, data hash and seed in the report."""
    from cramp.report import parse_parameters, run_report

    parameters = parse_parameters(ctx.args)
    html = run_report(notebook, parameters, out_dir, force=force, progress=sys.stderr.isatty())
    out.print(f"wrote {html} (and the executed notebook next to it)")


@app.command()
@guarded
def profile(
    folder: Annotated[Path, typer.Argument(help="folder of FIT, GPX and CSV activity files")],
    race_date: Annotated[str, typer.Option("--race-date", help="YYYY-MM-DD (local date)")],
    race_distance_km: Annotated[float, typer.Option("--race-distance-km")],
    tz: Annotated[str, typer.Option("--tz", help="the runner's IANA time zone")] = "UTC",
    out_path: Annotated[Path | None, typer.Option(
        "--out", help="write the [runner] block (or, with --scenario, a whole scenario) here")
    ] = None,
    scenario: Annotated[str | None, typer.Option(
        "--scenario", help="a scenario (file or shipped name) to copy race, weather and "
        "interventions from; the runner and pacing come from the profile")] = None,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="load and taper plot (default results/profiles/<folder>_<date>.png)")
    ] = None,
    each_subfolder: Annotated[bool, typer.Option(
        "--each-subfolder", help="FOLDER holds one sub-folder per runner: write one row per "
        "runner (record columns + profile figures) as CSV to --out")] = False,
    force: ForceOpt = False,
) -> None:
    """A runner profile for a coming race from their training files: longest run, ability,
    weekly volume, taper, training load (Performance Manager Chart) and muscle-damage proxies."""
    import datetime as dt

    from model.activities import read_training_log
    from model.plots import plot_training_load
    from model.provenance import check_writable, write_atomic
    from model.training_load import runner_profile
    from scenarios.spec import scenario_with_runner

    try:
        day = dt.date.fromisoformat(race_date)
    except ValueError:
        raise InputError(f"--race-date {race_date!r}: expected YYYY-MM-DD") from None
    if not 0 < race_distance_km <= 250:
        raise InputError(f"--race-distance-km {race_distance_km}: must be in (0, 250]")
    if each_subfolder:
        return _profile_rows(folder, day, race_distance_km, tz, out_path, force)
    log = read_training_log(folder, tz)
    for line in log.skipped + log.duplicates:
        err.print(f"skipped: {line}", highlight=False)
    if log.activities.empty:
        raise InputError(f"{folder}: no readable runs")
    p = runner_profile(log.activities, day, race_distance_km)
    plot = plot or Path("results/profiles") / f"{Path(folder).name}_{day}.png"
    plot.parent.mkdir(parents=True, exist_ok=True)
    targets = [plot, *([out_path] if out_path else [])]
    for target in targets:
        check_writable(target, force)
    text = None
    if out_path:
        note = _profile_note(p, log)
        text = (scenario_with_runner(scenario, p.runner_table(), race_distance_km, note)
                if scenario else note + _runner_block(p.runner_table()))
    _print_profile(p, log)
    write_atomic(plot, lambda tmp: plot_training_load(p, tmp))
    if out_path is not None and text is not None:
        write_atomic(out_path, lambda tmp: tmp.write_text(text))
    out.print(f"wrote {', '.join(str(t) for t in targets)}", highlight=False)


def _profile_rows(folder, day, race_distance_km, tz, out_path, force) -> None:
    from model.provenance import check_writable, write_atomic
    from model.training_load import profiles_table

    if out_path is None:
        raise InputError("--each-subfolder needs --out ROWS.csv")
    check_writable(out_path, force)
    table, problems = profiles_table(folder, day, race_distance_km, tz)
    for line in problems:
        err.print(f"skipped: {line}", highlight=False)
    write_atomic(out_path, lambda tmp: table.to_csv(tmp, index=False))
    out.print(f"wrote {out_path}: {len(table)} runners", highlight=False)


def _runner_block(table: dict) -> str:
    lines = ["[runner]"] + [f"{k} = {v}" for k, v in table.items()]
    return "\n".join(lines) + "\n# ck_pre_u_per_l = ...  (a measured pre-race CK, if any)\n" \
        "# cramp_history = true  (not in training files: set it)\n"


def _profile_note(p, log) -> str:
    return (f"# runner profile from {log.folder} for a {p.race_distance_km:g} km race on "
            f"{p.race_date}: {p.n_runs} runs read, {len(log.skipped)} files/rows skipped, "
            f"{len(log.duplicates)} duplicates dropped\n")


def _print_profile(p, log) -> None:
    t = Table(title=f"Runner profile for {p.race_date} ({p.race_distance_km:g} km), "
              f"{p.n_runs} runs from {log.folder}")
    t.add_column("figure")
    t.add_column("value")
    rows = [
        ("longest run, last 8 weeks", f"{p.longest_run_km:.1f} km"),
        ("ability (best recent effort)", f"{p.ref_distance_km:.1f} km in "
         f"{_clock(p.ref_time_s)} on {p.ref_date}"),
        ("predicted race time (Riegel)", _clock(p.predicted_race_time_s)),
        ("weekly km, last 8 weeks (newest first)", ", ".join(f"{w:.0f}" for w in p.weekly_km)),
        ("taper", f"{p.taper_days} days, volume down {p.taper_volume_reduction:.0%}"),
        ("fitness / fatigue / form (CTL / ATL / TSB)", f"{p.ctl:.0f} / {p.atl:.0f} / {p.tsb:+.0f}"),
        ("long-run km in the last 7 days", f"{p.long_run_km_last_7d:.1f}"),
        ("descent in the last 7 days", f"{p.descent_m_last_7d:.0f} m"),
        ("days since the last long run", "none in 180 days" if p.days_since_long_run is None
         else str(p.days_since_long_run)),
    ]
    for row in rows:
        t.add_row(*row)
    out.print(t)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
