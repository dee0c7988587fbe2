"""Commands on the priors: `cramp priors` prints them; `cramp priors calibrate` calibrates the
baseline entries on the published figures (and with --write puts them into the priors file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cramp.cli.app import ForceOpt, PriorsOpt, app, guarded, out
from cramp.cli.render import print_calibration, print_exclusion, print_priors

ExcludeEvidenceOpt = Annotated[list[str] | None, typer.Option(
    "--exclude-evidence", help="leave a study's evidence out of the priors, e.g. E2 (repeat, or "
    "a comma list): for re-analysing one of the cohorts they rest on")]

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
    exclude_evidence: ExcludeEvidenceOpt = None,
) -> None:
    """Print the priors with their units and the evidence they rest on (with
    --exclude-evidence: rebuilt without those studies, and which priors that changed)."""
    if ctx.invoked_subcommand is not None:
        return
    from model.evidence.priors import load_priors

    p = load_priors(priors_path, exclude_evidence=exclude_evidence)
    print_priors(p, detail)
    print_exclusion(p)


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
    exclude_evidence: ExcludeEvidenceOpt = None,
) -> None:
    """Calibrate the baseline priors (log_hazard_per_km, distance_shape) on the published in-race
    figures; print them next to the file's, and with --write put them into the file. With
    --exclude-evidence the excluded studies' figures are dropped and the factor priors rebuilt
    without them before calibrating (printed only: copy the values into your own file)."""
    from cramp.calibration import calibrate_priors
    from model.errors import InputError
    from model.evidence.priors import DEFAULT_PRIORS_PATH, load_priors

    if exclude_evidence and write:
        raise InputError("--write with --exclude-evidence: the priors file is the literature's; "
                         "copy the printed baseline into your own priors file instead")
    p = load_priors(priors_path or DEFAULT_PRIORS_PATH, exclude_evidence=exclude_evidence)
    print_exclusion(p)
    result = calibrate_priors(p, figures)
    print_calibration(result)
    if write:
        path = result.write(force=force)
        out.print(f"wrote the baseline entries of {path}")
