"""Claiming an output before the work and putting it in place whole after it.

A run claims its output (one file, or a folder holding an output set) before the long work:
the folder is created, writability and free space are checked, an existing output is refused
without force, and an exclusive lock (``fcntl.flock`` on ``.NAME.cramp-lock`` beside the output)
makes a second run on the same output fail at once ("in use by another run"). The OS drops the
lock when the process dies, even by SIGKILL, so a killed run never blocks the next one.

At the end everything is written into a temporary sibling (``.cramp-tmp-PID-XXXXXXXX-NAME``),
flushed to disk and renamed into place in one step, so after SIGINT, SIGKILL, a full disk or a
crash there is the complete old output or the complete new one. A folder replaced with force is
exchanged atomically (renameat2 RENAME_EXCHANGE) where the file system allows, else moved aside
to ``.cramp-old-PID-XXXXXXXX-NAME`` first; a run that claims the name later restores such a
folder if the new one never arrived, and removes temporaries whose process is gone. When the
write fails (e.g. the disk filled up meanwhile), the work is kept in the system's temporary
folder and the error says where.

Files written together beside other outputs (a report's .html and .ipynb, synth's records and
splits, a profile's scenario and plot) cannot be renamed into place in one step. Their set gets a
manifest, ``<stem>.provenance.json`` (the run's id, its provenance, each file's sha256 and size,
named relative to the manifest's folder), written FIRST, then the files one by one: the set is
complete exactly when every file it lists is there and is the one listed, so a run killed
between two renames, or before the first, leaves a set that tells on itself
(``set_problems``) and is refused ("incomplete set from an interrupted run") until ``--force``
writes it whole. A complete new set is never mistaken for a broken one (as it would be with the
manifest written last and killed just before it), and a file with no manifest is a plain
existing output (written by hand or by an older version), not an interrupted run.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from model.errors import InputError

TMP_PREFIX, OLD_PREFIX, LOCK_SUFFIX = ".cramp-tmp-", ".cramp-old-", ".cramp-lock"
SET_MANIFEST_SUFFIX = ".provenance.json"
_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


class OutputError(InputError):
    """An output that cannot be claimed or written (exit 2: the place, not the program, is at
    fault); when the work was kept elsewhere, `kept` is where."""

    def __init__(self, message: str, kept: Path | None = None):
        super().__init__(message)
        self.kept = kept


def temp_name(name: str) -> str:
    """A temporary sibling's name: the pid says whose it is, so a later run can tell a killed
    run's leftovers (pid gone) from a live run's."""
    return f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{name}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _leftover(entry: str, name: str, prefix: str) -> int | None:
    """The pid of a killed run's temporary for output `name`, or None if `entry` is not one
    (or its run is still alive)."""
    if not entry.startswith(prefix):
        return None
    parts = entry[len(prefix):].split("-", 2)
    if len(parts) != 3 or parts[2] != name or not parts[0].isdigit():
        return None
    pid = int(parts[0])
    return None if pid == os.getpid() or _pid_alive(pid) else pid


def remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def clean_leftovers(target: Path) -> None:
    """Remove a killed run's temporaries for `target`; put back an old output set that a killed
    run had moved aside and not yet replaced."""
    try:
        entries = os.listdir(target.parent)
    except OSError:
        return
    for entry in entries:
        if _leftover(entry, target.name, OLD_PREFIX) is not None:
            if not target.exists():
                with contextlib.suppress(OSError):
                    os.rename(target.parent / entry, target)
                    continue
            remove_path(target.parent / entry)
        elif _leftover(entry, target.name, TMP_PREFIX) is not None:
            remove_path(target.parent / entry)


def fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot sync a folder; the data is synced
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def write_bytes_synced(path: Path, data: bytes) -> None:
    """Write `data` with plain writes (a full disk is an OSError, not a crash in a library's
    destructor) and flush it to disk before it is renamed into place."""
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically (Linux renameat2); False where that is unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    if ctypes.get_errno() in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def keep_elsewhere(files: dict[str, bytes], run_id: str) -> Path | None:
    """Save a run's files in the system's temporary folder when the output could not be
    written; None if that fails too."""
    try:
        place = Path(tempfile.mkdtemp(prefix=f"cramp-kept-{run_id[:12]}-"))
        for name, data in files.items():
            (place / name).write_bytes(data)
    except OSError:
        return None
    return place


def free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:,.0f} MB" if n_bytes >= 1e6 else f"{n_bytes / 1e3:,.0f} kB"


def manifest_bytes(files: dict[str, bytes], run_id: str, provenance: dict) -> bytes:
    """An output set's manifest (provenance.json, or a set's <stem>.provenance.json): the run's
    id, its provenance, and each file's sha256 and size, so a file can be matched to the run
    that wrote it."""
    manifest = {"run_id": run_id,
                "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                          for name, data in files.items()},
                "provenance": dict(provenance)}
    return json.dumps(manifest, indent=2, default=str).encode()


def set_manifest_path(main: Path) -> Path:
    """The manifest of the output set whose main file is `main` (d.csv -> d.provenance.json)."""
    return main.with_name(main.stem + SET_MANIFEST_SUFFIX)


def set_problems(manifest: Path) -> list[str]:
    """What keeps the set `manifest` lists from being complete, one phrase per file (missing,
    or not the file listed: its sha256 differs); [] for a complete set."""
    try:
        listed = json.loads(manifest.read_text())["files"]
        expected = {name: meta["sha256"] for name, meta in listed.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return [f"{manifest.name} is not a readable manifest"]
    problems = []
    for name, sha256 in expected.items():
        try:
            with open(manifest.parent / name, "rb") as f:
                found = hashlib.file_digest(f, "sha256").hexdigest()
        except FileNotFoundError:
            problems.append(f"{name} missing")
            continue
        except OSError as exc:
            problems.append(f"{name} unreadable ({exc.strerror or exc})")
            continue
        if found != sha256:
            problems.append(f"{name} is not the file listed")
    return problems


def exists_message(path: Path) -> str:
    return f"{path}: already exists (use --force to overwrite)"


def incomplete_set_message(manifest: Path, problems: list[str]) -> str:
    return (f"{manifest}: incomplete set from an interrupted run ({'; '.join(problems)}); "
            "rerun with --force")


def check_output_set(manifest: Path) -> None:
    """Raise OutputError (exit 2) when the set `manifest` lists is incomplete, for whatever
    reads a set's files; no manifest is not an error (files written by hand or before
    manifests)."""
    if manifest.exists():
        problems = set_problems(manifest)
        if problems:
            raise OutputError(incomplete_set_message(manifest, problems))
