"""Numba backend: compiled kernels over ``(T, N)`` arrays, in parallel over symbol blocks.

Each function takes validated C-contiguous float64 ``(T, N)`` arrays (time on
axis 0, symbols on axis 1) and TA-Lib's parameter names, and returns float64
``(T, N)`` arrays equal to TA-Lib applied column by column.  Leading NaNs mark
a short history: that column equals TA-Lib on its own non-NaN tail.  Interior
NaNs are rejected by the public API before a backend is called (TA-Lib would
silently smear them over every later value of a recurrence), so they are not
handled here.

``starts`` (optional, each column's first row; the public API passes the
validated panel's) tells each kernel where every column's recurrence begins:
the kernels begin it there, inside the vector loop, with no shifted copy of
anything (see ``kernels/numba_kernels.py``).  Without it the starts are found
by bisection, which assumes validated input.

The kernels are compiled with ``cache=True``: the first call in a new process
loads them from the on-disk cache instead of compiling.  They release the
GIL, so the symbols are cut into column chunks that a pool of
``NUMBA_NUM_THREADS`` threads (default: every core) computes side by side; a
few chunks per thread keep the cores evenly busy when one of them is slowed
by other work.
"""

from __future__ import annotations

import numpy as np

from .. import outputs as _outputs
from .. import threads as _threads
from ..kernels import numba_kernels as K
from . import _fused

TAKES_STARTS = True  # the public API may pass each column's start (``starts=``)

THREADS = _threads.THREADS
CHUNKS_PER_THREAD = 4
# Column block a kernel walks at once: wide enough to stream whole rows,
# narrow enough for its per-column state to stay in L1/L2 (measured on the
# default universe: 512 columns for the per-indicator kernels, 128 for CCI
# whose ring of 14 rows then stays in L1, 1024 for the fused pass).
MAX_WIDTH = 512
CCI_MAX_WIDTH = 128
FUSED_MAX_WIDTH = 1024
MIN_CHUNK = 64  # below this a chunk is not worth a task


def _in_chunks(kernel, args: tuple, n: int, max_width: int = MAX_WIDTH) -> None:
    """kernel(*args, col0, col1, width) over all n columns, chunks in parallel."""
    _threads.in_chunks(
        kernel,
        args,
        n,
        max_width,
        threads=THREADS,
        chunks_per_thread=CHUNKS_PER_THREAD,
        min_chunk=MIN_CHUNK,
    )


def column_starts(a: np.ndarray) -> np.ndarray:
    """Each column's first row (T for an all-NaN column), for validated input."""
    return K.first_rows(a)


def _run(kernel, arrays, n_out: int, lookback: int, params: tuple, starts, width: int = 0):
    t, n = arrays[0].shape
    outs = tuple(_outputs.empty((t, n)) for _ in range(n_out))
    if n == 0 or t == 0:
        return outs
    if lookback >= t:  # no column reaches its first value (and no period-sized ring is made)
        for o in outs:
            o.fill(np.nan)
        return outs
    if starts is None:
        starts = column_starts(arrays[0])
    _in_chunks(
        kernel,
        (*arrays, *params, np.ascontiguousarray(starts, dtype=np.int64), *outs),
        n,
        min(width or MAX_WIDTH, MAX_WIDTH),
    )
    return outs


def sma(close, timeperiod, starts=None):
    return _run(K.sma, (close,), 1, timeperiod - 1, (timeperiod,), starts)[0]


def ema(close, timeperiod, starts=None):
    return _run(K.ema, (close,), 1, timeperiod - 1, (timeperiod,), starts)[0]


def rsi(close, timeperiod, starts=None):
    return _run(K.rsi, (close,), 1, timeperiod, (timeperiod,), starts)[0]


def macd(close, fastperiod, slowperiod, signalperiod, starts=None):
    if slowperiod < fastperiod:  # as TA-Lib (the public API swaps already)
        fastperiod, slowperiod = slowperiod, fastperiod
    return _run(
        K.macd,
        (close,),
        3,
        slowperiod + signalperiod - 2,
        (fastperiod, slowperiod, signalperiod),
        starts,
    )


def bbands(close, timeperiod, nbdevup, nbdevdn, starts=None):
    return _run(
        K.bbands, (close,), 3, timeperiod - 1, (timeperiod, float(nbdevup), float(nbdevdn)), starts
    )


def atr(high, low, close, timeperiod, starts=None):
    return _run(K.atr, (high, low, close), 1, timeperiod, (timeperiod,), starts)[0]


def stoch(high, low, close, fastk_period, slowk_period, slowd_period, starts=None):
    return _run(
        K.stoch,
        (high, low, close),
        2,
        fastk_period + slowk_period + slowd_period - 3,
        (fastk_period, slowk_period, slowd_period),
        starts,
    )


def adx(high, low, close, timeperiod, starts=None):
    return _run(K.adx, (high, low, close), 1, 2 * timeperiod - 1, (timeperiod,), starts)[0]


def obv(close, volume, starts=None):
    return _run(K.obv, (close, volume), 1, 0, (), starts)[0]


def roc(close, timeperiod, starts=None):
    return _run(K.roc, (close,), 1, timeperiod, (timeperiod,), starts)[0]


def willr(high, low, close, timeperiod, starts=None):
    return _run(K.willr, (high, low, close), 1, timeperiod - 1, (timeperiod,), starts)[0]


def cci(high, low, close, timeperiod, starts=None):
    return _run(K.cci, (high, low, close), 1, timeperiod - 1, (timeperiod,), starts, CCI_MAX_WIDTH)[
        0
    ]


def mfi(high, low, close, volume, timeperiod, starts=None):
    return _run(K.mfi, (high, low, close, volume), 1, timeperiod, (timeperiod,), starts)[0]


def fused_indicators(open, high, low, close, volume, starts=None) -> dict[str, np.ndarray]:
    """The scan's indicators at each column's last row, as ``(N,)`` arrays.

    One kernel walks the bars once per column block carrying every
    indicator's running state; nothing ``(T, N)``-sized is allocated.  The
    values are the last row of the separate functions, bit for bit, late
    columns included (each begun at its own start, as in the separate
    kernels).  ``open`` is accepted for a uniform OHLCV signature; none of
    these indicators reads it.
    """
    t, n = close.shape
    res = np.empty((len(K.FUSED_ROWS), n))
    if n:
        if starts is None:
            starts = column_starts(close)
        starts = np.ascontiguousarray(starts, dtype=np.int64)
        _in_chunks(K.fused_last, (high, low, close, volume, starts, res), n, FUSED_MAX_WIDTH)
    return dict(zip(K.FUSED_ROWS, res))


assert tuple(_fused.FUSED) == K.FUSED_ROWS
