"""A command's output set as bytes, every file marked with the run's id. A simulation's: result.nc
(in its attributes, with the full provenance), comparison.json (a `run_id` key), the plots (a PNG
text chunk `cramp_run_id`), course.csv (plain, so pandas reads it as is: its sha256 is listed in
provenance.json) and provenance.json (the run's id and provenance, and each file's sha256 and
size); a plan's (cramp/planning.py) likewise. Built in memory before anything is written, so a
failure here touches no output. A report marks its HTML with a ``<meta name="cramp-run-id">`` and
its notebook with a metadata key ``cramp_run_id``; a two-file set's manifest is described in
model/outputs.py."""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from model.outputs import manifest_bytes
from model.provenance import run_id as run_id_of

if TYPE_CHECKING:
    from cramp.simulation import SimulationResult

MANIFEST = "provenance.json"
PNG_RUN_ID_KEY = "cramp_run_id"
HTML_RUN_ID_META = "cramp-run-id"
IPYNB_RUN_ID_KEY = "cramp_run_id"  # in the notebook's metadata


def png_with_text(png: bytes, key: str, value: str) -> bytes:
    """`png` with a tEXt chunk `key`=`value` before its IEND chunk (the last 12 bytes)."""
    body = key.encode("latin-1") + b"\0" + value.encode("latin-1", errors="replace")
    chunk = (struct.pack(">I", len(body)) + b"tEXt" + body
             + struct.pack(">I", zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF))
    return png[:-12] + chunk + png[-12:]


def png_text(png: bytes) -> dict[str, str]:
    """The tEXt chunks of a PNG (key -> value)."""
    found, pos = {}, 8
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"tEXt":
            key, _, value = png[pos + 8:pos + 8 + length].partition(b"\0")
            found[key.decode("latin-1")] = value.decode("latin-1")
        pos += 12 + length
    return found


#: the simulation's plots, by output key, in the order they are written
PLOTS = ("risk", "time", "onset")


def output_files(result: SimulationResult, names: dict[str, str],
                 pngs: Callable[[], dict[str, bytes] | None] | None = None,
                 ) -> tuple[dict[str, bytes], str]:
    """(file name -> content, run id) for `result`; `names` maps the output keys (nc, json,
    course, risk, time, onset) to file names. `pngs`: returns the plots drawn elsewhere
    (`plot_jobs` drawn by cramp/plot_process.py), by output key, or None to draw them here; it
    is called after the other files are built, so that the drawing overlaps them."""
    attrs = dict(result.dataset.attrs)
    rid = run_id_of(attrs)
    dataset = result.dataset.copy(deep=False)
    dataset.attrs = {**attrs, "run_id": rid}
    files = {
        names["nc"]: bytes(dataset.to_netcdf(engine="h5netcdf")),
        names["json"]: json.dumps({**result.comparison, "run_id": rid}, indent=2).encode(),
        names["course"]: result.course_table().to_csv(index=False).encode(),
    }
    drawn = pngs() if pngs is not None else None
    if drawn is None:
        drawn = {key: draw_png(*job) for key, job in plot_jobs(result).items()}
    files.update({names[key]: png_with_text(drawn[key], PNG_RUN_ID_KEY, rid) for key in PLOTS})
    return with_manifest(files, rid, attrs), rid


def plot_jobs(result: SimulationResult) -> dict[str, tuple[str, tuple]]:
    """The simulation's plots as (drawing function of scenarios/plots.py, its arguments but the
    file), by output key; the arguments are plain numbers, which another process can draw
    without xarray."""
    from scenarios.compare import onset_lines

    title = result.scenario.name
    return {
        "risk": ("plot_risk", (result.comparison, title)),
        "time": ("plot_risk_vs_time", (result.comparison, title)),
        "onset": ("draw_onset", (onset_lines(result.dataset, result.onset_curves()), title)),
    }


def draw_png(function: str, args: tuple) -> bytes:
    """The PNG that scenarios/plots.py's `function`(*args, file) draws."""
    import scenarios.plots

    buffer = io.BytesIO()
    getattr(scenarios.plots, function)(*args, buffer)
    return buffer.getvalue()


def png_bytes(draw, run_id: str) -> bytes:
    """The PNG that `draw(file)` writes, marked with the run's id."""
    buffer = io.BytesIO()
    draw(buffer)
    return png_with_text(buffer.getvalue(), PNG_RUN_ID_KEY, run_id)


def with_manifest(files: dict[str, bytes], run_id: str, provenance: dict) -> dict[str, bytes]:
    """`files` plus provenance.json: the run's id, its provenance, and each file's sha256 and
    size, so a file can be matched to the run that wrote it."""
    return {**files, MANIFEST: manifest_bytes(files, run_id, provenance)}


def html_with_run_id(html: str, run_id: str) -> str:
    """`html` with ``<meta name="cramp-run-id" content=...>`` as the first element of its head
    (the page looks the same)."""
    meta = f'<meta name="{HTML_RUN_ID_META}" content="{run_id}">'
    match = re.search(r"<head[^>]*>", html, flags=re.IGNORECASE)
    if match is None:  # no head: a meta before the content is still read as one
        return meta + "\n" + html
    return html[:match.end()] + "\n" + meta + html[match.end():]


def html_run_id(html: str) -> str | None:
    """The run id `html_with_run_id` put in `html`, or None."""
    found = re.search(rf'<meta name="{HTML_RUN_ID_META}" content="([^"]*)">', html)
    return found.group(1) if found else None

