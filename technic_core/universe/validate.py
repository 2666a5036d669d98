"""Bad-data rules for bars: one vectorised check for one symbol or many.

The per-symbol path (baseline) and the block path (every other phase) call
the same function, so a bad symbol gets the same reason whichever phase ran.
A symbol's reason names the first problem found, in the order listed in
``check_long``; its other bars are not looked at.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import BAR_FIELDS

# A history this short cannot give one return: it is bad data, not a rule rejection.
MIN_HISTORY = 2


class SymbolDataError(Exception):
    """One symbol's bars cannot be used; ``str()`` is the reason for the errors table."""

    def __init__(self, symbol: str, reason: str):
        super().__init__(reason)
        self.symbol = symbol
        self.reason = reason


def missing_columns(columns) -> list[str]:
    have = set(columns)
    return [c for c in ("date", *BAR_FIELDS) if c not in have]


def _fmt_date(d) -> str:
    if pd.isna(d):
        return "NaT"
    ts = pd.Timestamp(d)
    return str(ts.date()) if ts == ts.normalize() else str(ts)


def group_bounds(symbols: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(starts, lengths, names, group of each row) of contiguous runs of one symbol."""
    if isinstance(symbols.dtype, pd.CategoricalDtype):
        codes = symbols.cat.codes.to_numpy()
        cats = symbols.cat.categories.to_numpy()
    else:
        codes, cats = pd.factorize(symbols, sort=False)
    n = len(codes)
    change = np.empty(n, dtype=bool)
    if n:
        change[0] = True
        change[1:] = codes[1:] != codes[:-1]
    starts = np.flatnonzero(change)
    lengths = np.diff(np.append(starts, n))
    names = np.asarray(cats, dtype=object)[codes[starts]]
    if len(np.unique(codes[starts])) != len(starts):
        _, first = np.unique(codes[starts], return_index=True)
        dup = names[np.setdiff1d(np.arange(len(starts)), first)[0]]
        raise ValueError(f"rows of symbol {dup!r} are not contiguous in the long frame")
    return starts, lengths, names, np.cumsum(change) - 1


def check_long(df: pd.DataFrame) -> dict[str, str]:
    """Reasons for every bad symbol of a long frame (symbol, date, OHLCV).

    Rows of one symbol must be contiguous; their order is checked as given.
    """
    if len(df) == 0:
        return {}
    starts, lengths, names, group = group_bounds(df["symbol"])
    change = np.zeros(len(df), dtype=bool)
    change[starts] = True

    dates = df["date"].to_numpy().astype("datetime64[ms]")
    cols = ("open", "high", "low", "close")
    # one field at a time: a (rows, 4) copy of the prices would double the memory this costs
    price = {c: df[c].to_numpy(np.float64) for c in cols}
    volume = df["volume"].to_numpy(np.float64)

    same = ~change  # row continues the previous row's symbol
    step = np.zeros(len(dates), dtype=np.int64)
    step[1:] = (dates[1:] - dates[:-1]).astype(np.int64)
    nat = np.isnat(dates)
    dup_date = same & (step == 0) & ~nat
    back_date = same & (step < 0)
    nonfinite = ~np.isfinite(volume) | nat
    nonpos = volume < 0
    for c in cols:
        nonfinite |= ~np.isfinite(price[c])
        nonpos |= price[c] <= 0
    inverted = price["high"] < price["low"]

    reasons: dict[str, str] = {}
    for g in np.flatnonzero(lengths < MIN_HISTORY):
        n = int(lengths[g])
        reasons[names[g]] = (
            f"too short a history: {n} bar{'s' if n != 1 else ''} (need at least {MIN_HISTORY})"
        )
    checks = (
        (nat | nonfinite, "nonfinite"),
        (dup_date, "duplicate"),
        (back_date, "unsorted"),
        (nonpos, "nonpositive"),
        (inverted, "inverted"),
    )
    for flags, kind in checks:
        for i in np.flatnonzero(flags):
            s = names[group[i]]
            if s in reasons:
                continue
            d = _fmt_date(dates[i])
            if kind == "nonfinite":
                if nat[i]:
                    msg = f"missing or unparseable date at row {i - starts[group[i]]}"
                else:
                    bad = [c for c in cols if not np.isfinite(price[c][i])]
                    if not np.isfinite(volume[i]):
                        bad.append("volume")
                    msg = (
                        f"non-finite value ({', '.join(f'{c}={df[c].iat[i]}' for c in bad)}) on {d}"
                    )
            elif kind == "duplicate":
                msg = f"duplicate date {d}"
            elif kind == "unsorted":
                msg = f"dates not sorted: {d} comes after {_fmt_date(dates[i - 1])}"
            elif kind == "nonpositive":
                bad = [f"{c}={price[c][i]:g}" for c in cols if price[c][i] <= 0]
                if volume[i] < 0:
                    bad.append(f"volume={volume[i]:g}")
                msg = f"non-positive value ({', '.join(bad)}) on {d}"
            else:
                msg = f"high < low on {d} (high={price['high'][i]:g}, low={price['low'][i]:g})"
            reasons[s] = msg
    return reasons


def check_symbol(symbol: str, df: pd.DataFrame) -> None:
    """Raise SymbolDataError if one symbol's bars (date, OHLCV) are unusable."""
    miss = missing_columns(df.columns)
    if miss:
        raise SymbolDataError(symbol, f"missing columns: {', '.join(miss)}")
    if len(df) == 0:
        raise SymbolDataError(symbol, "no bars (empty file)")
    reason = check_long(df.assign(symbol=symbol)).get(symbol)
    if reason:
        raise SymbolDataError(symbol, reason)
