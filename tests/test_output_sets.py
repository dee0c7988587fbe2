"""Two-file output sets (issue 19): `cramp synth` (records + splits), `cramp report` (.html +
.ipynb) and `cramp profile --out` (scenario + plot) cannot rename both files into place in one
step, so each set gets a manifest (<stem>.provenance.json, written first) and every file that
can carries the run id. A run killed between the renames leaves a set that the next run refuses
as "incomplete set from an interrupted run" (exit 2, nothing touched) and `--force` writes
whole; a complete set, or a file with no manifest, is refused as "already exists".

Kills are injected as in tests/test_faults.py: the command line in a subprocess with one step
patched (here: a signal right after the manifest and the first file are in place)."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from test_faults import leftovers, run
from typer.testing import CliRunner

from cramp.cli import app
from cramp.result_files import IPYNB_RUN_ID_KEY, PNG_RUN_ID_KEY, html_run_id, png_text
from model.output_claim import OutputClaim, OutputSetClaim
from model.outputs import OutputError, check_output_set, set_problems

KILL_BETWEEN_THE_SET_RENAMES = """
import model.output_claim as target
original, done = target.OutputClaim.commit_file, []
def commit_file(self, *args, **kwargs):
    path = original(self, *args, **kwargs)
    done.append(path)
    if len(done) == 2:  # the manifest and the set's first file are in place, not the second
        os.kill(os.getpid(), SIG)
    return path
