"""Phase 0's engine: one symbol at a time, a DataFrame, pandas indicators.

The baseline's per-symbol loop and body as the original scanner had them, used by every
phase that does not vectorise (baseline, prefetch, prescreen).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ... import indicators as ind
from ...universe.validate import SymbolDataError, check_symbol
from ..features import FEATURE_COLUMNS, frame_features, indicator_calls
from ..scores import SCORE_COLUMNS, compute_scores
from .outcome import BlockOutcome, EngineOptions


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
    values = indicator_calls(
        ind, arrays["high"], arrays["low"], arrays["close"], arrays["volume"], backend="baseline"
    )
    t1 = time.perf_counter()
    feats = frame_features(df, values)
    scores = compute_scores({k: np.array([v]) for k, v in feats.items()})
    t2 = time.perf_counter()
    clock["indicators"] = clock.get("indicators", 0.0) + (t1 - t0)
    clock["scoring"] = clock.get("scoring", 0.0) + (t2 - t1)
    row = {"n_bars": len(df), **feats}
    row.update({k: v[0] for k, v in scores.items()})
    return row


def run(src, symbols: list[str], options: EngineOptions) -> BlockOutcome:
    """The engine contract (``outcome.Engine``): one symbol at a time (``options.progress``
    wraps the symbols), every bar read first in one batch with ``options.prefetch``."""
    out = BlockOutcome()
    out.batch_read_s = _loop(src, symbols, options.prefetch, options.progress, out)
    out.engine_info["engine"] = "in-process"
    return out


def _loop(src, symbols: list[str], prefetch: bool, progress, out: BlockOutcome) -> float:
    """Phase 0's loop (and phase 1's, once the bars are prefetched).

    Returns the seconds of the prefetch's one batch read (0 without prefetch):
    part of the fetch stage, but a cost that does not grow with the symbols
    asked for (whole row groups of the store, whole sessions of an API), which
    ``technic bench`` must know to project a sample's time to the universe.
    """
    frames: dict[str, pd.DataFrame] = {}
    read_s = 0.0
    if prefetch:
        t0 = time.perf_counter()
        long = src.long(symbols)
        read_s = time.perf_counter() - t0
        out.errors.update(long.attrs.get("errors", {}))
        if len(long):
            for s, g in long.groupby("symbol", sort=False, observed=True):
                frames[str(s)] = g.drop(columns="symbol").reset_index(drop=True)
        out.add_time("fetch", time.perf_counter() - t0)
    rows: list[dict] = []
    names: list[str] = []
    stage = out.timings
    for s in progress(symbols) if progress else symbols:
        if s in out.errors:
            continue
        if prefetch:
            df = frames.get(s)
            if df is None:
                out.errors[s] = "no bars"
                continue
        else:
            t0 = time.perf_counter()
            try:
                df = src.bars(s)
            except SymbolDataError as exc:
                out.errors[s] = exc.reason
                continue
            finally:
                out.add_time("fetch", time.perf_counter() - t0)
        out.latest[s] = latest_close(df)
        try:
            rows.append(compute_symbol(s, df, stage))
            names.append(s)
        except SymbolDataError as exc:
            out.errors[s] = exc.reason
    out.backend = "baseline"
    # no symbol computed (every one bad): the columns still, so the empty table can be built
    out.frames.append(
        pd.DataFrame(
            rows,
            index=pd.Index(names, name="symbol"),
            columns=None if rows else ["n_bars", *FEATURE_COLUMNS, *SCORE_COLUMNS],
        )
    )
    return read_s
