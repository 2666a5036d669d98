"""The scan: one pipeline whose phases are switches.

    universe -> [prescreen] -> fetch -> indicators -> scoring -> filtering -> ranking

Whatever the phases, every symbol is classified by the one order in
``filters`` and the table is built by ``table.build_table``; phases only
change how bars arrive and where the arithmetic runs.
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ..sources import Source, open_source
from ..universe.validate import SymbolDataError
from . import filters
from .phases import parse_phases
from .phases.per_symbol import compute_symbol, latest_close
from .phases.vectorized import compute_block
from .result import ScanResult
from .table import ID_COLUMNS, build_table


class _Clock(dict):
    @contextmanager
    def __call__(self, stage: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self[stage] = self.get(stage, 0.0) + time.perf_counter() - t0


def _progress(iterable, total: int, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc=desc, unit="sym", mininterval=0.5, leave=False)


def scan(source: str | Path | Source | None = None, *, phases: str | Iterable[str] | None = "baseline",
         backend: str | None = None, strict: bool = False, progress: bool = False,
         symbols: Iterable[str] | None = None) -> ScanResult:
    """Scan a universe and return the ranked table, rejections, errors and timings.

    ``source``: a store directory, an ``http://`` API address, or a Source
    (default: the default store).  ``phases``: 'baseline', 'all', or names
    from ``phases.LADDER``.  ``backend``: indicator backend for vectorised
    phases (falls back along cupy -> numba -> numpy -> baseline unless
    ``strict``).  ``symbols``: scan only these symbols of the universe.
    """
    chosen = parse_phases(phases)
    src = open_source(source)
    clock = _Clock()
    t_start = time.perf_counter()
    requests_before = src.requests
    info: dict = {"source": src.describe()}

    with clock("universe"):
        uni = src.universe()
        if symbols is not None:
            wanted = set(symbols)
            uni = uni[uni["symbol"].isin(wanted)].reset_index(drop=True)
        if src.frequency != "daily":
            raise ValueError(f"{src.describe()} holds {src.frequency} bars; scans need daily bars")
        ufail = filters.universe_failures(uni)
    all_symbols = uni["symbol"].tolist()
    fate: dict[str, str] = {s: r for s, r in zip(all_symbols, ufail) if r}

    # Symbols whose history will be fetched.
    to_fetch = all_symbols
    if "prescreen" in chosen:
        with clock("prescreen"):
            to_fetch = [s for s in all_symbols if s not in fate]
            snap = src.snapshot()
            snap_close = dict(zip(snap["symbol"], snap["close"].to_numpy(np.float64)))
            cheap = [s for s in to_fetch if s in snap_close and filters.price_fails(snap_close[s])]
            for s in cheap:
                fate[s] = filters.PRICE_RULE
            cheap_set = set(cheap)
            to_fetch = [s for s in to_fetch if s not in cheap_set]
        info["history_fetches_saved"] = len(all_symbols) - len(to_fetch)

    rows: dict[str, dict] = {}
    errors: dict[str, str] = {}
    latest: dict[str, float] = {}
    backend_used: str | None = "baseline"

    if "vectorized" in chosen:
        with clock("fetch"):
            block = src.block(to_fetch)
        errors.update(block.errors)
        latest.update(getattr(block, "error_latest_close", {}) or {})
        with clock("indicators"):
            values, backend_used, notes = compute_block(block, backend, strict)
        if notes:
            info["backend_fallback"] = "; ".join(notes)
        with clock("scoring"):
            n_bars = block.lengths
            for j, s in enumerate(block.symbols):
                row = {k: v[j] for k, v in values.items()}
                row["n_bars"] = int(n_bars[j])
                rows[s] = row
                latest[s] = float(values["close"][j])
    else:
        frames: dict[str, pd.DataFrame] = {}
        if "prefetch" in chosen:
            with clock("fetch"):
                long = src.long(to_fetch)
                errors.update(long.attrs.get("errors", {}))
                if len(long):
                    for s, g in long.groupby("symbol", sort=False, observed=True):
                        frames[str(s)] = g.drop(columns="symbol").reset_index(drop=True)
        stage: dict[str, float] = {}
        for s in _progress(to_fetch, len(to_fetch), progress, "scan"):
            if s in errors:
                continue
            if "prefetch" in chosen:
                df = frames.get(s)
                if df is None:
                    errors[s] = "no bars"
                    continue
            else:
                t0 = time.perf_counter()
                try:
                    df = src.bars(s)
                except SymbolDataError as exc:
                    errors[s] = exc.reason
                    continue
                finally:
                    stage["fetch"] = stage.get("fetch", 0.0) + time.perf_counter() - t0
            latest[s] = latest_close(df)
            try:
                rows[s] = compute_symbol(s, df, stage)
            except SymbolDataError as exc:
                errors[s] = exc.reason
        for k, v in stage.items():
            clock[k] = clock.get(k, 0.0) + v

    with clock("filtering"):
        counts = filters.empty_counts()
        # Order of SPEC's classification: universe rules, price on the latest bar, bad data, history.
        for s in all_symbols:
            if s in fate:
                continue
            if filters.price_fails(latest.get(s, np.nan)):
                fate[s] = filters.PRICE_RULE
            elif s in errors:
                fate[s] = "error"
        passing = [s for s in all_symbols if s not in fate and s in rows]
        missing = [s for s in all_symbols if s not in fate and s not in rows]
        for s in missing:  # fetched nothing and no reason recorded: never silent
            errors.setdefault(s, "no bars")
            fate[s] = "error"
        if passing:
            hist = filters.history_failures(
                [rows[s]["n_bars"] for s in passing],
                [rows[s]["dollar_vol_20"] for s in passing],
                [rows[s]["cv_20"] for s in passing],
            )
            for s, r in zip(passing, hist):
                if r:
                    fate[s] = r
        for r in fate.values():
            if r != "error":
                counts[r] += 1
        kept = [s for s in passing if s not in fate]

    with clock("ranking"):
        ids = uni.set_index("symbol")
        frame = pd.DataFrame([rows[s] for s in kept]) if kept else pd.DataFrame(
            columns=[c for c in rows[next(iter(rows))]] if rows else [])
        frame.insert(0, "symbol", kept)
        for col in ID_COLUMNS[1:]:
            if col == "n_bars":
                continue
            frame[col] = ids.loc[kept, col].to_numpy() if kept else []
        table = build_table(frame)

    err_syms = [s for s in all_symbols if fate.get(s) == "error"]
    err = pd.DataFrame({"symbol": err_syms, "reason": [errors[s] for s in err_syms]})
    clock["total"] = time.perf_counter() - t_start
    info["requests"] = src.requests - requests_before
    return ScanResult(table=table, rejections=counts, errors=err, timings=dict(clock),
                      n_symbols=len(all_symbols), phases=chosen,
                      backend=backend_used, info=info)
