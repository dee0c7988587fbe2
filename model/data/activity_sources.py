"""Where activity files come from: a folder (read recursively), ``.zip`` archives (nested zips
too: Garmin Connect's account export nests them) and ``.gz`` members (Strava's bulk export holds
``activities/<id>.fit.gz``, ``.gpx.gz``, ``.tcx.gz``).

Every file found is yielded, with the name a coach can find it by (zip members as
``export.zip/activities/123.fit.gz``) and its kind (``.fit``, ``.gpx``, ``.tcx``, ``.csv``, or what
else it is), so that nothing is skipped without a word.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from model.data.activity_formats import FORMATS, LeftOut

MAX_NESTING = 4  # zips in zips in ...: deeper is a zip bomb, not an export


@dataclass
class Member:
    """A file to decode: its name, its kind (".fit", ".gpx", ".tcx", ".csv") and its bytes."""

    name: str
    kind: str
    read: Callable[[], bytes]


def kind_of(name: str) -> tuple[str, bool]:
    """The format a file name says (".fit" for "x.FIT.gz") and whether it is gzipped."""
    path = PurePosixPath(name.lower())
    gz = path.suffix == ".gz"
    return (PurePosixPath(path.stem).suffix if gz else path.suffix), gz


def walk(root: Path) -> Iterator[Member | LeftOut]:
    """Members to decode and files left out, from a folder or a .zip file `root` (a Path)."""
    if root.is_file():
        yield from _file(root.name, root.read_bytes, 0)
        return
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        yield from _file(path.relative_to(root).as_posix(), path.read_bytes, 0)


def _file(name: str, read: Callable[[], bytes], depth: int) -> Iterator[Member | LeftOut]:
    base = PurePosixPath(name).name
    if base.startswith("._") or "__MACOSX/" in name or base == ".DS_Store":
        yield LeftOut(name, "unsupported format", "macOS metadata, not an activity")
        return
    kind, gz = kind_of(name)
    if kind == ".zip" and not gz:
        yield from _zip(name, read, depth)
    elif kind in FORMATS:
        yield Member(name, kind, (lambda: _gunzip(read())) if gz else read)
    else:
        yield LeftOut(name, "unsupported format", kind or "no extension")


def _zip(name: str, read: Callable[[], bytes], depth: int) -> Iterator[Member | LeftOut]:
    if depth >= MAX_NESTING:
        yield LeftOut(name, "unsupported format", f"zip nested more than {MAX_NESTING} deep")
        return
    try:
        archive = zipfile.ZipFile(io.BytesIO(read()))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        yield LeftOut(name, "damaged", f"not a readable zip: {exc}")
        return
    for info in sorted(infos, key=lambda i: i.filename):
        yield from _file(f"{name}/{info.filename}", _member_reader(archive, info), depth + 1)


def _member_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            return archive.read(info)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise ValueError(f"zip member cannot be extracted ({exc})") from None

    return read


def _gunzip(data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"not a readable .gz ({exc})") from None
