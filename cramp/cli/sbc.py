"""The calibration-study command: sbc (simulation-based calibration of the model on a design)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cramp.cli.app import ForceOpt, PriorsOpt, app, err, guarded, out, say
from model.errors import InputError

SBC_FILES = ("sbc.nc", "sbc.png", "provenance.json")


@app.command()
@guarded
def sbc(
    design: Annotated[str, typer.Argument(
        help="a design preset: one_race_300, three_races_600 or six_races_1200")],
    replications: Annotated[int, typer.Option(
        "--replications", "-n", help="prior draws, each simulated and fitted (>= 100 for a "
        "verdict; fewer for a first look)")] = 100,
    dask_address: Annotated[str | None, typer.Option(
        "--dask", help="run the fits on a dask cluster: a scheduler address, or 'local' for a "
        "LocalCluster of --workers processes on this machine")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="worker processes of --dask local (default: the machine's cores)")
    ] = None,
    seed: Annotated[int, typer.Option(
        "--seed", help="base seed: replication i is seeded from (seed, i) alone")] = 1,
    records: Annotated[int | None, typer.Option(
        "--records", help="runner-races per cohort (default: the preset's)")] = None,
    races: Annotated[int | None, typer.Option(
        "--races", help="races per cohort (default: the preset's)")] = None,
    splits: Annotated[bool | None, typer.Option(
        "--splits/--no-splits", help="give the fit per-km splits (default: yes). Without, "
        "the fit sees an even pace where the generator used the real one: a check of what "
        "missing splits cost, not of the model")] = None,
    ck_measured: Annotated[float | None, typer.Option(
        "--ck-measured", help="share of runner-races with pre-race CK (default 0.6)")] = None,
    draws: Annotated[int, typer.Option("--draws", help="posterior draws per chain")] = 400,
    tune: Annotated[int, typer.Option("--tune", help="tuning steps per chain")] = 400,
    priors_path: PriorsOpt = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="output folder (default results/sbc/<design>)")] = None,
    force: ForceOpt = False,
) -> None:
    """Simulation-based calibration: draw the parameters from the priors, simulate a cohort
    of the design with the model's own generator, fit it, and rank the truth among the
    posterior draws, for every parameter. Writes sbc.nc, sbc.png (rank ECDFs with
    simultaneous 95% bands) and provenance.json; prints a verdict per parameter."""
    from model.evidence.priors import load_priors
    from model.output_claim import OutputClaim
    from model.validation.sbc import FitSettings, design_named, run_sbc

    the_design = design_named(design, n_records=records, n_races=races, splits=splits,
                              ck_measured_fraction=ck_measured)
    if replications < 2:
        raise InputError(f"--replications must be >= 2, got {replications}")
    if seed < 0:
        raise InputError(f"--seed must be a whole number >= 0, got {seed}")
    if draws < 50 or tune < 50:
        raise InputError(f"--draws and --tune must be >= 50, got {draws} and {tune}")
    if workers is not None and (workers < 1 or dask_address != "local"):
        raise InputError("--workers must be >= 1 and goes with --dask local")
    priors = load_priors(priors_path)
    target = out_dir or Path("results/sbc") / the_design.name
    with OutputClaim(target, force=force, folder=True, names=SBC_FILES) as claim:
        where = "in this process" if dask_address is None else f"on dask ({dask_address})"
        say(err, f"{the_design.describe()}; {replications} replications {where}, "
            f"{tune} + {draws} draws x 2 chains each")
        ds = run_sbc(the_design, replications, seed=seed, priors=priors,
                     settings=FitSettings(draws, tune), scheduler=dask_address,
                     n_workers=workers, progress=_progress(replications))
        files, rid = _output_files(ds, the_design.describe())
        claim.commit_folder(files, rid)
    _print_verdicts(ds)
    say(out, f"wrote {claim.target} ({', '.join(SBC_FILES)})")


def _progress(total: int):
    step = max(1, total // 20)

    def report(done: int, _total: int) -> None:
        if done % step == 0 or done == total:
            say(err, f"replication {done}/{total}")
            sys.stderr.flush()

    return report


def _output_files(ds, title: str) -> tuple[dict[str, bytes], str]:
    """sbc.nc (with provenance and the run id), sbc.png and provenance.json, in memory."""
    from cramp.result_files import png_bytes, with_manifest
    from model.provenance import run_id
    from model.validation.sbc_plot import plot_rank_ecdf

    attrs = dict(ds.attrs)
    rid = run_id(attrs)
    stamped = ds.copy(deep=False)
    stamped.attrs = {**attrs, "run_id": rid}
    files = {
        "sbc.nc": bytes(stamped.to_netcdf(engine="h5netcdf")),
        "sbc.png": png_bytes(lambda f: plot_rank_ecdf(ds, title, f), rid),
    }
    return with_manifest(files, rid, attrs), rid


def _print_verdicts(ds) -> None:
    from model.validation.sbc_plot import BAND_PROB, rank_verdicts

    table = rank_verdicts(ds)
    failed = ds["failed"].to_numpy()
    for index, reason in zip(ds["replication"].to_numpy(), failed, strict=True):
        if reason:
            say(err, f"left out: replication {index}: {reason}")
    n = int((failed == "").sum())
    say(out, f"{'parameter':<24} {'ECDF 95% band':>13} {'family band':>11} "
        f"{'in 90% int.':>11} {'P(<=)':>7} {'p 2-sided':>9}")
    for name, row in table.iterrows():
        say(out, f"{name:<24} {_yes(row['ecdf_in_95_band']):>13} "
            f"{_yes(row['ecdf_in_family_band']):>11} {row['in_90_interval']:>6}/{n:<4} "
            f"{row['p_at_most']:>7.3f} {row['p_two_sided']:>9.3f}")
    outside = table.index[~table["ecdf_in_family_band"]].tolist()
    compiled = int(ds["compiled"].sum())
    say(out, f"{n} replications ({int((failed != '').sum())} left out); models compiled "
        f"{compiled}x (reused in the other fits); "
        f"worst R-hat {float(ds['rhat_max'].max()):.3f}; divergences in "
        f"{int((ds['divergences'] > 0).sum())} fits; {ds.attrs['sbc_wall_seconds']} s")
    say(out, "verdict: " + ("every parameter's ranks look uniform (inside its band at a "
                            f"family-wise {BAND_PROB:.0%})" if not outside else
                            f"ranks not uniform for {', '.join(outside)}"))


def _yes(flag) -> str:
    return "inside" if bool(flag) else "OUTSIDE"
