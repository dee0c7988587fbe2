"""The FIT file CRC (CRC-16/ARC: reflected polynomial 0x8005, initial value 0, as in the FIT
protocol's reference implementation), fast enough for thousands of files.

A byte-at-a-time loop in Python costs ~15 ms per 100 kB. Because this CRC has no initial value or
final xor it is linear, so a long file is cut into blocks that are all advanced one byte at a time
together with numpy, and the block CRCs are then joined (Horner's rule with a "shift by one block
of zero bytes" table): ~10x faster on files of 100 kB and more.
"""

from __future__ import annotations

from functools import cache

import numpy as np

_BLOCK = 256  # bytes per block; the numpy loop runs _BLOCK times whatever the file size
_SMALL = 16_384  # below this a plain loop is quicker than setting up the blocks


@cache
def _table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        table[i] = c
    return table


@cache
def _shift_tables() -> tuple[np.ndarray, np.ndarray]:
    """States after _BLOCK zero bytes, from each low-byte and each high-byte starting state."""
    table = _table()
    start = np.concatenate([np.arange(256, dtype=np.uint32), np.arange(256, dtype=np.uint32) << 8])
    state = start
    for _ in range(_BLOCK):
        state = (state >> 8) ^ table[state & 0xFF]
    return state[:256], state[256:]


def crc16(data: bytes | memoryview) -> int:
    """CRC of `data` as the FIT protocol defines it (0 for no data)."""
    table = _table()
    if len(data) < _SMALL:
        plain = table.tolist()
        c = 0
        for byte in bytes(data):
            c = (c >> 8) ^ plain[(c ^ byte) & 0xFF]
        return c
    raw = np.frombuffer(data, dtype=np.uint8)
    # leading zero bytes leave a zero state unchanged, so padding in front is harmless
    pad = (-len(raw)) % _BLOCK
    blocks = np.concatenate([np.zeros(pad, np.uint8), raw]).reshape(-1, _BLOCK).T.astype(
        np.uint32)
    state = np.zeros(blocks.shape[1], dtype=np.uint32)
    for column in blocks:
        state = (state >> 8) ^ table[(state ^ column) & 0xFF]
    low, high = _shift_tables()
    low_l, high_l = low.tolist(), high.tolist()
    total = 0
    for block_crc in state.tolist():
        total = low_l[total & 0xFF] ^ high_l[total >> 8] ^ block_crc
    return total
