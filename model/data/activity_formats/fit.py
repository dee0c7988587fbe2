"""FIT activity files: a reader that decodes only what a training log needs.

Garmin's SDK decodes every message (0.5-0.8 s of CPU for a long run, nearly all of it in the
per-second record messages) and refuses files that real devices write. This reader walks the
record headers, skips each message by its defined size, and decodes only file_id, session,
activity and sport messages (record messages are only counted). Where it departs from the SDK:

- a header CRC of 0 means "not computed" (FIT protocol); older devices (Forerunner 110/910XT,
  Edge 200/800/810) write it, so it is accepted; a non-zero header CRC must match;
- compressed-timestamp record headers are read (the SDK stops on them);
- a header whose data size runs past the end of the file (written by the Strava app) is read up to
  the end of the file; a session that decodes completely is kept, with a note;
- a chained file (several FIT files one after the other) keeps every part that is valid: a corrupt
  second part does not lose the first;
- a file CRC that does not match marks the part damaged unless its session decoded completely
  from a structurally valid file (then it is kept with a note).

Units as the FIT profile defines them: times in s (scale 1000), distance in m (scale 100), speed in
m/s (scale 1000), ascent/descent in m, heart rate in bpm. FIT times count seconds from
1989-12-31 00:00 UTC; values below 0x10000000 are seconds since the device was switched on (a clock
never set) and come out as dates around 1990.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass, field

from model.data.activity_formats.fit_crc import crc16

FIT_EPOCH = dt.datetime(1989, 12, 31, tzinfo=dt.UTC)
FILE_ID, SPORT, SESSION, RECORD, ACTIVITY = 0, 12, 18, 20, 34
# global message -> {field number: (name, scale)}; everything else is skipped unread
WANTED = {
    FILE_ID: {0: ("type", 1), 1: ("manufacturer", 1), 2: ("product", 1)},
    SPORT: {0: ("sport", 1), 1: ("sub_sport", 1)},
    SESSION: {2: ("start_time", 1), 253: ("timestamp", 1), 5: ("sport", 1),
              6: ("sub_sport", 1), 7: ("total_elapsed_time", 1000),
              8: ("total_timer_time", 1000), 9: ("total_distance", 100),
              16: ("avg_heart_rate", 1), 22: ("total_ascent", 1), 23: ("total_descent", 1)},
    ACTIVITY: {253: ("timestamp", 1), 5: ("local_timestamp", 1)},
}
# base type number (low 5 bits) -> (struct code, size, invalid value)
BASE_TYPES = {0: ("B", 1, 0xFF), 1: ("b", 1, 0x7F), 2: ("B", 1, 0xFF), 3: ("h", 2, 0x7FFF),
              4: ("H", 2, 0xFFFF), 5: ("i", 4, 0x7FFFFFFF), 6: ("I", 4, 0xFFFFFFFF),
              8: ("f", 4, None), 9: ("d", 8, None), 10: ("B", 1, 0), 11: ("H", 2, 0),
              12: ("I", 4, 0), 14: ("q", 8, 0x7FFFFFFFFFFFFFFF),
              15: ("Q", 8, 0xFFFFFFFFFFFFFFFF), 16: ("Q", 8, 0)}


class FitError(ValueError):
    """The bytes are not a readable FIT file (the message says why and where)."""


@dataclass
class FitContent:
    """What a FIT file holds for a training log: raw field values by message, and notes."""

    sessions: list[dict] = field(default_factory=list)
    activities: list[dict] = field(default_factory=list)
    sports: list[dict] = field(default_factory=list)
    file_ids: list[dict] = field(default_factory=list)
    n_records: int = 0
    parts: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class _Definition:
    size: int
    wanted: dict | None  # global message's wanted fields, or None to skip
    layout: list = field(default_factory=list)  # (name, scale, offset, struct code, invalid)
    endian: str = "<"
    global_num: int = -1


def fit_time(value: int | None) -> dt.datetime | None:
    """A FIT date_time [s since 1989-12-31 UTC] as an aware UTC datetime."""
    return None if value is None else FIT_EPOCH + dt.timedelta(seconds=value)


def read_fit(data: bytes) -> FitContent:
    """Decode the messages a training log needs from `data` (one file, or chained files).

    Raises FitError when the file is not FIT, or no part of it holds a complete session."""
    content = FitContent()
    view = memoryview(data)
    pos, damaged = 0, ""
    while pos < len(data):
        try:
            pos = _read_part(view, pos, content)
        except FitError as exc:
            damaged = str(exc)
            break
        content.parts += 1
    if not content.sessions:
        raise FitError(damaged or "no session message (not an activity file)")
    if damaged:
        content.notes.append(f"part {content.parts + 1} of a chained file is damaged and was "
                             f"left out ({damaged})")
    return content


def _read_part(view: memoryview, pos: int, content: FitContent) -> int:
    """Read one FIT file starting at byte `pos`; returns where the next one would start."""
    if len(view) - pos < 12:
        raise FitError(f"{len(view) - pos} stray bytes at byte {pos}")
    header_size = view[pos]
    if header_size not in (12, 14) or bytes(view[pos + 8:pos + 12]) != b".FIT":
        raise FitError(f"no FIT header at byte {pos}")
    data_size = struct.unpack_from("<I", view, pos + 4)[0]
    if header_size == 14:
        header_crc = struct.unpack_from("<H", view, pos + 12)[0]
        if header_crc not in (0, crc16(view[pos:pos + 12])):
            raise FitError("header CRC does not match (damaged header)")
    start = pos + header_size
    end = start + data_size
    notes = []
    if end + 2 > len(view):
        # Strava's app writes a data size a few bytes too long; a cut-off file looks the same,
        # and is told apart by whether its session decodes completely
        notes.append(f"header data size {data_size} runs past the end of the file")
        end = len(view) - 2
    found = FitContent()
    complete = _read_records(view, start, end, found)
    crc_ok = struct.unpack_from("<H", view, end)[0] == crc16(view[pos:end]) if \
        end + 2 <= len(view) else False
    if not (complete and crc_ok) and not found.sessions:
        raise FitError("truncated or damaged: no complete session message"
                       + ("" if crc_ok else ", file CRC does not match"))
    if not crc_ok:
        notes.append("file CRC does not match; the session decoded completely and is used")
    for name in ("sessions", "activities", "sports", "file_ids"):
        getattr(content, name).extend(getattr(found, name))
    content.n_records += found.n_records
    content.notes.extend(notes)
    return end + 2


def _read_records(view: memoryview, pos: int, end: int, out: FitContent) -> bool:
    """Walk records from `pos` to `end`; True if they end exactly there. Messages that are cut
    off or use an undefined local number stop the walk (what was read so far is kept)."""
    definitions: dict[int, _Definition] = {}
    while pos < end:
        header = view[pos]
        pos += 1
        if header & 0x80:  # compressed timestamp header: local number in bits 5-6
            local = (header >> 5) & 0x03
        elif header & 0x40:  # definition message
            local = header & 0x0F
            definition, pos = _read_definition(view, pos, header & 0x20, end)
            if definition is None:
                return False
            definitions[local] = definition
            continue
        else:
            local = header & 0x0F
        definition = definitions.get(local)
        if definition is None or pos + definition.size > end:
            return False
        if definition.global_num == RECORD:
            out.n_records += 1
        elif definition.wanted is not None:
            _store(out, definition, _decode(view, pos, definition))
        pos += definition.size
    return pos == end


def _read_definition(view: memoryview, pos: int, has_developer_fields: int, end: int):
    if pos + 5 > end:
        return None, pos
    endian = ">" if view[pos + 1] == 1 else "<"
    global_num = struct.unpack_from(endian + "H", view, pos + 2)[0]
    n_fields = view[pos + 4]
    pos += 5
    if pos + 3 * n_fields > end:
        return None, pos
    wanted = WANTED.get(global_num)
    definition = _Definition(0, wanted, endian=endian, global_num=global_num)
    for i in range(n_fields):
        number, size, base = view[pos + 3 * i], view[pos + 3 * i + 1], view[pos + 3 * i + 2]
        if wanted is not None and number in wanted:
            code, base_size, invalid = BASE_TYPES.get(base & 0x1F, (None, 0, None))
            if code is not None and size == base_size:  # arrays and odd sizes are not needed
                name, scale = wanted[number]
                definition.layout.append((name, scale, definition.size, code, invalid))
        definition.size += size
    pos += 3 * n_fields
    if has_developer_fields:
        if pos + 1 > end:
            return None, pos
        n_developer = view[pos]
        pos += 1
        if pos + 3 * n_developer > end:
            return None, pos
        definition.size += sum(view[pos + 3 * i + 1] for i in range(n_developer))
        pos += 3 * n_developer
    return definition, pos


def _decode(view: memoryview, pos: int, definition: _Definition) -> dict:
    message = {}
    for name, scale, offset, code, invalid in definition.layout:
        value = struct.unpack_from(definition.endian + code, view, pos + offset)[0]
        if value != invalid and value == value:  # value == value drops float NaN
            message[name] = value / scale if scale != 1 else value
    return message


def _store(out: FitContent, definition: _Definition, message: dict) -> None:
    target = {SESSION: out.sessions, ACTIVITY: out.activities, SPORT: out.sports,
              FILE_ID: out.file_ids}[definition.global_num]
    target.append(message)
