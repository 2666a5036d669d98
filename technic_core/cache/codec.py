"""Cache entries as bytes: a fixed header, raw little-endian arrays, a CRC32.

Nothing read back from Redis is ever unpickled or evaluated: an entry is a
16-byte-aligned header and plain numbers.  The header names the format, the
kind of entry and a tag (the indicator parameters a state was computed with),
so an entry written by another version, for other parameters or by another
program is recognised as foreign; the CRC32 covers header and payload, so a
truncated or flipped entry is recognised as corrupt.  Both are reported and
recomputed, never served.

Layouts (all little-endian):

* header: magic ``b"TQCE"``, format u16, kind u16, tag u64, payload length u32, crc32 u32;
* bar segment (kind 1): n_before u32, n_rows u32, fp_before u64, fp_after u64,
  then dates (int64 milliseconds) and open, high, low, close, volume (float64),
  each n_rows long; the fingerprints are the store's content versions
  (``universe.fingerprint``) of the bars before and after the segment;
* state (kind 2): n_bars i64, last date i64 (days), fingerprint u64, then the
  state row (float64);
* a long-lived rescan's state (kinds 3-5, ``cache.live``): its meta (store
  version, symbols, content versions, bar counts, last dates), one slot row of
  every symbol (float64), the last bar row (5 x N float64).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

MAGIC = b"TQCE"
# 2: segment dates in milliseconds, fingerprints equal to the store's content versions
FORMAT = 2
KIND_BARS = 1
KIND_STATE = 2
KIND_LIVE_META = 3  # a long-lived rescan's state in Redis (cache.live)
KIND_LIVE_SLOT = 4
KIND_LIVE_BAR = 5

HEADER = struct.Struct("<4sHHQII")
SEGMENT = struct.Struct("<IIQQ")
STATE_META = 3  # int64 words before a state row: n_bars, last date, fingerprint
BAR_COLUMNS = 6  # date + OHLCV


class CorruptEntry(ValueError):
    """An entry that must not be served; ``reason`` is 'foreign' or 'corrupt'."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _crc(head: bytes, payload) -> int:
    return zlib.crc32(payload, zlib.crc32(head))


def encode(kind: int, tag: int, payload: bytes) -> bytes:
    head = HEADER.pack(MAGIC, FORMAT, kind, tag, len(payload), 0)
    crc = _crc(head, payload)
    return HEADER.pack(MAGIC, FORMAT, kind, tag, len(payload), crc) + payload


def decode(blob: bytes, kind: int, tag: int) -> memoryview:
    """The payload of a checked entry; CorruptEntry if it is foreign or damaged."""
    if blob is None or len(blob) < HEADER.size:
        raise CorruptEntry(
            "corrupt", f"{0 if blob is None else len(blob)} bytes, shorter than a header"
        )
    magic, fmt, k, t, length, crc = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise CorruptEntry("foreign", f"magic {magic!r} is not {MAGIC!r}")
    if fmt != FORMAT:
        raise CorruptEntry("foreign", f"format {fmt}, this version reads {FORMAT}")
    if k != kind:
        raise CorruptEntry("foreign", f"kind {k}, expected {kind}")
    if len(blob) != HEADER.size + length:
        raise CorruptEntry(
            "corrupt", f"payload of {len(blob) - HEADER.size} bytes, header says {length}"
        )
    view = memoryview(blob)[HEADER.size :]
    if _crc(HEADER.pack(magic, fmt, k, t, length, 0), view) != crc:
        raise CorruptEntry("corrupt", "checksum mismatch")
    if t != tag:
        raise CorruptEntry("foreign", f"tag {t:#x}, expected {tag:#x}")
    return view


# -- bar segments ---------------------------------------------------------------
def encode_segment(
    n_before: int, fp_before: int, fp_after: int, dates: np.ndarray, columns: np.ndarray
) -> bytes:
    """One segment of a symbol's bars: ``dates`` (m,) int64 ms, ``columns`` (5, m) float64."""
    m = dates.shape[0]
    body = (
        SEGMENT.pack(n_before, m, fp_before, fp_after)
        + np.ascontiguousarray(dates, dtype="<i8").tobytes()
        + np.ascontiguousarray(columns, dtype="<f8").tobytes()
    )
    return encode(KIND_BARS, 0, body)


def segment_meta(payload: memoryview) -> tuple[int, int, int, int]:
    """(n_before, n_rows, fp_before, fp_after) of a decoded segment payload."""
    n_before, m, fp0, fp1 = SEGMENT.unpack_from(payload)
    if len(payload) != SEGMENT.size + 8 * BAR_COLUMNS * m:
        raise CorruptEntry("corrupt", f"segment of {m} rows has {len(payload)} payload bytes")
    return n_before, m, fp0, fp1


def segment_arrays(payload: memoryview) -> tuple[np.ndarray, np.ndarray]:
    """(dates (m,) int64, columns (5, m) float64) of a decoded segment payload."""
    _, m, _, _ = segment_meta(payload)
    words = np.frombuffer(payload, dtype="<i8", offset=SEGMENT.size)
    return words[:m].astype(np.int64), words[m:].view("<f8").reshape(5, m).astype(np.float64)


# -- states ---------------------------------------------------------------------
def encode_states(
    tag: int, n_bars: np.ndarray, last_date: np.ndarray, fp: np.ndarray, rows: np.ndarray
) -> list[bytes]:
    """One entry per state row, in one pass over an (N, 3 + width) word matrix."""
    n = rows.shape[0]
    words = np.empty((n, STATE_META + rows.shape[1]), dtype="<u8")
    words[:, 0] = np.asarray(n_bars, dtype=np.int64).view(np.uint64)
    words[:, 1] = np.asarray(last_date, dtype=np.int64).view(np.uint64)
    words[:, 2] = np.asarray(fp, dtype=np.uint64)
    words[:, STATE_META:] = np.ascontiguousarray(rows, dtype="<f8").view("<u8")
    raw = words.tobytes()
    size = words.shape[1] * 8
    return [encode(KIND_STATE, tag, raw[i * size : (i + 1) * size]) for i in range(n)]


def decode_states(blobs: list, tag: int, width: int):
    """Decode state entries in bulk.

    Returns (ok mask, reasons by position for the bad ones, n_bars, last_date,
    fp, rows) where the arrays hold the good entries in order.
    """
    ok = np.zeros(len(blobs), dtype=bool)
    bad: dict[int, str] = {}
    payloads: list = []
    size = (STATE_META + width) * 8
    for i, blob in enumerate(blobs):
        if blob is None:
            continue
        try:
            view = decode(blob, KIND_STATE, tag)
            if len(view) != size:
                raise CorruptEntry("foreign", f"state of {len(view)} bytes, this layout has {size}")
        except CorruptEntry as exc:
            bad[i] = exc.reason
            continue
        ok[i] = True
        payloads.append(view)
    words = np.frombuffer(b"".join(payloads), dtype="<u8").reshape(-1, STATE_META + width)
    return (
        ok,
        bad,
        words[:, 0].view(np.int64).copy(),
        words[:, 1].view(np.int64).copy(),
        words[:, 2].copy(),
        words[:, STATE_META:].view("<f8").astype(np.float64),
    )
