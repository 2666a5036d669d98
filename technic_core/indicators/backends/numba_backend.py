"""Numba backend: TA-Lib-exact kernels over whole ``(T, N)`` universes, both cores.

The kernels (``kernels/numba_kernels.py``) walk time outside and symbols
inside, straight on the C-order arrays the API hands over: no transposes.
Interior NaNs are rejected by the public API before they get here.
"""
from __future__ import annotations

import numpy as np

from ..kernels import numba_kernels as k


def _nan(like, n=1):
    outs = tuple(np.full(like.shape, np.nan) for _ in range(n))
    return outs[0] if n == 1 else outs


def sma(close, timeperiod):
    out = _nan(close)
    k.sma_2d(close, k.first_valid(close), timeperiod, out)
    return out


def ema(close, timeperiod):
    out = _nan(close)
    k.ema_2d(close, k.first_valid(close), timeperiod, out)
    return out


def rsi(close, timeperiod):
    out = _nan(close)
    k.rsi_2d(close, k.first_valid(close), timeperiod, out)
    return out


def macd(close, fastperiod, slowperiod, signalperiod):
    line, sig, hist = _nan(close, 3)
    k.macd_2d(close, k.first_valid(close), fastperiod, slowperiod, signalperiod, line, sig, hist)
    return line, sig, hist


def bbands(close, timeperiod, nbdevup, nbdevdn):
    upper, middle, lower = _nan(close, 3)
    k.bbands_2d(close, k.first_valid(close), timeperiod, nbdevup, nbdevdn, upper, middle, lower)
    return upper, middle, lower


def atr(high, low, close, timeperiod):
    out = _nan(close)
    k.atr_2d(high, low, close, k.first_valid(close), timeperiod, out)
    return out


def stoch(high, low, close, fastk_period, slowk_period, slowd_period):
    s = k.first_valid(close)
    fastk = _nan(close)
    k.fastk_2d(high, low, close, s, fastk_period, fastk)
    slowk = _nan(close)
    k.sma_2d(fastk, s + fastk_period - 1, slowk_period, slowk)
    slowd = _nan(close)
    k.sma_2d(slowk, s + fastk_period - 1 + slowk_period - 1, slowd_period, slowd)
    # TA-Lib reports both lines from the first row where slow %D exists
    slowk[np.isnan(slowd)] = np.nan
    return slowk, slowd


def adx(high, low, close, timeperiod):
    out = _nan(close)
    k.adx_2d(high, low, close, k.first_valid(close), timeperiod, out)
    return out


def obv(close, volume):
    out = _nan(close)
    k.obv_2d(close, volume, k.first_valid(close), out)
    return out


def roc(close, timeperiod):
    out = _nan(close)
    k.roc_2d(close, k.first_valid(close), timeperiod, out)
    return out


def willr(high, low, close, timeperiod):
    out = _nan(close)
    k.willr_2d(high, low, close, k.first_valid(close), timeperiod, out)
    return out


def cci(high, low, close, timeperiod):
    out = _nan(close)
    k.cci_2d(high, low, close, k.first_valid(close), timeperiod, out)
    return out


def mfi(high, low, close, volume, timeperiod):
    out = _nan(close)
    k.mfi_2d(high, low, close, volume, k.first_valid(close), timeperiod, out)
    return out


def fused_indicators(open, high, low, close, volume):
    """The scan's indicators (SPEC's parameters) at each column's last row, in one pass."""
    out = np.full((len(k.FUSED_KEYS), close.shape[1]), np.nan)
    k.fused_last_2d(open, high, low, close, volume, k.first_valid(close), out)
    return dict(zip(k.FUSED_KEYS, out))
