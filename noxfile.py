#!/usr/bin/env -S uv run --script
# /// script
# dependencies = ["nox>=2024.3"]
# ///
"""Tasks for contributors who use nox (`nox -s tests`); each runs the same command as .ci/run,
through uv and the locked environment."""

import nox

nox.needs_version = ">=2024.3"
nox.options.default_venv_backend = "none"  # uv manages the environment (uv.lock)


@nox.session
def lint(session: nox.Session) -> None:
    session.run("uv", "run", "--locked", "ruff", "check", ".", external=True)
    session.run("uv", "run", "--locked", "mypy", external=True)


@nox.session
def tests(session: nox.Session) -> None:
    session.run("uv", "run", "pytest", *session.posargs, external=True)


@nox.session
def calibration(session: nox.Session) -> None:
    """The slow simulation-based calibration."""
    session.run("uv", "run", "pytest", "-m", "slow", *session.posargs, external=True)


if __name__ == "__main__":
    nox.main()
