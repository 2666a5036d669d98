"""TA-Lib looped over symbols, from and to ``(T, N)`` panels: a reference engine, not a yardstick.

It lets the tests and the scan (``backend="talib"``) run TA-Lib itself through
the same API as our backends.  It is not part of the fallback chain, and it
is not what speed is measured against: the benchmarks time TA-Lib at its best,
on per-symbol contiguous arrays of each symbol's own history made before the
timing (``benchmarks/references.py``, ``talib-best``), and from a panel with one
transpose (``talib-panel``).

Each input is transposed once to ``(N, T)`` so that every call reads one
contiguous row (handing TA-Lib strided column views ``a[:, j]`` made the loop
about 3.5x slower: it measured memory traffic, not TA-Lib), each symbol from
its own first bar; the results fill ``(N, T)`` rows and are transposed back.
"""

from __future__ import annotations

import numpy as np
import talib


def _loop(func, *arrays, n_out=1, **params):
    t, n = arrays[0].shape
    rows = [np.ascontiguousarray(a.T) for a in arrays]
    valid = ~np.isnan(rows[0])
    starts = np.where(valid.any(axis=1), valid.argmax(axis=1), t)
    outs = [np.full((n, t), np.nan) for _ in range(n_out)]
    for j in range(n):
        s = starts[j]
        if s == t:
            continue
        res = func(*(r[j, s:] for r in rows), **params)
        if n_out == 1:
            res = (res,)
        for o, r in zip(outs, res):
            o[j, s:] = r
    outs = [np.ascontiguousarray(o.T) for o in outs]
    return outs[0] if n_out == 1 else tuple(outs)


def sma(close, timeperiod):
    return _loop(talib.SMA, close, timeperiod=timeperiod)


def ema(close, timeperiod):
    return _loop(talib.EMA, close, timeperiod=timeperiod)


def rsi(close, timeperiod):
    return _loop(talib.RSI, close, timeperiod=timeperiod)


def macd(close, fastperiod, slowperiod, signalperiod):
    return _loop(
        talib.MACD,
        close,
        n_out=3,
        fastperiod=fastperiod,
        slowperiod=slowperiod,
        signalperiod=signalperiod,
    )


def bbands(close, timeperiod, nbdevup, nbdevdn):
    return _loop(
        talib.BBANDS,
        close,
        n_out=3,
        timeperiod=timeperiod,
        nbdevup=nbdevup,
        nbdevdn=nbdevdn,
        matype=0,
    )


def atr(high, low, close, timeperiod):
    return _loop(talib.ATR, high, low, close, timeperiod=timeperiod)


def stoch(high, low, close, fastk_period, slowk_period, slowd_period):
    return _loop(
        talib.STOCH,
        high,
        low,
        close,
        n_out=2,
        fastk_period=fastk_period,
        slowk_period=slowk_period,
        slowk_matype=0,
        slowd_period=slowd_period,
        slowd_matype=0,
    )


def adx(high, low, close, timeperiod):
    return _loop(talib.ADX, high, low, close, timeperiod=timeperiod)


def obv(close, volume):
    return _loop(talib.OBV, close, volume)


def roc(close, timeperiod):
    return _loop(talib.ROC, close, timeperiod=timeperiod)


def willr(high, low, close, timeperiod):
    return _loop(talib.WILLR, high, low, close, timeperiod=timeperiod)


def cci(high, low, close, timeperiod):
    return _loop(talib.CCI, high, low, close, timeperiod=timeperiod)


def mfi(high, low, close, volume, timeperiod):
    return _loop(talib.MFI, high, low, close, volume, timeperiod=timeperiod)
