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

pandas and polars containers give back the same containers (``containers``):
``rsi(df["Close"])`` is a Series named ``rsi_14`` on the frame's index; a wide
DataFrame (dates x symbols) gives DataFrames with its index and columns.
Every function's docstring (numpydoc) is made from one table (``docs``).
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any

from .containers import OUTPUT_NAMES, labelled_errors, unwrap
from .docs import SPECS, docstring
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

__all__ = [
    *INDICATORS,
    "available_backends",
    "registered_backends",
    "default_backend",
    "unavailable_reason",
    "BackendUnavailable",
    "IndicatorInputError",
    "FALLBACK_ORDER",
    "INDICATORS",
    "Panel",
    "OUTPUT_NAMES",
]

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import polars as pl
    from numpy.typing import ArrayLike

    # What a price argument may be, and what comes back (the same kind as went in).
    Prices = ArrayLike | np.ndarray | pd.Series | pd.DataFrame | pl.Series | pl.DataFrame | Panel
    Output = np.ndarray | pd.Series | pd.DataFrame | pl.Series | pl.DataFrame
else:
    Prices = Output = Any


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
        starts, was_1d, wrap = panel.starts, panel.one_dimensional, panel.wrapper
    else:
        inputs, wrap = unwrap(fname, inputs)
        arrays, was_1d = as_2d(fname, inputs)
        with labelled_errors(wrap):
            starts = check_layout(fname, arrays)
    mod = load_backend(backend or default_backend())
    func = getattr(mod, fname)
    if getattr(mod, "TAKES_STARTS", False):
        out = func(*arrays.values(), **params, starts=starts)
    else:
        out = func(*arrays.values(), **params)
    if was_1d:
        out = tuple(o[:, 0] for o in out) if isinstance(out, tuple) else out[:, 0]
    return out if wrap is None else wrap(fname, params, out)


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
                raise TypeError(
                    f"{fn.__name__}() takes at most {len(names)} parameters after "
                    f"a Panel ({', '.join(names)}), got {len(rest)}"
                )
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


def _documented(fn):
    fn.__doc__ = docstring(fn.__name__)
    return fn


@_documented
@_takes_panel("close")
def sma(close: Prices, timeperiod: int = 30, *, backend: str | None = None) -> Output:
    check_period("sma", timeperiod=timeperiod)
    return _run("sma", backend, {"close": close}, timeperiod=int(timeperiod))


@_documented
@_takes_panel("close")
def ema(close: Prices, timeperiod: int = 30, *, backend: str | None = None) -> Output:
    check_period("ema", timeperiod=timeperiod)
    return _run("ema", backend, {"close": close}, timeperiod=int(timeperiod))


@_documented
@_takes_panel("close")
def rsi(close: Prices, timeperiod: int = 14, *, backend: str | None = None) -> Output:
    check_period("rsi", 2, timeperiod=timeperiod)
    return _run("rsi", backend, {"close": close}, timeperiod=int(timeperiod))


@_documented
@_takes_panel("close")
def macd(
    close: Prices,
    fastperiod: int = 12,
    slowperiod: int = 26,
    signalperiod: int = 9,
    *,
    backend: str | None = None,
) -> tuple[Output, Output, Output]:
    check_period("macd", 2, fastperiod=fastperiod, slowperiod=slowperiod)
    check_period("macd", signalperiod=signalperiod)
    # TA-Lib swaps the periods when fast > slow; so do we, so answers agree.
    if slowperiod < fastperiod:
        fastperiod, slowperiod = slowperiod, fastperiod
    return _run(
        "macd",
        backend,
        {"close": close},
        fastperiod=int(fastperiod),
        slowperiod=int(slowperiod),
        signalperiod=int(signalperiod),
    )


