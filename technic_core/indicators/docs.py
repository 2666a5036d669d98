"""The thirteen functions described once: their docstrings (numpydoc) are made from this table.

Each entry: TA-Lib's title, the price inputs, the parameters (TA-Lib's names,
defaults and ranges), the outputs (TA-Lib's names), the lookback (the number
of leading NaNs a column whose series starts at row 0 gets) and a note.
"""

from __future__ import annotations

from dataclasses import dataclass

from .containers import OUTPUT_NAMES


@dataclass(frozen=True)
class Spec:
    title: str
    inputs: tuple[str, ...]
    params: tuple[tuple[str, str, str], ...]  # (name, type and default, meaning)
    lookback: str
    outputs: tuple[tuple[str, str], ...]  # (TA-Lib output name, meaning)
    note: str = ""


def _period(
    default: int, minimum: int = 1, what: str = "bars in the window"
) -> tuple[str, str, str]:
    return (
        "timeperiod",
        f"int, default {default}",
        f"Number of {what}, an integer from {minimum} to 100000 (TA-Lib's range).",
    )


SPECS: dict[str, Spec] = {
    "sma": Spec(
        "Simple Moving Average",
        ("close",),
        (_period(30),),
        "timeperiod - 1",
        (("real", "Mean of the last ``timeperiod`` closes."),),
    ),
    "ema": Spec(
        "Exponential Moving Average",
        ("close",),
        (_period(30),),
        "timeperiod - 1",
        (
            (
                "real",
                "EMA with k = 2 / (timeperiod + 1), seeded with the SMA of the first "
                "``timeperiod`` closes (TA-Lib's default).",
            ),
        ),
    ),
    "rsi": Spec(
        "Relative Strength Index (Wilder)",
        ("close",),
        (_period(14, 2),),
        "timeperiod",
        (("real", "RSI from 0 to 100, Wilder's smoothing of gains and losses."),),
    ),
    "macd": Spec(
        "Moving Average Convergence/Divergence",
        ("close",),
        (
            ("fastperiod", "int, default 12", "Fast EMA period, 2 to 100000."),
            (
                "slowperiod",
                "int, default 26",
                "Slow EMA period, 2 to 100000 (swapped with "
                "``fastperiod`` when smaller, as TA-Lib does).",
            ),
            ("signalperiod", "int, default 9", "Signal EMA period, 1 to 100000."),
        ),
        "slowperiod + signalperiod - 2",
        (
            ("macd", "Fast EMA minus slow EMA."),
            ("macdsignal", "EMA of ``macd`` over ``signalperiod``."),
            ("macdhist", "``macd - macdsignal``."),
        ),
    ),
    "bbands": Spec(
        "Bollinger Bands",
        ("close",),
        (
            _period(20, 2),
            ("nbdevup", "float, default 2.0", "Standard deviations above the middle band."),
            ("nbdevdn", "float, default 2.0", "Standard deviations below the middle band."),
            ("matype", "int, default 0", "Moving average type; only 0 (SMA) is supported."),
        ),
        "timeperiod - 1",
        (
            ("upperband", "Middle band plus ``nbdevup`` population standard deviations."),
            ("middleband", "SMA of the closes over ``timeperiod``."),
            ("lowerband", "Middle band minus ``nbdevdn`` population standard deviations."),
        ),
    ),
    "atr": Spec(
        "Average True Range (Wilder)",
        ("high", "low", "close"),
        (_period(14),),
        "timeperiod",
        (("real", "Wilder's average of the true range."),),
    ),
    "stoch": Spec(
        "Stochastic (slow)",
        ("high", "low", "close"),
        (
            ("fastk_period", "int, default 5", "Window of the raw %K, 1 to 100000."),
            ("slowk_period", "int, default 3", "SMA period of the slow %K, 1 to 100000."),
            ("slowk_matype", "int, default 0", "Only 0 (SMA) is supported."),
            ("slowd_period", "int, default 3", "SMA period of the slow %D, 1 to 100000."),
            ("slowd_matype", "int, default 0", "Only 0 (SMA) is supported."),
        ),
        "fastk_period + slowk_period + slowd_period - 3",
        (
            ("slowk", "SMA of the raw %K over ``slowk_period``."),
            ("slowd", "SMA of ``slowk`` over ``slowd_period``."),
        ),
    ),
    "adx": Spec(
        "Average Directional Movement Index",
        ("high", "low", "close"),
        (_period(14, 2),),
        "2 * timeperiod - 1",
        (("real", "ADX from 0 to 100."),),
    ),
    "obv": Spec(
        "On Balance Volume",
        ("close", "volume"),
        (),
        "0",
        (
            (
                "real",
                "Running sum of volume signed by the close's direction, starting "
                "at the first bar's volume.",
            ),
        ),
    ),
    "roc": Spec(
        "Rate of change",
        ("close",),
        (_period(10),),
        "timeperiod",
        (("real", "``(close / close[timeperiod bars ago] - 1) * 100``."),),
    ),
    "willr": Spec(
        "Williams' %R",
        ("high", "low", "close"),
        (_period(14, 2),),
        "timeperiod - 1",
        (("real", "%R from -100 to 0."),),
    ),
    "cci": Spec(
        "Commodity Channel Index",
        ("high", "low", "close"),
        (_period(14, 2),),
        "timeperiod - 1",
        (("real", "CCI of the typical price (high + low + close) / 3."),),
    ),
    "mfi": Spec(
        "Money Flow Index",
        ("high", "low", "close", "volume"),
        (_period(14, 2),),
        "timeperiod",
        (("real", "MFI from 0 to 100."),),
    ),
}

