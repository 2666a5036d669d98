"""OHLCV test data: realistic, ragged, and the awkward shapes TA-Lib has conventions for."""

from __future__ import annotations

import numpy as np

from technic_core.universe.generate import generate_universe


def ragged(n_symbols=24, n_bars=300, seed=1):
    """A generated universe block: right-aligned, some short histories, halted days."""
    g = generate_universe(n_symbols, n_bars, seed)
    return {f: getattr(g, f).copy() for f in ("open", "high", "low", "close", "volume")}


def with_awkward_columns(fields):
    """Column 0 constant, column 1 flat then moving, column 2 zero volume throughout."""
    f = {k: v.copy() for k, v in fields.items()}
    t = f["close"].shape[0]
    for k in ("open", "high", "low", "close"):
        f[k][:, 0] = 10.0
        f[k][: t // 2, 1] = f["close"][t // 2, 1]
    f["high"][: t // 2, 1] = f["close"][t // 2, 1]
    f["low"][: t // 2, 1] = f["close"][t // 2, 1]
    f["volume"][:, 0] = 1000.0
    f["volume"][:, 2] = 0.0
    f["high"] = np.maximum.reduce([f["high"], f["open"], f["close"]])
    f["low"] = np.minimum.reduce([f["low"], f["open"], f["close"]])
    # keep each column's NaN layout identical across fields
    nan = np.isnan(fields["close"])
    for k in f:
        f[k][nan] = np.nan
    return f


def random_walk(n_bars, seed, start_nan=0, flat_run=None, scale=1.0):
    """One OHLCV series (T,) with optional leading NaNs and a constant run."""
    rng = np.random.default_rng(seed)
    c = scale * np.exp(np.cumsum(rng.normal(0, 0.02, n_bars))) * 50
    o = c * np.exp(rng.normal(0, 0.005, n_bars))
    h = np.maximum(o, c) * np.exp(np.abs(rng.normal(0, 0.01, n_bars)))
    lo = np.minimum(o, c) * np.exp(-np.abs(rng.normal(0, 0.01, n_bars)))
    v = np.round(np.exp(rng.normal(12, 1, n_bars)))
    if flat_run is not None and flat_run[0] < min(flat_run[1], n_bars):
        a, b = flat_run
        for x in (o, h, lo, c):
            x[a:b] = c[a]
    out = {"open": o, "high": h, "low": lo, "close": c, "volume": v}
    for x in out.values():
        x[:start_nan] = np.nan
    return out
