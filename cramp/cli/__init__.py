"""The `cramp` command line: priors, check, synth, fit, prior-check, simulate, scenarios, report,
plan, profile and app (the coach's web page). Each command is argument parsing plus rendering on the
public API (`import cramp`).

Exit codes: 0 success; 2 bad input (the message names file, row, column and rule); 1 internal
failure; 3 `fit --strict` when the convergence diagnostics fail.
"""

from __future__ import annotations

# the command modules register their commands on `app` (in the order `--help` lists them)
from cramp.cli import data, plan, priors, sbc, scenario, training, web  # noqa: F401
from cramp.cli.app import app
from cramp.cli.startup import exit_without_teardown


def main() -> None:
    """The `cramp` console script: run the command, then leave the process without tearing the
    interpreter down (cramp/cli/startup.py says why)."""
    try:
        app()
    except SystemExit as finished:
        exit_without_teardown(finished.code)
    exit_without_teardown(0)
