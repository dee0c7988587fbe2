"""Import speed of `cramp profile`'s training-log reader on a synthetic bulk export, against a
reference measured in the same run on the same files.

The export is built from the real files in tests/data/real_activities, each copy moved to its own
day so that nothing is a duplicate: a Strava-style zip ``activities/<n>.fit.gz`` (fenix 2 run,
2809 records), ``<n>.gpx.gz`` (4-track GPX, 871 points), ``<n>.tcx.gz`` (3-lap TCX, 384 points) and
rides (``<n>.fit.gz``, Edge 200), mixed 40/30/10/20 %.

The reference is what the importer did before (Garmin's SDK ``Decoder.read()`` for every FIT
file, ``gpxpy.parse`` + ``length_3d`` for every GPX, TCX not read at all, so ElementTree's parse is
timed for it), timed per file on a sample of the same export. Reported: wall time of the full
import, time per file for both, and their ratio.

    uv run python bench/import_speed.py                   # 3000 activities, 120-file sample
    uv run python bench/import_speed.py --n 500 --sample 60
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import json
import struct
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from model.data.activities import read_training_log  # noqa: E402
from model.data.activity_formats import fit  # noqa: E402
from model.data.activity_formats.fit_crc import crc16  # noqa: E402

REAL = ROOT / "tests" / "data" / "real_activities"
MIX = [("run.fit", "activity-small-fenix2-run.fit", 0.4), ("gpx", "korita-zbevnica.gpx", 0.3),
       ("tcx", "test.tcx", 0.1), ("ride.fit", "2015-10-13-08-43-15.fit", 0.2)]


def shift_fit(data: bytes, days: int) -> bytes:
    """`data` with every session's start_time and timestamp moved by `days`, CRC rewritten."""
    out = bytearray(data)
    view = memoryview(data)
    pos, end = data[0], data[0] + struct.unpack_from("<I", data, 4)[0]
    definitions = {}
    while pos < end:
        header = view[pos]
        pos += 1
        if header & 0x40 and not header & 0x80:
            d, pos = fit._read_definition(view, pos, header & 0x20, end)
            definitions[header & 0x0F] = d
            continue
        d = definitions[(header >> 5) & 3 if header & 0x80 else header & 0x0F]
        if d.global_num == fit.SESSION:
            for name, _, offset, code, _ in d.layout:
                if name in ("start_time", "timestamp"):
                    value = struct.unpack_from(d.endian + code, out, pos + offset)[0]
                    struct.pack_into(d.endian + code, out, pos + offset, value + days * 86400)
        pos += d.size
    struct.pack_into("<H", out, end, crc16(bytes(out[:end])))
    return bytes(out)


def shift_text(data: bytes, first_day: str, days: int) -> bytes:
    day = dt.date.fromisoformat(first_day) + dt.timedelta(days=days)
    return data.replace(first_day.encode(), day.isoformat().encode())


def build_export(n: int, target: Path) -> list[tuple[str, bytes]]:
    """Write the export zip; return the (kind, uncompressed bytes) of every activity."""
    originals = {src: (REAL / src).read_bytes() for _, src, _ in MIX}
    first_days = {"korita-zbevnica.gpx": "2010-10-03", "test.tcx": "2012-12-26"}
    files = []
    counts = [round(n * share) for _, _, share in MIX]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as z:
        k = 0
        for (kind, src, _), count in zip(MIX, counts, strict=True):
            for _ in range(count):
                k += 1
                data = (shift_fit(originals[src], k) if src.endswith(".fit")
                        else shift_text(originals[src], first_days[src], k))
                suffix = ".fit" if kind.endswith("fit") else f".{kind}"
                z.writestr(f"activities/{k}{suffix}.gz", gzip.compress(data, 6))
                files.append((suffix, data))
    return files


def reference(files: list[tuple[str, bytes]]) -> float:
    """Seconds to read `files` the way the importer did before."""
    import gpxpy
    from garmin_fit_sdk import Decoder, Stream

    start = time.perf_counter()
    for suffix, data in files:
        if suffix == ".fit":
            Decoder(Stream.from_byte_array(bytearray(data))).check_integrity()
            Decoder(Stream.from_byte_array(bytearray(data))).read()
        elif suffix == ".gpx":
            gpx = gpxpy.parse(data.decode())
            gpx.length_3d(), gpx.get_time_bounds(), gpx.get_uphill_downhill()
        else:
            ET.parse(io.BytesIO(data))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="activities in the export")
    parser.add_argument("--sample", type=int, default=120, help="files timed for the reference")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export.zip"
        files = build_export(args.n, export)
        start = time.perf_counter()
        log = read_training_log(export, now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
        ours = time.perf_counter() - start
    step = max(1, len(files) // args.sample)
    sample = files[::step][: args.sample]
    theirs = reference(sample)
    per_file_ours, per_file_theirs = ours / len(files), theirs / len(sample)
    print(json.dumps({
        "activities": len(files), "runs_imported": len(log.activities),
        "left_out": log.counts(), "import_wall_s": round(ours, 2),
        "ours_ms_per_file": round(1000 * per_file_ours, 2),
        "reference_ms_per_file": round(1000 * per_file_theirs, 2),
        "reference_sample_files": len(sample),
        "speedup_vs_reference": round(per_file_theirs / per_file_ours, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