target.OutputClaim.commit_file = commit_file
"""
TINY_NOTEBOOK = """
import nbformat
import cramp.report as report
def execute(path, parameters, known, progress):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        f"a report with {parameters}")])
report._execute = execute
"""


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def synth_args(out: Path, seed: int, *extra) -> list:
    return ["synth", "--runners", 30, "--seed", seed, "--out", out, *extra]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")}


def complete(manifest: Path) -> str:
    """The run id of the complete set `manifest` lists (fails otherwise)."""
    assert set_problems(manifest) == []
    check_output_set(manifest)
    return json.loads(manifest.read_text())["run_id"]


@pytest.fixture(scope="module")
def synth_sets(tmp_path_factory):
    """Complete synth sets from seed 1 (the old one) and seed 2 (what a rerun writes)."""
    tmp = tmp_path_factory.mktemp("synth")
    for seed in (1, 2):
        (tmp / f"seed{seed}").mkdir()
        made = cli(*synth_args(tmp / f"seed{seed}" / "d.csv", seed))
        assert made.exit_code == 0, made.output
    return tmp / "seed1", tmp / "seed2"


@pytest.mark.parametrize(("old_set", "sig"), [(False, "SIGKILL"), (True, "SIGKILL"),
                                              (True, "SIGINT")],
                         ids=["fresh, SIGKILL", "forced over a set, SIGKILL",
                              "forced over a set, SIGINT"])
def test_synth_killed_between_its_two_renames_leaves_a_set_that_tells(synth_sets, tmp_path,
                                                                        old_set, sig):
    old, new = synth_sets
    out = tmp_path / "out"
    if old_set:
        shutil.copytree(old, out)
    else:
        out.mkdir()
    killed = run(synth_args(out / "d.csv", 2, "--force"), tmp_path, KILL_BETWEEN_THE_SET_RENAMES,
                 sig)
    assert killed.returncode != 0 and "Traceback" not in killed.stderr
    # the new manifest and records are in place, the splits are not the ones it lists
    after_kill = snapshot(out)
    assert after_kill["d.csv"] == (new / "d.csv").read_bytes()
    assert set_problems(out / "d.provenance.json") == [
        "d_splits.csv " + ("is not the file listed" if old_set else "missing")]
    with pytest.raises(OutputError, match="incomplete set from an interrupted run"):
        check_output_set(out / "d.provenance.json")
    # a plain rerun says so, touches nothing and clears the killed run's temporaries
    again = cli(*synth_args(out / "d.csv", 2))
    assert again.exit_code == 2 and "Traceback" not in again.output
    assert ("d.provenance.json: incomplete set from an interrupted run (d_splits.csv"
            in again.stderr) and "rerun with --force" in again.stderr
    assert snapshot(out) == after_kill and leftovers(out) == []
    # --force writes the set whole: byte for byte what an uninterrupted run writes
    forced = cli(*synth_args(out / "d.csv", 2, "--force"))
    assert forced.exit_code == 0, forced.output
    assert snapshot(out) == snapshot(new) and complete(out / "d.provenance.json")
    assert leftovers(out) == []


def test_a_complete_set_or_a_file_without_a_manifest_already_exists(synth_sets, tmp_path):
    old, _ = synth_sets
    shutil.copytree(old, tmp_path / "out")
    before = snapshot(tmp_path / "out")
    again = cli(*synth_args(tmp_path / "out" / "d.csv", 2))
    assert again.exit_code == 2 and "d.csv: already exists (use --force" in again.stderr
    # files written by hand or by an older version: not taken for an interrupted run
    (tmp_path / "out" / "d.provenance.json").unlink()
    again = cli(*synth_args(tmp_path / "out" / "d.csv", 2))
    assert again.exit_code == 2 and "d.csv: already exists (use --force" in again.stderr
    assert "incomplete" not in again.stderr
    before.pop("d.provenance.json")
    assert snapshot(tmp_path / "out") == before


def test_a_set_in_use_by_another_run_is_refused_at_once(tmp_path):
    with OutputClaim(tmp_path / "d_splits.csv"):  # another run is writing this file
        second = cli(*synth_args(tmp_path / "d.csv", 1))
    assert second.exit_code == 2 and "in use by another run" in second.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_disk_that_fills_up_keeps_the_whole_set_and_the_rest_tells(tmp_path, monkeypatch):
    import model.output_claim as claim_module

    targets = (tmp_path / "a.txt", tmp_path / "b.txt")
    files = {targets[0]: b"first", targets[1]: b"second"}
    original, written = claim_module.write_bytes_synced, []

    def full_disk(path, data):
        written.append(path)
        if len(written) == 3:  # the manifest and a.txt are written, b.txt finds no room
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return original(path, data)

    monkeypatch.setattr(claim_module, "write_bytes_synced", full_disk)
    manifest = tmp_path / "a.provenance.json"
    with pytest.raises(OutputError, match="No space left on device") as failed:
        with OutputSetClaim(targets, manifest) as claim:
            claim.commit(files, "run1", {"why": "test"})
    kept = failed.value.kept
    try:
        assert sorted(p.name for p in kept.iterdir()) == ["a.provenance.json", "a.txt",
                                                          "b.txt"]
        assert complete(kept / "a.provenance.json") == "run1"  # the whole set, kept
    finally:
        shutil.rmtree(kept)
    assert set_problems(manifest) == ["b.txt missing"] and leftovers(tmp_path) == []
    monkeypatch.setattr(claim_module, "write_bytes_synced", original)
    with pytest.raises(OutputError, match="incomplete set from an interrupted run"):
        with OutputSetClaim(targets, manifest):
            pass
    with OutputSetClaim(targets, manifest, force=True) as claim:
        claim.commit(files, "run2", {})
    assert complete(manifest) == "run2" and targets[1].read_bytes() == b"second"


def test_report_files_carry_the_run_id_and_a_killed_rerun_tells(tmp_path):
    args = ["report", "what_if_coach", "--out", tmp_path / "out"]
    made = run(args, tmp_path, TINY_NOTEBOOK)
    assert made.returncode == 0, made.stderr
    manifest = tmp_path / "out" / "what_if_coach.provenance.json"
    rid = complete(manifest)
    html = (tmp_path / "out" / "what_if_coach.html").read_text()
    assert html_run_id(html) == rid and "a report with {}" in html
    notebook = nbformat.read(tmp_path / "out" / "what_if_coach.ipynb", as_version=4)
    assert notebook.metadata[IPYNB_RUN_ID_KEY] == rid
    killed = run([*args, "-p", "draws", "7", "--force"], tmp_path,
                 TINY_NOTEBOOK + KILL_BETWEEN_THE_SET_RENAMES)
    assert killed.returncode != 0 and "Traceback" not in killed.stderr
    again = run(args, tmp_path, TINY_NOTEBOOK)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "incomplete set from an interrupted run (what_if_coach.ipynb" in again.stderr
    forced = run([*args, "--force"], tmp_path, TINY_NOTEBOOK)
    assert forced.returncode == 0, forced.stderr
    assert complete(manifest) == rid and leftovers(tmp_path / "out") == []


def test_profile_scenario_and_plot_are_one_set(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    (log / "runs.csv").write_text("date,distance_km,duration_s\n2026-03-29,32.0,10800\n"
                                  "2026-04-05,21.1,5400\n2026-04-22,6.0,2100\n")
    args = ["profile", log, "--race-date", "2026-04-26", "--race-distance-km", 42.195,
            "--scenario", "goal_marathon_runner", "--out", tmp_path / "race" / "my.toml",
            "--plot", tmp_path / "plots" / "load.png"]
    made = cli(*args)
    assert made.exit_code == 0, made.output
    manifest = tmp_path / "race" / "my.provenance.json"
    rid = complete(manifest)
    assert set(json.loads(manifest.read_text())["files"]) == {"../plots/load.png", "my.toml"}
    assert png_text((tmp_path / "plots" / "load.png").read_bytes())[PNG_RUN_ID_KEY] == rid
    assert (tmp_path / "race" / "my.toml").read_text().startswith(f"# run id {rid} ")
    a_day_later = [*args[:3], "2026-04-27", *args[4:], "--force"]  # another taper, plot, text
    killed = run(a_day_later, tmp_path, KILL_BETWEEN_THE_SET_RENAMES)
    assert killed.returncode != 0 and "Traceback" not in killed.stderr
    again = cli(*args)
    assert again.exit_code == 2
    assert "incomplete set from an interrupted run (my.toml" in again.stderr
    forced = cli(*args, "--force")
    assert forced.exit_code == 0, forced.output
    assert complete(manifest) == rid
