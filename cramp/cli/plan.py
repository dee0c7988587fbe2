"""`cramp plan`: one runner's fastest target within a cramp-risk ceiling, the target with the best
expected finish incl. cramps, the curve behind both, and the plan as a pace table, a pace band and
a Garmin FIT workout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cramp.cli.app import ForceOpt, PriorsOpt, app, err, guarded, out
from cramp.cli.render import print_plan
from cramp.cli.startup import dask_only_once_imported
from model.errors import InputError


@app.command()
@guarded
def plan(
    scenario: Annotated[str, typer.Argument(
        help="one-runner scenario TOML file, or the name of a shipped one")],
    max_risk: Annotated[float, typer.Option(
        "--max-risk", help="risk ceiling, a probability (0.2 = 20%)")],
    confidence: Annotated[float | None, typer.Option(
        "--confidence", help="instead of the mean risk: the target where P(risk <= ceiling) "
        ">= this probability")] = None,
    posterior: Annotated[Path | None, typer.Option(
        "--posterior", help="FIT.nc from `cramp fit` (default: the literature prior)")] = None,
    priors_path: PriorsOpt = None,
    draws: Annotated[int, typer.Option(
        "--draws", help="parameter draws (as `cramp simulate`)")] = 2000,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="seed for prior draws (default: the file's)")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="output folder (default results/plan/<scenario>)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
    force: ForceOpt = False,
) -> None:
    """Find the fastest target finishing time whose cramp risk stays within --max-risk (keeping
    the scenario's split and course), and the target that minimises the expected finish once
    time lost to cramps counts; writes plan.json, curve.csv, plan.png and, for the answer, a
    per-km pace table, a printable pace band and a Garmin FIT workout."""
    import cramp
    from cramp.planning import PlanResult

    s = cramp.Scenario.load(scenario)
    if not s.single_runner:
        raise InputError(f"{s.source}: `cramp plan` is for a single [runner]; this scenario has "
                         "a [population] (use `cramp simulate` for a field)")
    if draws < 2:
        raise InputError("--draws must be >= 2")
    if not 0 < max_risk < 1:
        raise InputError(f"--max-risk must be a probability between 0 and 1 (got {max_risk}; "
                         "20% is 0.2)")
    if confidence is not None and not 0 < confidence < 1:
        raise InputError(f"--confidence must be a probability between 0 and 1 (got {confidence})")
    source = "the literature prior" if posterior is None else f"the posterior {posterior}"
    # claimed before the search: a second run on the same folder is refused now, not at the end
    with PlanResult.claim_output(s, out_dir, force=force) as claim:
        err.print(f"{s.name}: searching targets, parameters from {source}", highlight=False)
        dask_only_once_imported()  # a search runs no dask (cramp/cli/startup.py)
        result = s.plan(max_risk, confidence=confidence, fit=posterior, draws=draws, seed=seed,
                        priors=priors_path)
        paths = result.save(claim=claim)
    if as_json:
        print(result.to_json())
        return
    print_plan(result.as_dict(), result.conclusions())
    out.print(f"wrote {', '.join(str(x) for x in paths.values())}", highlight=False)
