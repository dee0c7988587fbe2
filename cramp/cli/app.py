"""The command line's shared parts: the typer app, the consoles, common options, and the guard
that turns bad input into a clear message and exit 2 and anything else into exit 1."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

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
        "--priors",
        help="priors TOML file (default: the literature priors, model/evidence/priors.toml)",
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


