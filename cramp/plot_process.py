"""Draws a simulation's PNGs in a second process, started before the simulation, so that its
matplotlib import and first-figure costs (~0.5 s) overlap the simulation on another core instead
of following it (issue 13: a one-runner `cramp simulate` within ~1.5x the import of xarray and
matplotlib).

The first process sends `cramp.result_files.plot_jobs` (plain numbers, pickled) on the second's
stdin and reads the PNGs back from its stdout; the second draws them with the same functions, so
the bytes are the ones drawn in-process. Whenever the second process cannot help (one core, it
failed to start, it died), `pngs()` returns None and the caller draws in-process: the files are
the same, only later.

    plots = PlotProcess.start()
    try:
        result = ...                       # the simulation
        plots.submit(plot_jobs(result))
        files = output_files(result, names, pngs=plots.pngs)
    finally:
        plots.close()
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


class PlotProcess:
    """A second process that draws the PNGs of one simulation (see the module's docstring)."""

    def __init__(self, process: subprocess.Popen[bytes] | None) -> None:
        self._process = process
        self._sent = False

    @classmethod
    def start(cls) -> PlotProcess:
        """Start the drawing process; an inert one (`pngs()` is None) on a single core, where it
        would only compete with the simulation, or when it cannot start."""
        if _usable_cores() < 2:
            return cls(None)
        # the process must import this very source tree, whatever the working directory
        path = os.pathsep.join(p for p in (str(_ROOT), os.environ.get("PYTHONPATH")) if p)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "cramp.plot_process"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path})
        except OSError:
            return cls(None)
        return cls(process)

    def submit(self, jobs: dict[str, tuple[str, tuple]]) -> None:
        """Send the plots to draw (`plot_jobs`); the process starts drawing at once."""
        if self._process is None or self._process.stdin is None:
            return
        try:
            with self._process.stdin as pipe:
                pickle.dump(jobs, pipe, protocol=pickle.HIGHEST_PROTOCOL)
            self._sent = True
        except OSError:  # it died (a broken pipe): draw in-process
            self.close()

    def pngs(self) -> dict[str, bytes] | None:
        """The PNGs by output key, once drawn; None if this process could not draw them."""
        process, self._process = self._process, None
        if process is None or process.stdout is None or not self._sent:
            PlotProcess(process).close()
            return None
        try:
            with process.stdout as pipe:
                # read to the end before waiting: the PNGs exceed the pipe's buffer, and a
                # writer blocked on a full pipe would never exit
                reply = pipe.read()
            drawn = pickle.loads(reply) if process.wait() == 0 else None
        except (OSError, pickle.UnpicklingError, EOFError):
            drawn = None
        return drawn if isinstance(drawn, dict) else None

    def close(self) -> None:
        """Stop the process if it still runs (the command failed before its plots)."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows: no affinity masks
        return os.cpu_count() or 1


def _warm_up() -> None:
    """Draw and save one small figure with text: the first figure of a process pays for font
    loading and text layout (~0.2 s), here while the first process still simulates."""
    import io

    from matplotlib.figure import Figure

    from scenarios.plots import PNG_DPI

    fig = Figure(figsize=(2, 2), dpi=PNG_DPI)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="warm-up")
    ax.set_title("warm-up")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(io.BytesIO(), dpi=PNG_DPI, format="png")


def _serve() -> None:
    _warm_up()
    from cramp.result_files import draw_png

    try:
        jobs = pickle.load(sys.stdin.buffer)
    except EOFError:  # the first process ended without plots to draw
        return
    drawn = {key: draw_png(*job) for key, job in jobs.items()}
    sys.stdout.buffer.write(pickle.dumps(drawn, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _serve()
    # the reply is complete once this process has ended (end of file): skip the interpreter's
    # teardown of matplotlib (~0.1 s, which the first process would wait for)
    os._exit(0)
