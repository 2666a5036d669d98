"""The scan's filters (docs/scan.md) and the one order in which a symbol's fate is decided.

Every phase must report the same rejections and errors, including phases that
drop symbols before reading their history.  So a symbol's outcome is the
first that applies, in this order:

1. universe rules (``UNIVERSE_RULES``): decided from the universe table alone;
2. ``min_price`` on the symbol's latest bar (the bar with the latest date):
   pre-screening decides it from a one-session snapshot;
3. bad data (the errors table);
4. history rules (``HISTORY_RULES``), which need the bars.

A phase may evaluate them in any order, but must classify by this one.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

UNIVERSE_RULES = ("symbol_format", "leveraged", "market_cap")
PRICE_RULE = "min_price"
HISTORY_RULES = ("min_bars", "min_dollar_volume", "max_cv")
RULES = (*UNIVERSE_RULES, PRICE_RULE, *HISTORY_RULES)

MIN_MARKET_CAP = 150e6
MIN_MARKET_CAP_STRICT = 750e6
STRICT_SECTORS = ("Real Estate", "Utilities")
MIN_BARS = 20
MIN_PRICE = 1.0
MIN_DOLLAR_VOLUME = 250_000.0
MAX_CV = 0.5

_SYMBOL = re.compile(r"[A-Z]{1,5}")


def universe_failures(universe: pd.DataFrame) -> np.ndarray:
    """First universe rule each row fails ('' when it passes), as an object array."""
    sym = universe["symbol"].astype(str).to_numpy()
    fmt_ok = np.array([bool(_SYMBOL.fullmatch(s)) for s in sym], dtype=bool)
    lev = universe["is_leveraged"].fillna(False).to_numpy(dtype=bool)
    cap = universe["market_cap"].to_numpy(dtype=np.float64)
    floor = np.where(
        universe["sector"].isin(STRICT_SECTORS).to_numpy(), MIN_MARKET_CAP_STRICT, MIN_MARKET_CAP
    )
    small = ~np.isnan(cap) & (cap < floor)
    out = np.full(len(sym), "", dtype=object)
    out[small] = "market_cap"
    out[lev] = "leveraged"
    out[~fmt_ok] = "symbol_format"
    return out


def price_fails(latest_close) -> np.ndarray:
    c = np.asarray(latest_close, dtype=np.float64)
    return np.isfinite(c) & (c < MIN_PRICE)


def history_failures(n_bars, dollar_vol_20, cv_20) -> np.ndarray:
    """First history rule each symbol fails ('' when it passes)."""
    n = np.asarray(n_bars)
    dv = np.asarray(dollar_vol_20, dtype=np.float64)
    cv = np.asarray(cv_20, dtype=np.float64)
    out = np.full(n.shape, "", dtype=object)
    # NaN never passes a rule that needs a number: compare in the failing direction.
    out[~(cv <= MAX_CV)] = "max_cv"
    out[~(dv >= MIN_DOLLAR_VOLUME)] = "min_dollar_volume"
    out[n < MIN_BARS] = "min_bars"
    return out


def empty_counts() -> dict[str, int]:
    return {r: 0 for r in RULES}
