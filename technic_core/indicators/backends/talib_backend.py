"""TA-Lib called once per symbol: the outside reference, never the engine.

It exists so that benchmarks can time "TA-Lib in a loop over the symbols"
through the same API as our backends, and tests can compare against it.  It
is not part of the fallback chain.
"""
from __future__ import annotations

import numpy as np
import talib


def _loop(func, *arrays, n_out=1, **params):
    t, n = arrays[0].shape
    outs = [np.full((t, n), np.nan) for _ in range(n_out)]
    for j in range(n):
        res = func(*(a[:, j] for a in arrays), **params)
        if n_out == 1:
            res = (res,)
        for o, r in zip(outs, res):
            o[:, j] = r
    return outs[0] if n_out == 1 else tuple(outs)


def sma(close, timeperiod):
    return _loop(talib.SMA, close, timeperiod=timeperiod)


def ema(close, timeperiod):
    return _loop(talib.EMA, close, timeperiod=timeperiod)


def rsi(close, timeperiod):
    return _loop(talib.RSI, close, timeperiod=timeperiod)


def macd(close, fastperiod, slowperiod, signalperiod):
    return _loop(talib.MACD, close, n_out=3, fastperiod=fastperiod, slowperiod=slowperiod,
                 signalperiod=signalperiod)


def bbands(close, timeperiod, nbdevup, nbdevdn):
    return _loop(talib.BBANDS, close, n_out=3, timeperiod=timeperiod, nbdevup=nbdevup,
                 nbdevdn=nbdevdn, matype=0)


def atr(high, low, close, timeperiod):
    return _loop(talib.ATR, high, low, close, timeperiod=timeperiod)


def stoch(high, low, close, fastk_period, slowk_period, slowd_period):
    return _loop(talib.STOCH, high, low, close, n_out=2, fastk_period=fastk_period,
                 slowk_period=slowk_period, slowk_matype=0, slowd_period=slowd_period,
                 slowd_matype=0)


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
