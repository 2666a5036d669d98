"""Append one generated session to a store: every symbol gets tomorrow's bar.

What a daily data feed does after the close, made deterministic so that a
rescan after "one new bar for every symbol" can be measured and tested: the
new session is the next weekday after the store's last one, and each bar is
drawn from a generator seeded by ``seed`` and that date, scaled by the
symbol's own recent volatility and volume.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .lock import DEFAULT_LOCK_TIMEOUT_S, StoreLock
from .schema import BAR_FIELDS, StoreError
from .store import Store
from .validate import group_bounds
from .writer import write_store


def _tick(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 1.0, np.round(x, 2), np.round(x, 4))


def next_session(last) -> np.datetime64:
    return np.busday_offset(np.datetime64(last, "D"), 1, roll="forward")


def append_session(
    root: Path | str, seed: int = 0, lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT_S
) -> np.datetime64:
    """Add the next weekday's bar to every symbol whose last close is a usable price.

    Commits a new version of the store and returns the new session's date.  A
    store with bars that cannot be read is refused (every symbol gets a bar).
    """
    with StoreLock(root, purpose="append_session", timeout=lock_timeout) as lock:
        return _append(Store(root), seed, lock)


def _append(store: Store, seed: int, lock: StoreLock) -> np.datetime64:
    long = store.long()
    errors = long.attrs.get("errors", {})
    if errors:
        s, why = next(iter(errors.items()))
        raise StoreError(
            f"{store.root}: {len(errors)} symbol(s) cannot be read ({s}: {why}); "
            "append_session needs every bar file readable"
        )
    last = store.meta.get("last_session")
    if last is None:
        raise StoreError(f"{store.root}: the store has no last session to follow")
    day = next_session(last)
    starts, lengths, names, _ = group_bounds(long["symbol"])
    close = long["close"].to_numpy(np.float64)
    volume = long["volume"].to_numpy(np.float64)
    ends = starts + lengths - 1
    last_close = close[ends]
    # each symbol's recent daily volatility (last 20 log returns) and median volume
    vol = np.full(len(names), 0.02)
    med_v = np.full(len(names), 1e5)
    for g, (a, m) in enumerate(zip(starts, lengths)):
        c = close[a + max(0, m - 21) : a + m]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.diff(np.log(c))
        r = r[np.isfinite(r)]
        if r.size >= 2:
            vol[g] = float(np.clip(np.std(r), 0.002, 0.2))
        v = volume[a + max(0, m - 20) : a + m]
        v = v[np.isfinite(v)]
        if v.size:
            med_v[g] = float(np.median(v))
    ok = np.isfinite(last_close) & (last_close > 0)
    rng = np.random.default_rng([int(seed), int(day.astype(np.int64))])
    k = len(names)
    z = rng.standard_normal((4, k))
    new_close = last_close * np.exp(vol * z[0])
    new_open = last_close * np.exp(0.25 * vol * z[1])
    new_high = np.maximum(new_open, new_close) * np.exp(np.abs(0.5 * vol * z[2]))
    new_low = np.minimum(new_open, new_close) * np.exp(-np.abs(0.5 * vol * z[3]))
    o, c = _tick(new_open), _tick(new_close)
    h = np.maximum(_tick(new_high), np.maximum(o, c))
    lo = np.minimum(_tick(new_low), np.minimum(o, c))
    o, h, lo, c = (np.maximum(x, 1e-4) for x in (o, h, lo, c))
    v = np.round(med_v * np.exp(rng.normal(0, 0.35, k)))
    new = pd.DataFrame(
        {
            "symbol": names[ok],
            "date": pd.to_datetime(np.full(ok.sum(), day)),
            "open": o[ok],
            "high": h[ok],
            "low": lo[ok],
            "close": c[ok],
            "volume": v[ok],
        }
    )
    old = long.assign(symbol=long["symbol"].astype(str))
    both = pd.concat([old[["symbol", "date", *BAR_FIELDS]], new], ignore_index=True)
    order = {s: i for i, s in enumerate(names)}
    both["_k"] = both["symbol"].map(order)
    both = both.sort_values(["_k", "date"], kind="stable").drop(columns="_k").reset_index(drop=True)
    keep = {
        k: v
        for k, v in store.meta.items()
        if k
        not in (
            "format",
            "version",
            "n_symbols",
            "n_bar_symbols",
            "max_bars",
            "last_session",
            "frequency",
        )
    }
    keep["appended_sessions"] = int(keep.get("appended_sessions", 0)) + 1
    write_store(store.root, store.universe(), both, keep, lock=lock)
    return day
