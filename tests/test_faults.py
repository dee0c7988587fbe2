"""Faults replayed on `cramp simulate` and `cramp fit` (issue 19): SIGINT and SIGKILL at several
points, a disk that fills up during the write, a read-only folder, two runs on one output. After
each there is the complete old output set or the complete new one (every file's sha256 and run
id agree with provenance.json), and a killed run's leftovers never block or leak into the next.

Faults are injected by running the command line in a subprocess with one function patched (a
signal sent from inside it), so each fault hits the same point every time."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import xarray as xr
from conftest import record, write_csv

import cramp
from cramp.result_files import PNG_RUN_ID_KEY, png_text
from model.outputs import OutputError

SCENARIO = "goal_marathon_runner"

KILL_IN_THE_WORK = """
import scenarios.simulate as target
original = target.simulate
def simulate(*args, **kwargs):
    os.kill(os.getpid(), SIG)
    return original(*args, **kwargs)
target.simulate = simulate
"""
KILL_WHILE_WRITING = """
import model.output_claim as target
original, written = target.write_bytes_synced, []
def write(path, data):
    written.append(path)
    if len(written) == 4:
        os.kill(os.getpid(), SIG)
    return original(path, data)
target.write_bytes_synced = write
"""
KILL_BETWEEN_THE_RENAMES = """
import model.output_claim as target
target.exchange = lambda a, b: False  # a file system without an atomic exchange
original = os.rename
def rename(a, b):
    original(a, b)
    if ".cramp-old-" in str(b):
        os.kill(os.getpid(), SIG)
os.rename = rename
"""
WAIT_FOR_FILE = """
import scenarios.simulate as target
original = target.simulate
def simulate(*args, **kwargs):
    open(os.environ["STARTED"], "w").close()
    while not os.path.exists(os.environ["GO_ON"]):
        time.sleep(0.05)
    return original(*args, **kwargs)