_CONTAINERS = """\
    ``(T,)`` or ``(T, N)`` float64 arrays (time on axis 0, one column per
    symbol), a ``pandas.Series`` or wide ``pandas.DataFrame`` (dates x
    symbols), a ``polars.Series`` or wide ``polars.DataFrame`` (date or text
    columns are carried through), or one ``Panel`` in place of all of them."""


def docstring(name: str) -> str:
    s = SPECS[name]
    multi = name in OUTPUT_NAMES
    lines = [
        f"{s.title}: TA-Lib's ``{name.upper()}``, to 1e-9 relative, NaN where TA-Lib gives NaN.",
        "",
        "Parameters",
        "----------",
    ]
    for arg in s.inputs:
        lines += [f"{arg} : array_like, Series, DataFrame or Panel", f"    The {arg} of each bar."]
    lines += [_CONTAINERS]
    for pname, ptype, meaning in s.params:
        lines += [f"{pname} : {ptype}", f"    {meaning}"]
    lines += [
        "backend : str, optional",
        "    Implementation (``available_backends()``); default the fastest that runs here.",
        "",
        "Returns",
        "-------",
    ]
    for oname, meaning in s.outputs:
        lines += [f"{oname} : same container as the input", f"    {meaning}"]
    if multi:
        lines += ["    A tuple in this order (TA-Lib's); Series are named after TA-Lib's outputs."]
    else:
        period = any(p[0] == "timeperiod" for p in s.params)
        lines += [f"    A Series result is named ``{name}{'_<timeperiod>' if period else ''}``."]
    lines += [
        "",
        "Notes",
        "-----",
        f"Lookback: {s.lookback} bars.  A column's first ``lookback`` values after its "
        "series starts are NaN, as TA-Lib's.",
        "",
        "NaN rules: leading NaNs mark a short history (the column equals TA-Lib on its own "
        "non-NaN tail); a NaN after a column's first value, an infinity, or inputs whose "
        "columns start on different rows raise ``IndicatorInputError`` naming the column "
        "and row.",
        "",
        "Containers: numpy in gives numpy out; pandas and polars give back the same "
        "container with the input's index and columns (see ``indicators.containers``).",
    ]
    if s.note:
        lines += ["", s.note]
    args = ", ".join(s.inputs)
    params = ", ".join(f"{p[0]}={p[1].rsplit('default ', 1)[-1]}" for p in s.params[:1])
    call = f"{name}({args}{', ' + params if params else ''})"
    lines += [
        "",
        "Examples",
        "--------",
        f">>> from technic_core.indicators import {name}",
        f">>> out = {call}  # doctest: +SKIP",
    ]
    return "\n".join(lines)
