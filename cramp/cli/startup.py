"""What the `cramp` application may do in its own process, and a library must not do in a user's:
keep xarray from importing dask for a simulation that does not use it, and leave the process
without tearing the interpreter down.

Called by the commands that simulate without `--dask` (`cramp simulate`, `cramp plan`), never
by `import cramp` or the public API: a notebook or a user's program owns its xarray, and a
library changing xarray's internals there would be a surprise (lead's decision, issue 13).
"""

from __future__ import annotations

import atexit
import os
import sys
from functools import cache
from typing import Any, cast


@cache
def dask_only_once_imported() -> None:
    """Let xarray look for dask only once something has imported dask.

    Why: with dask installed, xarray imports dask.array on its first Variable, and dask and
    distributed on every to_netcdf, to ask whether a value is a dask array or a dask scheduler
    is running: ~0.5 s of CPU in a one-runner `cramp simulate` (bench/answer_time.py), for a
    question whose answer is "no" until dask is imported (no dask array, collection or client
    can exist before).

    Why it is safe: the three probes are made lazy on exactly that condition, so once dask is
    imported (later in the same process) xarray asks dask as before, and answers as before.
    If xarray's internals differ from those expected (another xarray version), nothing is
    changed: the command is then only slower. Imports xarray (the caller is about to)."""
    import importlib.metadata

    from packaging.version import Version

    try:
        from xarray.backends import locks, writers
        from xarray.namedarray import pycompat
        from xarray.namedarray import utils as named
    except ImportError:
        return
    if "dask" in sys.modules or not all(hasattr(m, a) for m, a in (
            (locks, "get_dask_scheduler"), (writers, "get_dask_scheduler"),
            (named, "is_dask_collection"), (pycompat, "_cached_duck_array_modules"))):
        return

    class LazyDask:
        """xarray's record of the dask module (`pycompat.DuckArrayModule`), read when asked:
        no dask array type until dask.array is imported."""

        module = property(lambda self: sys.modules.get("dask"))
        available = property(lambda self: self.module is not None)
        version = property(lambda self: Version(importlib.metadata.version("dask")))
        type = property(lambda self: (sys.modules["dask.array"].Array,)
                        if "dask.array" in sys.modules else ())

    scheduler, is_collection = locks.get_dask_scheduler, named.is_dask_collection
    # duck-typed stand-ins: xarray reads only these attributes and calls
    pycompat._cached_duck_array_modules.setdefault(
        "dask", cast(pycompat.DuckArrayModule, LazyDask()))
    locks.get_dask_scheduler = writers.get_dask_scheduler = lambda *args, **kwargs: (
        scheduler(*args, **kwargs) if "dask" in sys.modules else None)
    named.is_dask_collection = cast(
        Any, lambda x: "dask" in sys.modules and is_collection(x))


def exit_without_teardown(code: object) -> None:
    """End the process with `code` (as `sys.exit` reads it) once the exit handlers have run,
    skipping the interpreter's teardown.

    Why: tearing down the modules a simulation loads (xarray, pandas, matplotlib, h5py) took
    0.3-0.45 s after the last output was written, about a fifth of a one-runner `cramp simulate`
    (bench/answer_time.py). Nothing of ours is left to it: every output is written, fsynced and
    renamed into place before the command returns, and the exit handlers (temporary folders,
    logging, a dask cluster's shutdown) still run here. Only the console script calls this;
    a program that calls the commands in-process (tests, `CliRunner`) ends its own way."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message on stderr, status 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`cramp ... | head`): nothing to flush to
            pass
    os._exit(status)