target.simulate = simulate
"""


def run(args, cwd: Path, patch: str = "", sig: str = "SIGKILL", env=None, wait: bool = True):
    # Ctrl+C as a terminal delivers it: a runner started in the background by a shell without
    # job control (as CI may be) inherits SIGINT ignored, and the self-sent signal would vanish
    code = (f"import os, signal, sys, time\nSIG = signal.{sig}\n"
            "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            f"{textwrap.dedent(patch)}\n"
            "from cramp.cli import main\n"
            f"sys.argv = ['cramp', *{[str(a) for a in args]!r}]\nmain()\n")
    command = [sys.executable, "-c", code]
    full_env = {**os.environ, **(env or {})}
    if not wait:
        return subprocess.Popen(command, cwd=cwd, env=full_env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=300)


def simulate_args(out: Path, seed: int, *extra) -> list:
    return ["simulate", SCENARIO, "--draws", 20, "--seed", seed, "--out", out, "--json", *extra]


def complete_set(folder: Path) -> str:
    """The run id of the complete, consistent output set in `folder` (fails otherwise)."""
    manifest = json.loads((folder / "provenance.json").read_text())
    assert set(os.listdir(folder)) == {*manifest["files"], "provenance.json"}
    for name, meta in manifest["files"].items():
        data = (folder / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == meta["sha256"], name
    run_id = manifest["run_id"]
    assert json.loads((folder / "comparison.json").read_text())["run_id"] == run_id
    for png in ("risk.png", "risk_vs_time.png", "onset.png"):
        assert png_text((folder / png).read_bytes())[PNG_RUN_ID_KEY] == run_id
    with xr.open_dataset(folder / "result.nc", engine="h5netcdf") as ds:
        assert ds.attrs["run_id"] == run_id
    return run_id


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".cramp-"))


@pytest.fixture(scope="module")
def old_and_new(tmp_path_factory):
    """An output set from seed 1 (the old one) and the run id a seed-2 run gives (the new)."""
    tmp = tmp_path_factory.mktemp("sets")
    for seed in (1, 2):
        result = run(simulate_args(tmp / f"seed{seed}", seed), tmp)
        assert result.returncode == 0, result.stderr
    return tmp / "seed1", complete_set(tmp / "seed1"), complete_set(tmp / "seed2")


@pytest.mark.parametrize("sig", ["SIGINT", "SIGKILL"])
@pytest.mark.parametrize("patch", [KILL_IN_THE_WORK, KILL_WHILE_WRITING,
                                   KILL_BETWEEN_THE_RENAMES],
                         ids=["in the work", "while writing", "between the renames"])
def test_an_interrupted_forced_rerun_leaves_the_old_set_or_the_new(old_and_new, tmp_path,
                                                                    patch, sig):
    old_folder, old_id, new_id = old_and_new
    out = tmp_path / "out"
    shutil.copytree(old_folder, out)
    killed = run(simulate_args(out, 2, "--force"), tmp_path, patch, sig)
    assert killed.returncode != 0
    assert "Traceback" not in killed.stderr
    if sig == "SIGINT":  # interrupted cleanly: nothing left over, the old set in place
        assert leftovers(tmp_path) == [] and complete_set(out) == old_id
    # the next run on the name cleans up (and puts back an old set that was moved aside)...
    again = run(simulate_args(out, 2), tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert complete_set(out) == old_id and leftovers(tmp_path) == []
    # ... and a forced rerun replaces the set whole
    forced = run(simulate_args(out, 2, "--force"), tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert complete_set(out) == new_id and leftovers(tmp_path) == []


def test_a_second_run_on_the_same_output_fails_fast(tmp_path):
    started, go_on = tmp_path / "started", tmp_path / "go_on"
    env = {"STARTED": str(started), "GO_ON": str(go_on)}
    first = run(simulate_args(tmp_path / "out", 1), tmp_path, WAIT_FOR_FILE, env=env, wait=False)
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        second = run(simulate_args(tmp_path / "out", 2, "--force"), tmp_path)
        assert second.returncode == 2
        assert "in use by another run" in second.stderr and "Traceback" not in second.stderr
    finally:
        go_on.touch()
        stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert json.loads(stdout)["interventions"][0]["name"] == "baseline"
    complete_set(tmp_path / "out")
    assert leftovers(tmp_path) == []


def test_a_disk_that_fills_up_keeps_the_work_and_the_old_set(tmp_path, monkeypatch):
    import model.output_claim as claim_module

    goal = cramp.Scenario.load(SCENARIO)
    out = tmp_path / "out"
    goal.run(draws=20, seed=1).save(out)
    old_id = complete_set(out)
    original, written = claim_module.write_bytes_synced, []

    def full_disk(path, data):
        written.append(path)
        if len(written) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return original(path, data)

    monkeypatch.setattr(claim_module, "write_bytes_synced", full_disk)
    result = goal.run(draws=20, seed=2)
    with pytest.raises(OutputError, match="No space left on device") as failed:
        result.save(out, force=True)
    kept = failed.value.kept
    assert kept is not None and str(kept) in str(failed.value)
    try:
        assert len(list(kept.iterdir())) == 7  # the whole new set, kept where there was room
        assert complete_set(kept) != old_id
    finally:
        shutil.rmtree(kept)
    assert complete_set(out) == old_id and leftovers(tmp_path) == []


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder this process cannot write to: permissions, or for root a read-only tmpfs."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("root without mount: no read-only folder to test with")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


def test_fit_into_a_read_only_folder_fails_before_sampling(tmp_path, read_only_folder):
    data = write_csv(tmp_path / "d.csv", [record(), record(runner_id="B", cramped=1)])
    result = run(["fit", data, "--out", read_only_folder / "fit.nc"], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot write there" in result.stderr
    assert "fitting" not in result.stdout  # refused before compiling and sampling


def test_simulate_into_a_read_only_folder_exits_2(tmp_path, read_only_folder):
    result = run(simulate_args(read_only_folder / "out", 1), tmp_path)
    assert result.returncode == 2 and "cannot" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_tiny_disk_is_refused_before_the_work(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)]).returncode != 0:
        pytest.skip("needs root and mount for a tiny tmpfs")
    try:
        result = run(simulate_args(folder / "out", 1), tmp_path)
        assert result.returncode == 2 and "free, the output needs about" in result.stderr
        assert os.listdir(folder) == []
    finally:
        subprocess.run(["umount", str(folder)], check=False)


KILL_IN_THE_FIT = """
import model.inference.fit as target
original = target.compiled_for
def compiled_for(*args, **kwargs):
    os.kill(os.getpid(), SIG)
    return original(*args, **kwargs)
target.compiled_for = compiled_for
"""
KILL_WHILE_WRITING_THE_FIT = """
import model.output_claim as target
original = target.write_bytes_synced
def write(path, data):
    original(path, data)
    os.kill(os.getpid(), SIG)  # written in full, not yet moved into place
target.write_bytes_synced = write
"""


@pytest.mark.parametrize(("patch", "sig"), [(KILL_IN_THE_FIT, "SIGINT"),
                                            (KILL_IN_THE_FIT, "SIGKILL"),
                                            (KILL_WHILE_WRITING_THE_FIT, "SIGKILL")],
                         ids=["SIGINT in the fit", "SIGKILL in the fit",
                              "SIGKILL while writing"])
def test_an_interrupted_forced_fit_leaves_the_old_posterior(tmp_path, patch, sig):
    data = write_csv(tmp_path / "d.csv", [record(), record(runner_id="B", cramped=1)])
    out = tmp_path / "out"
    out.mkdir()
    old = b"the old posterior, byte for byte"
    (out / "fit.nc").write_bytes(old)
    args = ["fit", data, "--out", out / "fit.nc", "--draws", 10, "--tune", 10, "--no-extend"]
    killed = run([*args, "--force"], tmp_path, patch, sig)
    assert killed.returncode != 0 and "Traceback" not in killed.stderr
    assert (out / "fit.nc").read_bytes() == old
    # interrupted cleanly, nothing is left over; killed, its temporary file is
    assert (leftovers(out) == []) == (sig == "SIGINT")
    again = run(args, tmp_path)  # the next run cleans a killed run's leftovers up
    assert again.returncode == 2 and "already exists" in again.stderr
    assert (out / "fit.nc").read_bytes() == old and leftovers(out) == []
