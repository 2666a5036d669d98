"""A 64-bit fingerprint of a symbol's bars that a new bar extends in O(1): its content version.

fp(bars) = sum over bars i of mix(i, date_i, open_i, high_i, low_i, close_i, volume_i)
(mod 2^64), where mix is splitmix64 chained over the bar's words (the date as
int64 milliseconds since the epoch, the prices and volume as float64 bits).
The position i makes it order-sensitive; the sum makes it appendable:
fp(bars + new) = fp(bars) + mix(len(bars), new).  Any change to any past bar
(a correction, a split adjustment, a shifted date) changes the fingerprint
with probability 1 - 2^-64.  It detects changed data, not an adversary.

The store's writer records each symbol's fingerprint in the manifest (it
names the symbol's file, too), and the Redis cache ties every entry to one:
so a cache entry is used only for the exact bars the store holds, and "the
store has one more bar" is checked in O(1) without reading the history.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)


@njit(inline="always")
def _mix(z):
    z = z + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(inline="always")
def _run(g, first, starts, lengths, d, o, h, lw, c, v):
    acc = np.uint64(0)
    a = starts[g]
    for k in range(lengths[g]):
        i = a + k
        z = _mix(np.uint64(first[g] + k))
        z = _mix(z ^ d[i])
        z = _mix(z ^ o[i])
        z = _mix(z ^ h[i])
        z = _mix(z ^ lw[i])
        z = _mix(z ^ c[i])
        z = _mix(z ^ v[i])
        acc += z
    return acc


@njit(parallel=True, cache=True)
def _runs(first, starts, lengths, d, o, h, lw, c, v):
    out = np.zeros(starts.shape[0], dtype=np.uint64)
    for g in prange(starts.shape[0]):
        out[g] = _run(g, first, starts, lengths, d, o, h, lw, c, v)
    return out


@njit(cache=True)
def _runs_serial(first, starts, lengths, d, o, h, lw, c, v):
    out = np.zeros(starts.shape[0], dtype=np.uint64)
    for g in range(starts.shape[0]):
        out[g] = _run(g, first, starts, lengths, d, o, h, lw, c, v)
    return out


# Bars from which fingerprints are computed on Numba's threads: one bar per symbol (a new
# session's extend/retract) is microseconds of work, and a parallel region on a busy machine
# waits milliseconds for a descheduled worker.
PARALLEL_MIN_BARS = 100_000


def _words(a: np.ndarray, dtype) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype).view(np.uint64)


def fingerprint_runs(
    dates: np.ndarray,
    columns: dict[str, np.ndarray] | np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    first_index: np.ndarray | None = None,
) -> np.ndarray:
    """Fingerprint terms of runs of bars in 1-D arrays (a long frame's columns).

    ``dates`` int64 milliseconds; ``columns`` open..volume (a dict, or a (5, rows) array);
    run g is rows ``starts[g]:starts[g]+lengths[g]`` and its first bar has
    position ``first_index[g]`` in the symbol's history (0 for a whole history).
    Add the result to a fingerprint of the bars before the run.
    """
    if isinstance(columns, dict):
        cols = [columns[k] for k in ("open", "high", "low", "close", "volume")]
    else:
        cols = list(columns)
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    lengths = np.ascontiguousarray(lengths, dtype=np.int64)
    first = (
        np.zeros(starts.shape[0], dtype=np.int64)
        if first_index is None
        else np.ascontiguousarray(first_index, dtype=np.int64)
    )
    kernel = _runs if int(lengths.sum()) >= PARALLEL_MIN_BARS else _runs_serial
    return kernel(
        first, starts, lengths, _words(dates, np.int64), *(_words(c, np.float64) for c in cols)
    )


def extend(fp: np.ndarray, n_before: np.ndarray, dates: np.ndarray, columns) -> np.ndarray:
    """Fingerprints after appending one bar per symbol (``dates`` (N,) ms, ``columns`` (5, N))."""
    n = np.asarray(dates).shape[0]
    idx = np.arange(n, dtype=np.int64)
    return np.asarray(fp, dtype=np.uint64) + fingerprint_runs(
        dates, columns, idx, np.ones(n, dtype=np.int64), n_before
    )


def retract(fp: np.ndarray, n_before: np.ndarray, dates: np.ndarray, columns) -> np.ndarray:
    """Fingerprints without each symbol's last bar: ``extend`` undone (``n_before`` bars remain)."""
    n = np.asarray(dates).shape[0]
    idx = np.arange(n, dtype=np.int64)
    return np.asarray(fp, dtype=np.uint64) - fingerprint_runs(
        dates, columns, idx, np.ones(n, dtype=np.int64), n_before
    )


def ms(dates) -> np.ndarray:
    """Timestamps (datetime64 of any unit, NaT kept as int64 min) as int64 milliseconds."""
    return np.asarray(dates).astype("datetime64[ms]").astype(np.int64)


def long_fingerprints(df) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(names, starts, lengths, fingerprints) of each contiguous symbol run of a long frame."""
    from .validate import group_bounds

    starts, lengths, names, _ = group_bounds(df["symbol"])
    cols = {f: df[f].to_numpy(np.float64) for f in ("open", "high", "low", "close", "volume")}
    fp = (
        fingerprint_runs(ms(df["date"].to_numpy()), cols, starts, lengths)
        if len(names)
        else np.zeros(0, np.uint64)
    )
    return names, starts, lengths, fp
