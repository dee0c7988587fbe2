"""The error type for bad user input: the command line turns it into a message and exit code 2."""

from __future__ import annotations


class InputError(Exception):
    """Bad input from the user. `problems` lists every problem found, each a one-line message
    naming the file, row, column and the rule broken."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or [message]
