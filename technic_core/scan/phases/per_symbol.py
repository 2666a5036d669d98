"""Phase 0's engine: one symbol at a time, a DataFrame, pandas indicators.

The baseline's per-symbol body as the original scanner had it, used by every
phase that does not vectorise (baseline, prefetch, prescreen).
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ... import indicators as ind
from ...universe.validate import check_symbol
from ..features import frame_features, indicator_calls
from ..scores import compute_scores


def latest_close(df: pd.DataFrame) -> float:
    """Close of the bar with the latest date (the last such row), NaN if unknown."""
    if "date" not in df or "close" not in df or len(df) == 0:
        return float("nan")
    dates = pd.to_datetime(df["date"], errors="coerce").to_numpy()
    if np.isnat(dates).all():
        return float("nan")
    d = np.where(np.isnat(dates), np.datetime64("NaT"), dates)
    best = d[~np.isnat(d)].max()
    i = int(np.flatnonzero(d == best)[-1])
    try:
        return float(df["close"].iat[i])
    except (TypeError, ValueError):
        return float("nan")


def compute_symbol(symbol: str, df: pd.DataFrame, clock: dict[str, float]) -> dict:
    """Indicators, features and scores for one checked symbol; adds stage seconds to ``clock``."""
    check_symbol(symbol, df)
    t0 = time.perf_counter()
    arrays = {f: df[f].to_numpy(np.float64) for f in ("high", "low", "close", "volume")}
    values = indicator_calls(ind, arrays["high"], arrays["low"], arrays["close"], arrays["volume"],
                             backend="baseline")
    t1 = time.perf_counter()
    feats = frame_features(df, values)
    scores = compute_scores({k: np.array([v]) for k, v in feats.items()})
    t2 = time.perf_counter()
    clock["indicators"] = clock.get("indicators", 0.0) + (t1 - t0)
    clock["scoring"] = clock.get("scoring", 0.0) + (t2 - t1)
    row = {"n_bars": len(df), **feats}
    row.update({k: v[0] for k, v in scores.items()})
    return row
