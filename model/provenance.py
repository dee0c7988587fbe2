"""What every output records so it can be reproduced: package versions, data hash, seed, priors."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from model.errors import InputError
from model.evidence.priors import Priors

PACKAGES = (
    "cramp-risk",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "pymc",
    "pytensor",
    "arviz",
    "nutpie",
    "thermofeel",
    "h5netcdf",
)


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def provenance_attrs(
    *,
    seed: int | None,
    priors: Priors,
    data_sha256: str = "",
    data_source: str = "",
    extra: dict | None = None,
) -> dict[str, str | int]:
    """Attributes (netCDF-safe: strings and ints) describing how an output was made."""
    attrs: dict[str, str | int] = {
        "cramp_risk_packages": json.dumps(package_versions(), sort_keys=True),
        "git_commit": git_commit(),
        "seed": -1 if seed is None else int(seed),
        "priors_path": priors.path,
        "priors_sha256": priors.sha256,
        "priors": json.dumps(priors.table_rows()),
        "data_source": data_source,
        "data_sha256": data_sha256,
    }
    for key, value in (extra or {}).items():
        attrs[key] = value if isinstance(value, int | str) else json.dumps(value)
    return attrs


def provenance_frame(attrs: dict):
    """Provenance attributes as a one-column DataFrame for a report (the long priors JSON, which
    reports show as their own table, left out)."""
    import pandas as pd

    return pd.Series({k: v for k, v in attrs.items() if k != "priors"}, name="value").to_frame()


def run_id(attrs: dict) -> str:
    """A run's id: a hash of its provenance (inputs, seed, versions, commit), the same for a
    rerun with the same inputs, so outputs stay byte-identical and a mix of two different
    runs' files shows."""
    text = json.dumps({k: str(v) for k, v in attrs.items()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_writable(path: Path, force: bool) -> None:
    """Refuse to overwrite an existing output unless forced (and clear a killed run's
    temporaries for it)."""
    from model.outputs import clean_leftovers

    if path.is_dir():
        raise InputError(f"{path}: is a folder; the output is a file (give a file name)")
    clean_leftovers(path)
    if path.exists() and not force:
        raise InputError(f"{path}: already exists (use --force to overwrite)")
    if not path.parent.exists():
        raise InputError(f"{path.parent}: output folder does not exist")


def write_atomic(path: Path, write: Callable[[Path], object], *, force: bool = False) -> None:
    """Write through a temporary file in the same folder, then move it into place: an
    interrupted run leaves no half-written output. Without `force` the move refuses to replace
    a file (a hard link fails if the name exists), so a second run on the same output, started
    before this one finished, cannot be silently overwritten by it."""
    from model.outputs import temp_name

    # the pid in the name lets a later run remove it if this one is killed
    tmp_path = path.parent / temp_name(path.name)
    try:
        tmp_path.touch(mode=0o600, exist_ok=False)
        write(tmp_path)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # made 0600 above; outputs are ordinary files
        if force:
            os.replace(tmp_path, path)
        else:
            _move_without_replacing(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _move_without_replacing(tmp_path: Path, path: Path) -> None:
    try:
        os.link(tmp_path, path)  # atomic, and fails if `path` exists
    except FileExistsError:
        raise InputError(f"{path}: written by another run meanwhile; this run's result was not "
                         "saved (use --force to overwrite)") from None
    except OSError:  # a file system without hard links: check, then rename
        if path.exists():
            raise InputError(f"{path}: already exists (use --force to overwrite)") from None
        os.replace(tmp_path, path)
