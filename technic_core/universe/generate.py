"""The deterministic synthetic universe the scan rules describe (docs/scan.md).

Everything is drawn from one seeded generator over ``(T, N)`` arrays, so the
same seed gives the same universe, byte for byte, on any machine.  The mix is
tuned so that every filter and score rule of SPEC fires on some symbols:
penny stocks, illiquid names, ETFs and leveraged ETFs, symbols that break the
ticker rule, small caps in the sectors with the higher cap floor, recent
listings with short histories, halted days, volatility clustering (GARCH),
volume that co-moves with absolute returns, and a few late collapses whose
closes vary more than the coefficient-of-variation rule allows.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .schema import SECTORS

LAST_SESSION = np.datetime64("2026-10-30")

_INDUSTRIES = {
    "Communication Services": ("Media", "Telecom Services", "Interactive Media"),
    "Consumer Discretionary": ("Retail", "Automobiles", "Hotels & Leisure"),
    "Consumer Staples": ("Food Products", "Beverages", "Household Products"),
    "Energy": ("Oil & Gas E&P", "Energy Equipment", "Midstream"),
    "Financials": ("Banks", "Insurance", "Capital Markets"),
    "Health Care": ("Biotechnology", "Pharmaceuticals", "Medical Devices"),
    "Industrials": ("Aerospace & Defense", "Machinery", "Transportation"),
    "Information Technology": ("Semiconductors", "Software", "IT Services"),
    "Materials": ("Chemicals", "Metals & Mining", "Containers"),
    "Real Estate": ("REITs", "Real Estate Services", "Residential REITs"),
    "Utilities": ("Electric Utilities", "Gas Utilities", "Water Utilities"),
}


@dataclass(frozen=True)
class GeneratedUniverse:
    universe: pd.DataFrame  # SPEC's universe columns
    dates: np.ndarray  # (T,) datetime64[D], the sessions
    lengths: np.ndarray  # (N,) bars each symbol has (right-aligned)
    open: np.ndarray  # (T, N), NaN before a symbol's listing
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def long_frame(self) -> pd.DataFrame:
        """One row per (symbol, date), sorted by symbol then date."""
        t, n = self.close.shape
        cols = np.repeat(np.arange(n), self.lengths)
        starts = t - self.lengths
        rows = np.concatenate([np.arange(s, t) for s in starts]) if n else np.array([], int)
        return pd.DataFrame(
            {
                "symbol": self.universe["symbol"].to_numpy()[cols],
                "date": self.dates[rows],
                "open": self.open[rows, cols],
                "high": self.high[rows, cols],
                "low": self.low[rows, cols],
                "close": self.close[rows, cols],
                "volume": self.volume[rows, cols],
            }
        )


def sessions(n_bars: int, last: np.datetime64 = LAST_SESSION) -> np.ndarray:
    """The last ``n_bars`` weekdays up to ``last``."""
    offsets = np.arange(-(n_bars - 1), 1)
    return np.busday_offset(last, offsets, roll="backward").astype("datetime64[D]")


def _symbols(rng: np.random.Generator, n: int) -> np.ndarray:
    letters = np.array(list(string.ascii_uppercase))
    out: list[str] = []
    seen: set[str] = set()
    lengths = rng.choice([1, 2, 3, 4, 5], size=4 * n + 64, p=[0.01, 0.07, 0.37, 0.45, 0.10])
    i = 0
    while len(out) < n:
        s = "".join(rng.choice(letters, size=lengths[i % lengths.size]))
        i += 1
        if s not in seen:
            seen.add(s)
            out.append(s)
    sym = np.array(out, dtype=object)
    # Tickers the universe rule rejects: share classes, warrants, over-long names.
    bad = rng.choice(n, size=max(1, n // 200), replace=False)
    for k, j in enumerate(bad):
        sym[j] = sym[j][:4] + (".B", ".WS", "XYZQW", "1")[k % 4]
    # a rejected form may collide with a real one; keep symbols unique
    _, first = np.unique(sym, return_index=True)
    dup = np.setdiff1d(np.arange(n), first)
    for j in dup:
        sym[j] = sym[j] + "Z" * (j % 3 + 1)
    return sym


def generate_universe(n_symbols: int = 5277, n_bars: int = 504, seed: int = 7) -> GeneratedUniverse:
    if n_symbols < 1 or n_bars < 2:
        raise ValueError("need at least 1 symbol and 2 bars")
    rng = np.random.default_rng(seed)
    return _simulate(rng, _symbols(rng, n_symbols), n_bars)


def generate_blocks(n_symbols: int, n_bars: int = 504, seed: int = 7, block_size: int = 4096):
    """A universe too large to hold at once, ``block_size`` symbols at a time: the symbols
    come from ``seed``, block b's bars from the seed sequence (seed, b), so the blocks are
    deterministic and independent.  (Another universe than ``generate_universe``'s for the
    same size and seed: that one draws every symbol's bars from one stream.)"""
    if n_symbols < 1 or n_bars < 2 or block_size < 1:
        raise ValueError("need at least 1 symbol, 2 bars and a block of 1")
    symbols = _symbols(np.random.default_rng(seed), n_symbols)
    for b, a in enumerate(range(0, n_symbols, block_size)):
        yield _simulate(np.random.default_rng([seed, b]), symbols[a : a + block_size], n_bars)


def _simulate(rng: np.random.Generator, symbol: np.ndarray, n_bars: int) -> GeneratedUniverse:
    """The universe rows and bars of ``symbol``, drawn from ``rng``."""
    n, t = len(symbol), n_bars
    sector_idx = rng.integers(0, len(SECTORS), size=n)
    sector = np.array(SECTORS, dtype=object)[sector_idx]
    industry = np.array([_INDUSTRIES[s][rng.integers(0, 3)] for s in sector], dtype=object)
    is_etf = rng.random(n) < 0.08
    is_leveraged = is_etf & (rng.random(n) < 0.2)
    market_cap = np.exp(rng.normal(np.log(2.5e9), 1.9, size=n))
    market_cap[(rng.random(n) < 0.10) | (is_etf & (rng.random(n) < 0.7))] = np.nan
    name = np.array(
        [
            f"{s} {'Ultra 3x ' if lev else ''}{'ETF' if etf else 'Corp'}"
            for s, etf, lev in zip(symbol, is_etf, is_leveraged)
        ],
        dtype=object,
    )
    universe = pd.DataFrame(
        {
            "symbol": symbol.astype(str),
            "name": name.astype(str),
            "sector": sector.astype(str),
            "industry": industry.astype(str),
            "market_cap": market_cap,
            "is_etf": is_etf,
            "is_leveraged": is_leveraged,
        }
    )

    # Histories: most symbols have all sessions; recent listings fewer, some too few to scan.
    lengths = np.full(n, t, dtype=np.int64)
    recent = rng.random(n) < 0.06
    lengths[recent] = rng.integers(5, max(6, min(t, 300)), size=recent.sum())
    lengths = np.minimum(lengths, t)

    # Volatility clustering: GARCH(1, 1) with Student-t shocks.
    base_vol = rng.uniform(0.008, 0.035, size=n) * np.where(is_etf, 0.6, 1.0)
    base_vol = np.where(is_leveraged, base_vol * 3, base_vol)
    a, b = 0.08, 0.90
    omega = base_vol**2 * (1 - a - b)
    mu = rng.normal(0.0003, 0.0012, size=n)
    shocks = rng.standard_t(5, size=(t, n)) / np.sqrt(5 / 3)
    ret = np.empty((t, n))
    var = base_vol**2
    prev = np.zeros(n)
    for i in range(t):
        var = omega + a * prev**2 + b * var
        prev = np.sqrt(var) * shocks[i]
        ret[i] = mu + prev
    sigma_path = np.abs(ret - mu) + base_vol * 0.5

    # A few late collapses, so the coefficient-of-variation rule has work to do.
    collapse = rng.random(n) < 0.006
    for j in np.flatnonzero(collapse):
        day = t - rng.integers(5, 15)
        ret[day : day + 3, j] = np.log(0.35)

    start_price = np.exp(rng.normal(np.log(30.0), 1.1, size=n))
    penny = rng.random(n) < 0.04
    start_price[penny] = rng.uniform(0.08, 0.9, size=penny.sum())
    close = start_price * np.exp(np.cumsum(ret, axis=0))

    prev_close = np.vstack([start_price[None, :], close[:-1]])
    gap = rng.normal(0, 0.25, size=(t, n)) * sigma_path
    open_ = prev_close * np.exp(gap)
    wick = np.abs(rng.normal(0, 0.5, size=(2, t, n))) * sigma_path
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])

    # Volume co-moves with absolute returns; some names are thinly traded.
    base_shares = np.exp(rng.normal(np.log(4e5), 1.6, size=n))
    shock_ratio = np.abs(ret - mu) / base_vol
    volume = base_shares * (0.6 + 0.8 * shock_ratio) * np.exp(rng.normal(0, 0.35, size=(t, n)))

    # Halted sessions: no trades, price pinned at the previous close.
    halted = rng.random((t, n)) < 0.002
    halted[0] = False
    pinned = prev_close
    for arr in (open_, high, low, close):
        arr[halted] = pinned[halted]
    volume[halted] = 0.0

    # Prices in cents (hundredths of a cent under $1), volumes in whole shares.
    def tick(x: np.ndarray) -> np.ndarray:
        return np.where(x >= 1.0, np.round(x, 2), np.round(x, 4))

    open_, close = tick(open_), tick(close)
    high = np.maximum(tick(high), np.maximum(open_, close))
    low = np.minimum(tick(low), np.minimum(open_, close))
    floor = 1e-4
    open_, high, low, close = (np.maximum(x, floor) for x in (open_, high, low, close))
    volume = np.round(volume)

    # Left-pad short histories with NaN (right-aligned: row t-1 is every symbol's last bar).
    listed = np.arange(t)[:, None] >= (t - lengths)[None, :]
    for arr in (open_, high, low, close, volume):
        arr[~listed] = np.nan

    return GeneratedUniverse(universe, sessions(t), lengths, open_, high, low, close, volume)