@_documented
@_takes_panel("close")
def bbands(
    close: Prices,
    timeperiod: int = 20,
    nbdevup: float = 2.0,
    nbdevdn: float = 2.0,
    matype: int = 0,
    *,
    backend: str | None = None,
) -> tuple[Output, Output, Output]:
    check_period("bbands", 2, timeperiod=timeperiod)
    check_real("bbands", nbdevup=nbdevup, nbdevdn=nbdevdn)
    if matype != 0:
        raise IndicatorInputError("bbands: only matype=0 (SMA) is supported")
    return _run(
        "bbands",
        backend,
        {"close": close},
        timeperiod=int(timeperiod),
        nbdevup=float(nbdevup),
        nbdevdn=float(nbdevdn),
    )


@_documented
@_takes_panel("high", "low", "close")
def atr(
    high: Prices, low: Prices, close: Prices, timeperiod: int = 14, *, backend: str | None = None
) -> Output:
    check_period("atr", timeperiod=timeperiod)
    return _run(
        "atr", backend, {"high": high, "low": low, "close": close}, timeperiod=int(timeperiod)
    )


@_documented
@_takes_panel("high", "low", "close")
def stoch(
    high: Prices,
    low: Prices,
    close: Prices,
    fastk_period: int = 5,
    slowk_period: int = 3,
    slowk_matype: int = 0,
    slowd_period: int = 3,
    slowd_matype: int = 0,
    *,
    backend: str | None = None,
) -> tuple[Output, Output]:
    check_period(
        "stoch", fastk_period=fastk_period, slowk_period=slowk_period, slowd_period=slowd_period
    )
    if slowk_matype != 0 or slowd_matype != 0:
        raise IndicatorInputError(
            "stoch: only slowk_matype=0 and slowd_matype=0 (SMA) are supported"
        )
    return _run(
        "stoch",
        backend,
        {"high": high, "low": low, "close": close},
        fastk_period=int(fastk_period),
        slowk_period=int(slowk_period),
        slowd_period=int(slowd_period),
    )


@_documented
@_takes_panel("high", "low", "close")
def adx(
    high: Prices, low: Prices, close: Prices, timeperiod: int = 14, *, backend: str | None = None
) -> Output:
    check_period("adx", 2, timeperiod=timeperiod)
    return _run(
        "adx", backend, {"high": high, "low": low, "close": close}, timeperiod=int(timeperiod)
    )


@_documented
@_takes_panel("close", "volume")
def obv(close: Prices, volume: Prices, *, backend: str | None = None) -> Output:
    return _run("obv", backend, {"close": close, "volume": volume})


@_documented
@_takes_panel("close")
def roc(close: Prices, timeperiod: int = 10, *, backend: str | None = None) -> Output:
    check_period("roc", timeperiod=timeperiod)
    return _run("roc", backend, {"close": close}, timeperiod=int(timeperiod))


@_documented
@_takes_panel("high", "low", "close")
def willr(
    high: Prices, low: Prices, close: Prices, timeperiod: int = 14, *, backend: str | None = None
) -> Output:
    check_period("willr", 2, timeperiod=timeperiod)
    return _run(
        "willr", backend, {"high": high, "low": low, "close": close}, timeperiod=int(timeperiod)
    )


@_documented
@_takes_panel("high", "low", "close")
def cci(
    high: Prices, low: Prices, close: Prices, timeperiod: int = 14, *, backend: str | None = None
) -> Output:
    check_period("cci", 2, timeperiod=timeperiod)
    return _run(
        "cci", backend, {"high": high, "low": low, "close": close}, timeperiod=int(timeperiod)
    )


@_documented
@_takes_panel("high", "low", "close", "volume")
def mfi(
    high: Prices,
    low: Prices,
    close: Prices,
    volume: Prices,
    timeperiod: int = 14,
    *,
    backend: str | None = None,
) -> Output:
    check_period("mfi", 2, timeperiod=timeperiod)
    return _run(
        "mfi",
        backend,
        {"high": high, "low": low, "close": close, "volume": volume},
        timeperiod=int(timeperiod),
    )


assert tuple(SPECS) == INDICATORS
