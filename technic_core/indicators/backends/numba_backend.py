"""Numba backend: compiled kernels over ``(T, N)`` arrays, in parallel over symbol blocks.

Each function takes validated C-contiguous float64 ``(T, N)`` arrays (time on
axis 0, symbols on axis 1) and TA-Lib's parameter names, and returns float64
``(T, N)`` arrays equal to TA-Lib applied column by column.  Leading NaNs mark
a short history: that column equals TA-Lib on its own non-NaN tail.  Interior
NaNs are rejected by the public API before a backend is called (TA-Lib would
silently smear them over every later value of a recurrence), so they are not
handled here.

The kernels (``kernels/numba_kernels.py``) are compiled with ``cache=True``:
the first call in a new process loads them from the on-disk cache instead of
compiling.  They release the GIL, so the symbols are cut into column chunks
that a pool of ``NUMBA_NUM_THREADS`` threads (default: every core) computes
side by side; a few chunks per thread keep the cores evenly busy when one of
them is slowed by other work.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from ..kernels import numba_kernels as K
from . import _fused
from ._layout import apply_ragged, column_starts

THREADS = max(1, int(numba.config.NUMBA_NUM_THREADS))
CHUNKS_PER_THREAD = 4
# Column block a kernel walks at once: wide enough to stream whole rows,
# narrow enough for its per-column state to stay in L1/L2 (measured).
MAX_WIDTH = 1024
FUSED_MAX_WIDTH = 512
MIN_CHUNK = 64  # below this a chunk is not worth a task

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0


def _executor() -> ThreadPoolExecutor:
    # A forked child inherits the pool object but not its threads: work
    # submitted there would wait forever, so each process makes its own.
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():
        _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="technic-numba")
        _pool_pid = os.getpid()
    return _pool


def _in_chunks(kernel, args: tuple, n: int, max_width: int = MAX_WIDTH) -> None:
    """kernel(*args, col0, col1, width) over all n columns, chunks in parallel.

    At most ``numba.get_num_threads()`` threads: ``numba.set_num_threads`` limits
    this pool as it limits Numba's own parallel loops (a Ray task given one CPU,
    the gate timing the same code on one thread and on all).
    """
    threads = min(THREADS, numba.get_num_threads())
    chunks = max(1, min(threads * CHUNKS_PER_THREAD, n // MIN_CHUNK))
    if chunks == 1 or threads == 1:
        kernel(*args, 0, n, max_width)
        return
    edges = np.linspace(0, n, chunks + 1).astype(np.int64)
    futures = [_executor().submit(kernel, *args, int(a), int(b), max_width)
               for a, b in zip(edges[:-1], edges[1:]) if b > a]
    for f in futures:
        f.result()


def _shift_up(arrays, cols, starts):
    s = starts[cols]
    outs = []
    for a in arrays:
        out = np.empty((a.shape[0], cols.size))
        K.shift_up(a, cols, s, out)
        outs.append(out)
    return outs


def _shift_down(sub, cols, starts, out):
    K.shift_down(sub, cols, starts[cols], out)


def _run(kernel, arrays, n_out: int, *params):
    def compute(arrs):
        t, n = arrs[0].shape
        outs = tuple(np.empty((t, n)) for _ in range(n_out))
        if n:
            _in_chunks(kernel, (*arrs, *params, *outs), n)
        return outs
    return apply_ragged(compute, arrays, _shift_up, _shift_down)


def sma(close, timeperiod):
    return _run(K.sma, (close,), 1, timeperiod)[0]


def ema(close, timeperiod):
    return _run(K.ema, (close,), 1, timeperiod)[0]


def rsi(close, timeperiod):
    return _run(K.rsi, (close,), 1, timeperiod)[0]


def macd(close, fastperiod, slowperiod, signalperiod):
    if slowperiod < fastperiod:  # as TA-Lib (the public API swaps already)
        fastperiod, slowperiod = slowperiod, fastperiod
    return _run(K.macd, (close,), 3, fastperiod, slowperiod, signalperiod)


def bbands(close, timeperiod, nbdevup, nbdevdn):
    return _run(K.bbands, (close,), 3, timeperiod, float(nbdevup), float(nbdevdn))


def atr(high, low, close, timeperiod):
    return _run(K.atr, (high, low, close), 1, timeperiod)[0]


def stoch(high, low, close, fastk_period, slowk_period, slowd_period):
    return _run(K.stoch, (high, low, close), 2, fastk_period, slowk_period, slowd_period)


def adx(high, low, close, timeperiod):
    return _run(K.adx, (high, low, close), 1, timeperiod)[0]


def obv(close, volume):
    return _run(K.obv, (close, volume), 1)[0]


def roc(close, timeperiod):
    return _run(K.roc, (close,), 1, timeperiod)[0]


def willr(high, low, close, timeperiod):
    return _run(K.willr, (high, low, close), 1, timeperiod)[0]


def cci(high, low, close, timeperiod):
    return _run(K.cci, (high, low, close), 1, timeperiod)[0]


def mfi(high, low, close, volume, timeperiod):
    return _run(K.mfi, (high, low, close, volume), 1, timeperiod)[0]


def fused_indicators(open, high, low, close, volume) -> dict[str, np.ndarray]:
    """The scan's indicators at each column's last row, as ``(N,)`` arrays.

    One kernel walks the bars once per column block carrying every
    indicator's running state; nothing ``(T, N)``-sized is allocated.  The
    values are the last row of the separate functions, bit for bit.  Columns
    with a short history are shifted up to row 0 (a ``(T, R)`` copy of those
    columns only) and read at their own last row.  ``open`` is accepted for a
    uniform OHLCV signature; none of these indicators reads it.
    """
    t, n = close.shape
    res = np.full((len(K.FUSED_ROWS), n), np.nan)
    if n:
        last = np.full(n, t - 1, np.int64)
        _in_chunks(K.fused_last, (high, low, close, volume, last, res), n, FUSED_MAX_WIDTH)
        starts = column_starts(close)
        cols = np.flatnonzero(starts)
        if cols.size:
            sub = _shift_up((high, low, close, volume), cols, starts)
            sub_res = np.full((len(K.FUSED_ROWS), cols.size), np.nan)
            sub_last = (t - 1) - starts[cols]
            _in_chunks(K.fused_last, (*sub, sub_last, sub_res), cols.size, FUSED_MAX_WIDTH)
            res[:, cols] = sub_res
    return dict(zip(K.FUSED_ROWS, res))


assert tuple(_fused.FUSED) == K.FUSED_ROWS
