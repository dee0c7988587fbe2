"""The training-log command: profile (a runner profile from exported activity files)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cramp.cli.app import ForceOpt, app, err, guarded, out
from cramp.cli.render import print_profile
from model.errors import InputError


@app.command()
@guarded
def profile(
    folder: Annotated[Path, typer.Argument(
        help="folder (read recursively) or .zip of FIT, GPX, TCX files (also .gz, nested zips), "
        "Strava/Garmin export CSVs or a CSV of runs")],
    race_date: Annotated[str, typer.Option("--race-date", help="YYYY-MM-DD (local date)")],
    race_distance_km: Annotated[float, typer.Option("--race-distance-km")],
    tz: Annotated[str, typer.Option("--tz", help="the runner's IANA time zone")] = "UTC",
    out_path: Annotated[Path | None, typer.Option(
        "--out", help="write the [runner] block (or, with --scenario, a whole scenario) here")
    ] = None,
    scenario: Annotated[str | None, typer.Option(
        "--scenario", help="a scenario (file or shipped name) to copy race, weather and "
        "interventions from; the runner and pacing come from the profile")] = None,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="load and taper plot (default results/profiles/<folder>_<date>.png)")
    ] = None,
    each_subfolder: Annotated[bool, typer.Option(
        "--each-subfolder", help="FOLDER holds one sub-folder per runner: write one row per "
        "runner (record columns + profile figures) as CSV to --out")] = False,
    force: ForceOpt = False,
) -> None:
    """A runner profile for a coming race from their training files: longest run, ability,
    weekly volume, taper, training load (Performance Manager Chart) and muscle-damage proxies."""
    import datetime as dt

    from cramp.result_files import png_bytes
    from model.data.activities import read_training_log
    from model.data.training_load import runner_profile
    from model.output_claim import OutputClaim, OutputSetClaim
    from model.outputs import set_manifest_path
    from model.plots import plot_training_load
    from model.provenance import package_versions, run_id
    from scenarios.template import scenario_with_runner

    try:
        day = dt.date.fromisoformat(race_date)
    except ValueError:
        raise InputError(f"--race-date {race_date!r}: expected YYYY-MM-DD") from None
    if not 0 < race_distance_km <= 250:
        raise InputError(f"--race-distance-km {race_distance_km}: must be in (0, 250]")
    if each_subfolder:
        return _profile_rows(folder, day, race_distance_km, tz, out_path, force)
    log = read_training_log(folder, tz)
    for item in log.left_out:
        err.print(f"left out: {item}", highlight=False)
    for note in log.notes:
        err.print(f"note: {note}", highlight=False)
    err.print(log.summary(), highlight=False)
    if log.activities.empty:
        raise InputError(f"{folder}: no readable runs ({log.summary()})")
    p = runner_profile(log.activities, day, race_distance_km)
    plot = plot or Path("results/profiles") / f"{Path(folder).name}_{day}.png"
    targets = (plot, *([out_path] if out_path else []))
    # with --out the two files are one set: a manifest beside --out lists both (the plot named
    # relative to it), so a run killed between their renames leaves a set that tells on itself
    claim = (OutputSetClaim(targets, set_manifest_path(out_path), force=force) if out_path
             else OutputClaim(plot, force=force))
    with claim:
        text = None
        if out_path:
            note = _profile_note(p, log)
            text = (scenario_with_runner(scenario, p.runner_table(), race_distance_km, note)
                    if scenario else note + _runner_block(p.runner_table()))
        print_profile(p, log)
        provenance = {"command": "profile", "folder": str(folder), "race_date": str(day),
                      "race_distance_km": race_distance_km, "tz": tz, "scenario": scenario,
                      "runner": p.runner_table(), "log": log.summary(),
                      "packages": package_versions()}
        rid = run_id({**provenance, "text": text})
        png = png_bytes(lambda file: plot_training_load(p, file), rid)
        if isinstance(claim, OutputSetClaim):
            assert out_path is not None  # for the type checker: a set is claimed only with --out
            marked = f"# run id {rid} (its files are listed in {claim.manifest.name})\n{text}"
            claim.commit({plot: png, out_path: marked.encode()}, rid, provenance)
        else:
            claim.commit_file(png, rid)
    out.print(f"wrote {', '.join(str(t) for t in targets)}", highlight=False)


def _profile_rows(folder, day, race_distance_km, tz, out_path, force) -> None:
    from model.data.training_load import profiles_table
    from model.provenance import check_writable, write_atomic

    if out_path is None:
        raise InputError("--each-subfolder needs --out ROWS.csv")
    check_writable(out_path, force)
    table, problems = profiles_table(folder, day, race_distance_km, tz)
    for line in problems:
        err.print(f"skipped: {line}", highlight=False)
    write_atomic(out_path, lambda tmp: table.to_csv(tmp, index=False), force=force)
    out.print(f"wrote {out_path}: {len(table)} runners", highlight=False)


def _runner_block(table: dict) -> str:
    lines = ["[runner]"] + [f"{k} = {v}" for k, v in table.items()]
    return "\n".join(lines) + "\n# ck_pre_u_per_l = ...  (a measured pre-race CK, if any)\n" \
        "# cramp_history = true  (not in training files: set it)\n"


def _profile_note(p, log) -> str:
    return (f"# runner profile from {log.folder} for a {p.race_distance_km:g} km race on "
            f"{p.race_date}: {p.n_runs} runs before the race; {log.summary()}\n")


