"""The command line's shared parts: the typer app, the consoles, common options, and the guard
that turns bad input into a clear message and exit 2 and anything else into exit 1."""

from __future__ import annotations

import errno
import functools
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from model.errors import InputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Bayesian cramp risk for endurance races: priors, data checks, fitting.",
)
# piped output (scripts, logs, tests) gets wide lines instead of rich's 80-column default.
# markup=False: messages and tables echo user values (file names, plan names, cell contents),
# and "[/x]" in one must print as written, not crash the printer or swallow words; styling is
# given as Text spans instead.
out = Console(width=None if sys.stdout.isatty() else 160, markup=False)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160, markup=False)
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
    typer.Option("--splits", help="splits CSV/Parquet: long (runner_id, race_id, km, elapsed_s) "
                 "or wide (one split_<km>km column per timing mat)"),
]
ColumnsOpt = Annotated[
    Path | None,
    typer.Option("--columns", help="column map TOML: the study's column names, units, codes and "
                 "missing markers read as ours (docs/study_data.md)"),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="overwrite existing outputs")]


# the named file or place is at fault, not the program: exit 2 with the system's reason
_PLACE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM,
                 errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG, errno.EEXIST}


def say(console: Console, message: str, prefix: str = "", style: str = "") -> None:
    """Print `message` as plain text on one logical line (`prefix` in `style`)."""
    console.print(Text.assemble((prefix, style), message), highlight=False, soft_wrap=True)


def guarded(command):
    """Turn bad input into a clear message and exit 2, anything else into exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            problems = exc.problems
            if len(problems) > 1:
                say(err, str(exc), "error: ", "bold red")
            for line in problems[:50]:
                say(err, line if len(problems) == 1 else f"  {line}",
                    "error: " if len(problems) == 1 else "", "red")
            if len(problems) > 50:
                say(err, f"  ... and {len(problems) - 50} more")
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:
            if exc.errno not in _PLACE_ERRNOS:
                _internal(exc)
            where = f"{exc.filename}: " if exc.filename else ""
            say(err, f"{where}{exc.strerror or exc}", "error: ", "red")
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except Exception as exc:  # an internal failure: say so plainly
            _internal(exc)

    return wrapper


def _internal(exc: BaseException) -> NoReturn:
    say(err, f"{type(exc).__name__}: {exc}", "internal error: ", "bold red")
    if os.environ.get("CRAMP_DEBUG"):
        traceback.print_exc()
    else:
        say(err, "set CRAMP_DEBUG=1 for the traceback")
    raise typer.Exit(EXIT_INTERNAL) from None
