"""Indicators on a wide DataFrame of closes (dates x symbols): frames in, frames out.

    python examples/indicators_wide_frame.py

Every function of ``technic_core.indicators`` gives back the container it was given: a Series
on the same index (named ``rsi_14``), a DataFrame with the same dates and symbols, a tuple of
them in TA-Lib's order for the multi-output functions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from technic_core import indicators as ta


def closes(n_symbols: int = 50, n_days: int = 260, seed: int = 1) -> pd.DataFrame:
    """A wide frame of closes; a few symbols listed late (leading NaNs: a short history)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2025-01-02", periods=n_days, name="date")
    prices = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_days, n_symbols)), axis=0))
    prices[:120, :3] = np.nan
    return pd.DataFrame(prices, index=dates, columns=[f"SYM{j:02d}" for j in range(n_symbols)])


def main() -> pd.DataFrame:
    close = closes()
    rsi = ta.rsi(close, 14)  # DataFrame: same dates, same symbols
    upper, middle, lower = ta.bbands(close, 20)  # TA-Lib's order
    pctb = (close - lower) / (upper - lower)
    last = pd.DataFrame({"close": close.iloc[-1], "rsi_14": rsi.iloc[-1], "bb_pctb": pctb.iloc[-1]})
    print(last.sort_values("rsi_14", ascending=False).head(5).round(2))
    one = ta.rsi(close["SYM07"])  # a Series in, a Series out
    print(f"{one.name} of SYM07 on {one.index[-1].date()}: {one.iloc[-1]:.2f}")
    return last


if __name__ == "__main__":
    main()
