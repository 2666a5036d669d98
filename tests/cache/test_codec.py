"""Cache entries: checked binary, never pickle; fingerprints that extend and detect changes."""

import pickle

import numpy as np
import pytest

from technic_core.cache import codec
from technic_core.cache.codec import CorruptEntry
from technic_core.universe.fingerprint import extend, fingerprint_runs


def test_entry_round_trip():
    blob = codec.encode(codec.KIND_STATE, 0xABC, b"payload bytes")
    assert bytes(codec.decode(blob, codec.KIND_STATE, 0xABC)) == b"payload bytes"


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda b: b[:-1], "corrupt"),  # truncated
        (lambda b: b[:30] + bytes([b[30] ^ 1]) + b[31:], "corrupt"),  # one flipped bit
        (lambda b: b[:10], "corrupt"),  # shorter than a header
        (lambda b: b"XXXX" + b[4:], "foreign"),  # another program's bytes
        (lambda b: b[:4] + (99).to_bytes(2, "little") + b[6:], "foreign"),  # another format version
        (lambda b: pickle.dumps({"rsi": 50.0}), "foreign"),  # a pickle is never loaded
    ],
)
def test_damaged_or_foreign_entries_are_refused(damage, reason):
    blob = codec.encode(codec.KIND_STATE, 7, b"x" * 64)
    with pytest.raises(CorruptEntry) as exc:
        codec.decode(damage(blob), codec.KIND_STATE, 7)
    assert exc.value.reason == reason


def test_kind_and_tag_are_checked():
    blob = codec.encode(codec.KIND_STATE, 7, b"x" * 64)
    with pytest.raises(CorruptEntry, match="kind"):
        codec.decode(blob, codec.KIND_BARS, 7)
    with pytest.raises(CorruptEntry, match="tag"):
        codec.decode(blob, codec.KIND_STATE, 8)  # other indicator parameters


def test_states_round_trip_in_bulk_and_bad_ones_are_named():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(5, 11))
    rows[1, 3] = np.nan
    blobs = codec.encode_states(
        42,
        np.arange(5) + 100,
        np.arange(5) + 20000,
        np.arange(5, dtype=np.uint64) * (1 << 60),
        rows,
    )
    blobs[2] = blobs[2][:-8]
    blobs.insert(4, None)
    ok, bad, n, day, fp, got = codec.decode_states(blobs, 42, 11)
    assert ok.tolist() == [True, True, False, True, False, True]
    assert bad == {2: "corrupt"}
    assert n.tolist() == [100, 101, 103, 104]
    assert day.tolist() == [20000, 20001, 20003, 20004]
    assert fp.tolist() == [0, 1 << 60, 3 << 60, (4 << 60) & 0xFFFFFFFFFFFFFFFF]
    assert np.array_equal(got, rows[[0, 1, 3, 4]], equal_nan=True)
    _, bad, *_ = codec.decode_states(blobs[:1], 42, 12)  # another layout's width
    assert bad == {0: "foreign"}


def test_segments_round_trip():
    dates = np.array([20000, 20001, 20004], np.int64)
    cols = np.arange(15, dtype=np.float64).reshape(5, 3)
    payload = codec.decode(codec.encode_segment(7, 11, 13, dates, cols), codec.KIND_BARS, 0)
    assert codec.segment_meta(payload) == (7, 3, 11, 13)
    d, c = codec.segment_arrays(payload)
    assert np.array_equal(d, dates) and np.array_equal(c, cols)


def _bars(m=30, seed=1):
    rng = np.random.default_rng(seed)
    dates = 20000 + np.arange(m, dtype=np.int64)
    cols = np.abs(rng.normal(10, 1, size=(5, m)))
    return dates, cols


def test_fingerprint_extends_bar_by_bar():
    dates, cols = _bars()
    full = fingerprint_runs(dates, cols, np.array([0]), np.array([30]))
    head = fingerprint_runs(dates, cols, np.array([0]), np.array([29]))
    assert extend(head, np.array([29]), dates[29:], cols[:, 29:]) == full


@pytest.mark.parametrize("where", ["date", "open", "high", "low", "close", "volume", "order"])
def test_fingerprint_sees_any_change(where):
    dates, cols = _bars()
    fp = fingerprint_runs(dates, cols, np.array([0]), np.array([30]))
    d, c = dates.copy(), cols.copy()
    if where == "date":
        d[5] += 1
    elif where == "order":
        c[:, [3, 4]] = c[:, [4, 3]]
    else:
        row = ["open", "high", "low", "close", "volume"].index(where)
        c[row, 5] = np.nextafter(c[row, 5], np.inf)  # one ulp, in an old bar
    assert fingerprint_runs(d, c, np.array([0]), np.array([30])) != fp
