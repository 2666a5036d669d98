"""Technical indicators, equal to TA-Lib's functions of the same name.

Every function takes ``(T,)`` or ``(T, N)`` float64 input (time on axis 0,
symbols on axis 1) and TA-Lib's parameter names and defaults, and returns
arrays of the input's shape, NaN exactly where TA-Lib gives NaN.  Leading NaNs
in a column mark a short history: that column equals TA-Lib applied to its own
non-NaN tail.  ``backend=`` picks the implementation (see
``available_backends()``); the default is the fastest one available.
"""
from __future__ import annotations

from .registry import (
    FALLBACK_ORDER,
    INDICATORS,
    BackendUnavailable,
    available_backends,
    load_backend,
    registered_backends,
    unavailable_reason,
)
from .validate import IndicatorInputError, as_2d, check_layout, check_period

__all__ = [*INDICATORS, "available_backends", "registered_backends", "default_backend",
           "unavailable_reason", "BackendUnavailable", "IndicatorInputError", "FALLBACK_ORDER",
           "INDICATORS"]


def default_backend() -> str:
    """Fastest backend that runs here (numba, else numpy); GPU only when asked for."""
    for name in ("numba", "numpy"):
        if unavailable_reason(name) is None:
            return name
    return "baseline"


def _run(fname: str, backend: str | None, arrays: dict, **params):
    inputs, was_1d = as_2d(fname, arrays)
    check_layout(fname, inputs)
    mod = load_backend(backend or default_backend())
    out = getattr(mod, fname)(*inputs.values(), **params)
    if was_1d:
        if isinstance(out, tuple):
            return tuple(o[:, 0] for o in out)
        return out[:, 0]
    return out


def sma(close, timeperiod=30, *, backend=None):
    check_period("sma", timeperiod=timeperiod)
    return _run("sma", backend, {"close": close}, timeperiod=int(timeperiod))


def ema(close, timeperiod=30, *, backend=None):
    check_period("ema", timeperiod=timeperiod)
    return _run("ema", backend, {"close": close}, timeperiod=int(timeperiod))


def rsi(close, timeperiod=14, *, backend=None):
    check_period("rsi", 2, timeperiod=timeperiod)
    return _run("rsi", backend, {"close": close}, timeperiod=int(timeperiod))


def macd(close, fastperiod=12, slowperiod=26, signalperiod=9, *, backend=None):
    """(macd, macdsignal, macdhist)."""
    check_period("macd", 2, fastperiod=fastperiod, slowperiod=slowperiod)
    check_period("macd", signalperiod=signalperiod)
    # TA-Lib swaps the periods when fast > slow; so do we, so answers agree.
    if slowperiod < fastperiod:
        fastperiod, slowperiod = slowperiod, fastperiod
    return _run("macd", backend, {"close": close}, fastperiod=int(fastperiod),
                slowperiod=int(slowperiod), signalperiod=int(signalperiod))


def bbands(close, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0, *, backend=None):
    """(upperband, middleband, lowerband), population standard deviation."""
    check_period("bbands", 2, timeperiod=timeperiod)
    if matype != 0:
        raise IndicatorInputError("bbands: only matype=0 (SMA) is supported")
    return _run("bbands", backend, {"close": close}, timeperiod=int(timeperiod),
                nbdevup=float(nbdevup), nbdevdn=float(nbdevdn))


def atr(high, low, close, timeperiod=14, *, backend=None):
    check_period("atr", timeperiod=timeperiod)
    return _run("atr", backend, {"high": high, "low": low, "close": close},
                timeperiod=int(timeperiod))


def stoch(high, low, close, fastk_period=5, slowk_period=3, slowk_matype=0,
          slowd_period=3, slowd_matype=0, *, backend=None):
    """(slowk, slowd), SMA slow lines."""
    check_period("stoch", fastk_period=fastk_period, slowk_period=slowk_period,
                 slowd_period=slowd_period)
    if slowk_matype != 0 or slowd_matype != 0:
        raise IndicatorInputError("stoch: only slowk_matype=0 and slowd_matype=0 (SMA) are supported")
    return _run("stoch", backend, {"high": high, "low": low, "close": close},
                fastk_period=int(fastk_period), slowk_period=int(slowk_period),
                slowd_period=int(slowd_period))


def adx(high, low, close, timeperiod=14, *, backend=None):
    check_period("adx", 2, timeperiod=timeperiod)
    return _run("adx", backend, {"high": high, "low": low, "close": close},
                timeperiod=int(timeperiod))


def obv(close, volume, *, backend=None):
    return _run("obv", backend, {"close": close, "volume": volume})


def roc(close, timeperiod=10, *, backend=None):
    check_period("roc", timeperiod=timeperiod)
    return _run("roc", backend, {"close": close}, timeperiod=int(timeperiod))


def willr(high, low, close, timeperiod=14, *, backend=None):
    check_period("willr", 2, timeperiod=timeperiod)
    return _run("willr", backend, {"high": high, "low": low, "close": close},
                timeperiod=int(timeperiod))


def cci(high, low, close, timeperiod=14, *, backend=None):
    check_period("cci", 2, timeperiod=timeperiod)
    return _run("cci", backend, {"high": high, "low": low, "close": close},
                timeperiod=int(timeperiod))


def mfi(high, low, close, volume, timeperiod=14, *, backend=None):
    check_period("mfi", 2, timeperiod=timeperiod)
    return _run("mfi", backend, {"high": high, "low": low, "close": close, "volume": volume},
                timeperiod=int(timeperiod))

