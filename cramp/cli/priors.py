"""Commands on the priors: `cramp priors` prints them; `cramp priors calibrate` calibrates the
baseline entries on the published figures (and with --write puts them into the priors file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cramp.cli.app import ForceOpt, PriorsOpt, app, guarded, out
from cramp.cli.render import print_calibration, print_priors

priors_app = typer.Typer(help="Print the priors, or calibrate the baseline on published figures.")
app.add_typer(priors_app, name="priors")


@priors_app.callback(invoke_without_command=True)
@guarded
def priors(
    ctx: typer.Context,
    priors_path: PriorsOpt = None,
    detail: Annotated[
        bool, typer.Option("--detail", help="also print the arithmetic from the published figures")
    ] = False,
) -> None:
    """Print the priors with their units and the evidence they rest on."""
    if ctx.invoked_subcommand is not None:
        return
    from model.evidence.priors import load_priors

    print_priors(load_priors(priors_path), detail)


@priors_app.command()
@guarded
def calibrate(
    priors_path: PriorsOpt = None,
    figures: Annotated[Path | None, typer.Option(
        "--figures", help="published figures TOML (default model/evidence/published_figures.toml)"
    )] = None,
    write: Annotated[bool, typer.Option(
        "--write", help="rewrite the two baseline entries of the priors file")] = False,
    force: ForceOpt = False,
) -> None:
    """Calibrate the baseline priors (log_hazard_per_km, distance_shape) on the published in-race
    figures; print them next to the file's, and with --write put them into the file."""
    from cramp.calibration import calibrate_priors

    result = calibrate_priors(priors_path, figures)
    print_calibration(result)
    if write:
        path = result.write(force=force)
        out.print(f"wrote the baseline entries of {path}")
