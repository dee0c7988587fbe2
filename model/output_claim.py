"""An exclusive claim on one output (a file or a folder), or on a set of files written together
with their manifest, taken before the work and committed whole after it (the protocol is
described in model/outputs.py)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from model.outputs import (
    LOCK_SUFFIX,
    OLD_PREFIX,
    OutputError,
    clean_leftovers,
    exchange,
    exists_message,
    free_bytes,
    fsync_path,
    incomplete_set_message,
    keep_elsewhere,
    manifest_bytes,
    mb,
    remove_path,
    set_problems,
    temp_name,
    write_bytes_synced,
)


class OutputClaim:
    """This run's claim on `target`: a folder holding the files `names` (`folder=True`) or one
    file. Use as ``with OutputClaim(...) as claim: ...work...; claim.commit_folder(files)``.

    `need_bytes`: the output's expected size, checked against the free space up front.
    `force`: replace an existing output. Raises OutputError (exit 2 on the command line) when
    the place is unusable, already holds an output (without force) or another run holds it."""

    def __init__(self, target: str | Path, *, force: bool = False, folder: bool = False,
                 names: tuple[str, ...] = (), need_bytes: int = 0):
        self.target = Path(target)
        if self.target.name in ("", ".", ".."):  # '.' has no name to put a sibling beside
            self.target = Path(os.path.abspath(self.target))
        self.force, self.folder, self.names, self.need_bytes = force, folder, names, need_bytes
        self.tmp: Path | None = None
        self._lock_fd: int | None = None
        self._lock_path = self.target.parent / f".{self.target.name}{LOCK_SUFFIX}"

    def __enter__(self) -> OutputClaim:
        try:
            self._claim()
        except BaseException:
            self.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _claim(self) -> None:
        target, parent = self.target, self.target.parent
        if self.folder and target.exists() and not target.is_dir():
            raise OutputError(f"{target}: is a file; the output is a folder (choose a folder "
                              "name)")
        if not self.folder and target.is_dir():
            raise OutputError(f"{target}: is a folder; the output is a file (give a file name)")
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{parent}: cannot create the output folder "
                              f"({exc.strerror or exc})") from None
        self._lock()
        clean_leftovers(target)
        self._check_existing()
        try:
            self.tmp = parent / temp_name(target.name)
            if self.folder:
                self.tmp.mkdir()
            else:
                self.tmp.touch(exist_ok=False)
        except OSError as exc:
            self.tmp = None
            raise OutputError(f"{parent}: cannot write there ({exc.strerror or exc})") from None
        free = free_bytes(parent)
        if free is not None and free < self.need_bytes:
            raise OutputError(f"{parent}: {mb(free)} free, the output needs about "
                              f"{mb(self.need_bytes)}")

    def _lock(self) -> None:
        while True:
            try:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                raise OutputError(f"{self.target.parent}: cannot write there "
                                  f"({exc.strerror or exc})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise OutputError(f"{self.target}: in use by another run (pid {holder}); "
                                  "wait for it to finish or choose another output") from None
            # the holder before us may have removed the lock file after we opened it: lock
            # the file that is there now, or two runs would each hold a different one
            with contextlib.suppress(FileNotFoundError):
                if os.stat(self._lock_path).st_ino == os.fstat(fd).st_ino:
                    os.ftruncate(fd, 0)
                    os.write(fd, str(os.getpid()).encode())
                    self._lock_fd = fd
                    return
            os.close(fd)

    def _check_existing(self) -> None:
        target = self.target
        if self.folder and target.is_dir():
            entries = set(os.listdir(target))
            foreign = sorted(entries - set(self.names))
            if foreign:
                shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
                raise OutputError(f"{target}: holds files that are not this command's outputs "
                                  f"({shown}); the outputs are written as a whole folder: "
                                  "choose a new or empty folder")
            if entries and not self.force:
                raise OutputError(exists_message(target))
        elif target.exists() and not self.force:
            raise OutputError(exists_message(target))

    def commit_folder(self, files: dict[str, bytes], run_id: str) -> dict[str, Path]:
        """Write `files` (name -> content) into the temporary folder, then put it in place of
        the target in one step. On failure the files are kept elsewhere (OutputError says
        where)."""
        if not self.folder or self.tmp is None:
            raise RuntimeError("commit_folder needs a claimed folder")
        try:
            for name, data in files.items():
                write_bytes_synced(self.tmp / name, data)
            fsync_path(self.tmp, directory=True)
            self._swap_in()
        except OSError as exc:
            self._fail(exc, files, run_id)
        self.tmp = None
        return {name: self.target / name for name in files}

    def commit_file(self, data: bytes, run_id: str, *, keep: dict[str, bytes] | None = None
                    ) -> Path:
        """Write `data` to the claimed file through its temporary sibling. On failure `keep`
        (name -> content; default this file) is kept elsewhere (OutputError says where)."""
        if self.folder or self.tmp is None:
            raise RuntimeError("commit_file needs a claimed file")
        try:
            self.tmp.unlink()
            write_bytes_synced(self.tmp, data)
            if self.force:
                os.replace(self.tmp, self.target)
            else:  # a hard link fails if the name exists: never replace what another wrote
                os.link(self.tmp, self.target)
                self.tmp.unlink()
            fsync_path(self.target.parent, directory=True)
        except OSError as exc:
            self._fail(exc, keep or {self.target.name: data}, run_id)
        self.tmp = None
        return self.target

    def _swap_in(self) -> None:
        assert self.tmp is not None
        target, parent = self.target, self.target.parent
        if not target.exists() or not os.listdir(target):
            os.rename(self.tmp, target)  # replaces an empty folder, too
        elif exchange(self.tmp, target):
            remove_path(self.tmp)  # now holds the old set
        else:
            old = parent / temp_name(target.name).replace(".cramp-tmp-", OLD_PREFIX, 1)
            try:
                os.rename(target, old)
                os.rename(self.tmp, target)
            except BaseException:  # e.g. Ctrl+C between the two: put the old set back
                if old.exists() and not target.exists():
                    os.rename(old, target)
                raise
            remove_path(old)
        fsync_path(parent, directory=True)

    def _fail(self, exc: OSError, files: dict[str, bytes], run_id: str) -> None:
        kept = keep_elsewhere(files, run_id)
        where = f"; the result was kept in {kept}" if kept else "; it could not be kept either"
        raise OutputError(f"{self.target}: could not be written ({exc.strerror or exc}){where}",
                          kept) from None

    def release(self) -> None:
        """Remove the temporary sibling (if the run did not commit) and drop the lock."""
        if self.tmp is not None:
            remove_path(self.tmp)
            self.tmp = None
        if self._lock_fd is not None:
            # removed while still held, so a run waiting on this file retries on a fresh one
            with contextlib.suppress(OSError):
                os.unlink(self._lock_path)
            os.close(self._lock_fd)
            self._lock_fd = None


class OutputSetClaim:
    """This run's claim on files written together beside other outputs (e.g. a report's .html
    and .ipynb): each file, and the set's `manifest`, claimed as OutputClaim claims one file,
    then the set checked as a whole (model/outputs.py: manifest first, then the files). Use as
    ``with OutputSetClaim(...) as claim: ...work...; claim.commit(files, run_id, provenance)``.

    Without `force` an existing output is refused: a complete set (or a file with no manifest)
    as "already exists", a set its manifest does not match as "incomplete set from an
    interrupted run"; with `force` either is replaced whole. `need_bytes`: the set's size."""

    def __init__(self, targets: tuple[Path, ...], manifest: Path, *, force: bool = False,
                 need_bytes: int = 0):
        self.targets = tuple(Path(t) for t in targets)
        self.manifest = Path(manifest)
        if self.manifest in self.targets or len(set(self.targets)) != len(self.targets):
            raise OutputError(f"{self.manifest}: the outputs {', '.join(map(str, targets))} "
                              "and their manifest need different names")
        self.force, self.need_bytes = force, need_bytes
        self._claims: list[OutputClaim] = []
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> OutputSetClaim:
        try:
            for i, target in enumerate((self.manifest, *self.targets)):
                # each file's own existence check is the set's, made below under all the locks
                self._claims.append(self._stack.enter_context(OutputClaim(
                    target, force=True, need_bytes=self.need_bytes if i == 0 else 0)))
            self._check_existing()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _check_existing(self) -> None:
        if self.manifest.exists():
            problems = set_problems(self.manifest)
            if problems and not self.force:
                raise OutputError(incomplete_set_message(self.manifest, problems))
        existing = [t for t in (*self.targets, self.manifest) if t.exists()]
        if existing and not self.force:
            raise OutputError(exists_message(existing[0]))
        for claim in self._claims:  # no-replace renames from here on unless forced
            claim.force = self.force

    def commit(self, files: dict[Path, bytes], run_id: str, provenance: dict) -> None:
        """Write the manifest of `files` (target -> content; every target once), then the
        files in the targets' order. On failure the whole set is kept elsewhere (OutputError
        says where) and what was written tells on itself as incomplete."""
        files = {Path(t): data for t, data in files.items()}
        if set(files) != set(self.targets) or len(self._claims) != len(files) + 1:
            raise RuntimeError("commit needs each claimed target once, inside the claim")
        folder = self.manifest.parent
        manifest = manifest_bytes({os.path.relpath(t, folder): files[t] for t in self.targets},
                                  run_id, provenance)
        keep = {self.manifest.name: manifest, **{t.name: data for t, data in files.items()}}
        self._claims[0].commit_file(manifest, run_id, keep=keep)
        for target, claim in zip(self.targets, self._claims[1:], strict=True):
            claim.commit_file(files[target], run_id, keep=keep)
