"""Uploads on the page: training files that fill in the runner (through `cramp profile`'s code,
`cramp.read_training_log` and `cramp.runner_profile`) and a `cramp fit` posterior.

Uploaded bytes are written to a temporary folder under their own names, so the readers see what
`cramp profile FOLDER` and `cramp simulate --posterior FIT.nc` see, and say the same things.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePath

import cramp


@dataclass(frozen=True)
class Profiled:
    """What training files tell the form: field values and the import report (lines)."""

    fields: dict[str, object]  # FormValues field -> value (ref_distance_km, ref_time, ...)
    report: list[str]


def profile_upload(files: list[tuple[str, bytes]], race_date: dt.date, race_distance_km: float,
                   tz: str = "UTC") -> Profiled:
    """The runner's recent result, longest run of the last 8 weeks and taper from uploaded
    training files (FIT/GPX/TCX/CSV, .gz, or zips of them), as `cramp profile` reads them.
    `race_distance_km` [km]. InputError when nothing readable is in them (the CLI's message)."""
    if not files:
        raise cramp.InputError("no training files uploaded")
    with tempfile.TemporaryDirectory(prefix="cramp-upload-") as tmp:
        folder = Path(tmp) / "uploaded files"
        folder.mkdir()
        for name, data in files:
            (folder / (PurePath(name).name or "upload")).write_bytes(data)
        # a single zip is read as the export it is; anything else as a folder of files
        only = [p for p in folder.iterdir()]
        source = only[0] if len(only) == 1 and only[0].suffix.lower() == ".zip" else folder
        log = cramp.read_training_log(source, tz)
    label = ", ".join(name for name, _ in files)
    report = [f"left out: {item}".replace(str(folder), "") for item in log.left_out]
    report += [f"note: {note}" for note in log.notes]
    report.append(log.summary())
    if log.activities.empty:
        raise cramp.InputError(f"{label}: no readable runs ({log.summary()})")
    p = cramp.runner_profile(log.activities, race_date, race_distance_km)
    table = p.runner_table()
    seconds = int(table["ref_time_s"])
    ref_time = f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    report.append(f"recent result {table['ref_distance_km']:g} km in {ref_time}; longest run "
                  f"of the last 8 weeks {table['longest_run_km']:g} km; taper "
                  f"{table['taper_days']} days ({p.n_runs} runs before the race)")
    return Profiled({"ref_distance_km": float(table["ref_distance_km"]), "ref_time": ref_time,
                     "longest_run_km": float(table["longest_run_km"]),
                     "taper_days": int(table["taper_days"])}, report)


def posterior_upload(name: str, data: bytes):
    """A `cramp fit` posterior (an xarray DataTree) from an uploaded netCDF file; InputError
    naming the upload when it is not one (the message `cramp simulate --posterior` gives)."""
    with tempfile.TemporaryDirectory(prefix="cramp-upload-") as tmp:
        path = Path(tmp) / (PurePath(name).name or "posterior.nc")
        path.write_bytes(data)
        return cramp.open_posterior(path, name)  # loaded into memory before the file goes


def course_upload(name: str, data: bytes) -> dict[str, object]:
    """Form values from a GPX file of the course: a course described by its own distance [km]
    and elevation profile ('km metres; ...'), as `cramp.course_from_gpx` reads it. InputError
    (naming the file) when it is not a usable course."""
    from cramp.web.form import FLAT

    course = cramp.course_from_gpx(data, name=PurePath(name).name or "course.gpx")
    profile = "; ".join(f"{km:g} {m:g}" for km, m in course["elevation_m"])
    return {"course": FLAT, "distance_km": course["distance_km"], "elevation": profile}
