"""Technical indicators, equal to TA-Lib's functions of the same name.

Every function takes ``(T,)`` or ``(T, N)`` float64 input (time on axis 0,
symbols on axis 1) and TA-Lib's parameter names and defaults, and returns
arrays of the input's shape, NaN exactly where TA-Lib gives NaN.  Leading NaNs
in a column mark a short history: that column equals TA-Lib applied to its own
non-NaN tail.  ``backend=`` picks the implementation (see
``available_backends()``); the default is the fastest one available.

In place of the price arguments, every function also takes a ``Panel`` (the
fields validated once, with each column's first row), as TA-Lib's abstract
API takes a dict of inputs: ``rsi(panel, 14)``, ``atr(panel, timeperiod=14)``.
Plain arrays are validated on every call (one multi-threaded pass per input).
"""
from __future__ import annotations

import functools
import inspect

from .errors import BackendUnavailable, IndicatorInputError
from .panel import Panel
from .registry import (
    FALLBACK_ORDER,
    INDICATORS,
    available_backends,
    load_backend,
    registered_backends,
    unavailable_reason,
)
from .validate import as_2d, check_layout, check_period, check_real

__all__ = [*INDICATORS, "available_backends", "registered_backends", "default_backend",
           "unavailable_reason", "BackendUnavailable", "IndicatorInputError", "FALLBACK_ORDER",
           "INDICATORS", "Panel"]


def default_backend() -> str:
    """Fastest backend that runs here (numba, else numpy); GPU only when asked for."""
    for name in ("numba", "numpy"):
        if unavailable_reason(name) is None:
            return name
    return "baseline"


def _run(fname: str, backend: str | None, inputs: dict, **params):
    panel = next((v for v in inputs.values() if isinstance(v, Panel)), None)
    if panel is not None:
        if any(v is not panel for v in inputs.values()):
            raise IndicatorInputError(f"{fname}: give either one Panel or arrays, not both")
        arrays = {arg: panel.field(arg, fname) for arg in inputs}
        starts, was_1d = panel.starts, panel.one_dimensional
    else:
        arrays, was_1d = as_2d(fname, inputs)
        starts = check_layout(fname, arrays)
    mod = load_backend(backend or default_backend())
    func = getattr(mod, fname)
    if getattr(mod, "TAKES_STARTS", False):
        out = func(*arrays.values(), **params, starts=starts)
    else:
        out = func(*arrays.values(), **params)
    if was_1d:
        if isinstance(out, tuple):
            return tuple(o[:, 0] for o in out)
        return out[:, 0]
    return out


def _takes_panel(*inputs: str):
    """Let ``f(panel, *params)`` stand for ``f(panel.<input>..., *params)`` (TA-Lib's abstract style)."""
    def deco(fn):
        names = [n for n in inspect.signature(fn).parameters if n not in inputs and n != "backend"]

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if not args or not isinstance(args[0], Panel):
                return fn(*args, **kwargs)
            panel, rest = args[0], args[1:]
            if len(rest) > len(names):
                raise TypeError(f"{fn.__name__}() takes at most {len(names)} parameters after "
                                f"a Panel ({', '.join(names)}), got {len(rest)}")
            for n, v in zip(names, rest):
                if n in kwargs:
                    raise TypeError(f"{fn.__name__}() got multiple values for {n!r}")
                kwargs[n] = v
            for n in inputs:
                if n in kwargs:
                    raise TypeError(f"{fn.__name__}(): {n!r} comes from the Panel")
                kwargs[n] = panel
            return fn(**kwargs)
        return wrapper
    return deco


@_takes_panel('close')
def sma(close, timeperiod=30, *, backend=None):
    check_period("sma", timeperiod=timeperiod)
    return _run("sma", backend, {"close": close}, timeperiod=int(timeperiod))


@_takes_panel('close')
def ema(close, timeperiod=30, *, backend=None):
    check_period("ema", timeperiod=timeperiod)
    return _run("ema", backend, {"close": close}, timeperiod=int(timeperiod))


@_takes_panel('close')
def rsi(close, timeperiod=14, *, backend=None):
    check_period("rsi", 2, timeperiod=timeperiod)
    return _run("rsi", backend, {"close": close}, timeperiod=int(timeperiod))


@_takes_panel('close')
def macd(close, fastperiod=12, slowperiod=26, signalperiod=9, *, backend=None):
    """(macd, macdsignal, macdhist)."""
    check_period("macd", 2, fastperiod=fastperiod, slowperiod=slowperiod)
    check_period("macd", signalperiod=signalperiod)
    # TA-Lib swaps the periods when fast > slow; so do we, so answers agree.
    if slowperiod < fastperiod:
        fastperiod, slowperiod = slowperiod, fastperiod
    return _run("macd", backend, {"close": close}, fastperiod=int(fastperiod),
                slowperiod=int(slowperiod), signalperiod=int(signalperiod))


@_takes_panel('close')
def bbands(close, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0, *, backend=None):
    """(upperband, middleband, lowerband), population standard deviation."""
    check_period("bbands", 2, timeperiod=timeperiod)
    check_real("bbands", nbdevup=nbdevup, nbdevdn=nbdevdn)
    if matype != 0:
        raise IndicatorInputError("bbands: only matype=0 (SMA) is supported")
    return _run("bbands", backend, {"close": close}, timeperiod=int(timeperiod),
                nbdevup=float(nbdevup), nbdevdn=float(nbdevdn))


@_takes_panel('high', 'low', 'close')
def atr(high, low, close, timeperiod=14, *, backend=None):
    check_period("atr", timeperiod=timeperiod)
    return _run("atr", backend, {"high": high, "low": low, "close": close},
                timeperiod=int(timeperiod))


@_takes_panel('high', 'low', 'close')
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


@_takes_panel('high', 'low', 'close')
def adx(high, low, close, timeperiod=14, *, backend=None):
    check_period("adx", 2, timeperiod=timeperiod)
    return _run("adx", backend, {"high": high, "low": low, "close": close},
                timeperiod=int(timeperiod))


@_takes_panel('close', 'volume')
def obv(close, volume, *, backend=None):
    return _run("obv", backend, {"close": close, "volume": volume})


@_takes_panel('close')
def roc(close, timeperiod=10, *, backend=None):
    check_period("roc", timeperiod=timeperiod)
    return _run("roc", backend, {"close": close}, timeperiod=int(timeperiod))


@_takes_panel('high', 'low', 'close')
def willr(high, low, close, timeperiod=14, *, backend=None):
    check_period("willr", 2, timeperiod=timeperiod)
    return _run("willr", backend, {"high": high, "low": low, "close": close},
                timeperiod=int(timeperiod))


@_takes_panel('high', 'low', 'close')
def cci(high, low, close, timeperiod=14, *, backend=None):
    check_period("cci", 2, timeperiod=timeperiod)
    return _run("cci", backend, {"high": high, "low": low, "close": close},
                timeperiod=int(timeperiod))


@_takes_panel('high', 'low', 'close', 'volume')
def mfi(high, low, close, volume, timeperiod=14, *, backend=None):
    check_period("mfi", 2, timeperiod=timeperiod)
    return _run("mfi", backend, {"high": high, "low": low, "close": close, "volume": volume},
                timeperiod=int(timeperiod))

