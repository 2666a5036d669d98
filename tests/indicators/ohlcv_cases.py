"""Small, realistic OHLCV test data as ``(T, N)`` float64 arrays.

Closes follow a random walk with volatility clustering, across price levels
from pennies to four digits; opens gap from the previous close; high >=
max(open, close) and low <= min(open, close); volume is positive, co-moves
with the absolute return, and is zero on a few days (halts).  Ragged columns
start late: every field is NaN above the column's first bar, as in a recent
listing.  Everything is deterministic for a seed.
"""

from __future__ import annotations

import numpy as np

FIELDS = ("open", "high", "low", "close", "volume")


def make_ohlcv(
    n_bars: int,
    n_symbols: int,
    seed: int,
    *,
    ragged: float = 0.3,
    zero_volume: float = 0.03,
    min_start_left: int = 1,
) -> dict[str, np.ndarray]:
    """OHLCV for ``n_symbols`` columns; a ``ragged`` share of them start late.

    A late column keeps at least ``min_start_left`` bars (0 allows an
    all-NaN column).
    """
    rng = np.random.default_rng(seed)
    t, n = n_bars, n_symbols
    level = np.exp(rng.uniform(np.log(0.5), np.log(2000.0), n))
    vol = rng.uniform(0.005, 0.04, n)
    # volatility clustering: a slowly varying multiplier per column
    regime = np.exp(np.cumsum(rng.normal(0.0, 0.15, (t, n)), axis=0) * 0.3)
    regime /= regime.mean(axis=0, keepdims=True)
    ret = rng.standard_t(4, (t, n)) / np.sqrt(2.0) * vol * regime
    close = level * np.exp(np.cumsum(ret, axis=0))
    prev = np.vstack([close[:1], close[:-1]])
    open_ = prev * np.exp(rng.normal(0.0, 0.3, (t, n)) * vol)
    span = np.abs(rng.normal(0.0, 1.0, (t, n))) * vol * close
    high = np.maximum(open_, close) + span * rng.uniform(0.0, 1.0, (t, n))
    low = np.minimum(open_, close) - span * rng.uniform(0.0, 1.0, (t, n))
    low = np.maximum(low, np.minimum(open_, close) * 0.5)  # stay positive
    volume = np.round(rng.lognormal(11.0, 1.0, (t, n)) * (1.0 + 40.0 * np.abs(ret)))
    volume[rng.random((t, n)) < zero_volume] = 0.0
    data = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    late = rng.random(n) < ragged
    if late.any() and t:
        hi = t - min_start_left + 1
        starts = rng.integers(1, max(hi, 2), late.sum())
        for j, s in zip(np.flatnonzero(late), starts):
            for a in data.values():
                a[:s, j] = np.nan
    return {k: np.ascontiguousarray(v) for k, v in data.items()}


def constant(n_bars: int, n_symbols: int, value: float = 10.0, volume: float = 1000.0):
    """Every field flat: no move, no range."""
    c = np.full((n_bars, n_symbols), value)
    return {
        "open": c.copy(),
        "high": c.copy(),
        "low": c.copy(),
        "close": c.copy(),
        "volume": np.full((n_bars, n_symbols), volume),
    }


def flat_then_moving(n_bars: int, n_symbols: int, seed: int, flat_until: int):
    """Flat (halted, constant price, zero volume) until ``flat_until``, then trading."""
    d = make_ohlcv(n_bars, n_symbols, seed, ragged=0.0)
    first = d["close"][flat_until]
    for k in ("open", "high", "low", "close"):
        d[k][:flat_until] = first
    d["volume"][:flat_until] = 0.0
    return d


def moving_then_flat(n_bars: int, n_symbols: int, seed: int, flat_from: int):
    """Trading until ``flat_from``, then flat at the last close (a halt)."""
    d = make_ohlcv(n_bars, n_symbols, seed, ragged=0.0)
    last = d["close"][flat_from]
    for k in ("open", "high", "low", "close"):
        d[k][flat_from:] = last
    d["volume"][flat_from:] = 0.0
    return d


def check_realistic(d: dict[str, np.ndarray]) -> None:
    """The invariants the generator promises (for its own test)."""
    o, h, lo, c, v = (d[k] for k in FIELDS)
    ok = ~np.isnan(c)
    assert np.array_equal(ok, ~np.isnan(h)) and np.array_equal(ok, ~np.isnan(v))
    assert (h[ok] >= np.maximum(o, c)[ok]).all()
    assert (lo[ok] <= np.minimum(o, c)[ok]).all()
    assert (lo[ok] > 0).all() and (v[ok] >= 0).all()
