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
from .phases.vectorized import AUTO, BlockOutcome, resolve_block_size, run_blocks
from .result import ScanResult
from .table import ID_COLUMNS, build_table


class _Clock(dict):
    @contextmanager
    def __call__(self, stage: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - t0)

    def add(self, stage: str, seconds: float) -> None:
        self[stage] = self.get(stage, 0.0) + seconds


def _progress(enabled, desc: str, unit: str):
    """A wrapper over the iterable of blocks/symbols: the caller's own hook when it is
    callable, else progress on stderr when asked (a bar on a terminal, lines in a log)."""
    if callable(enabled):
        return enabled
    if not enabled:
        return None
    from ..progress import tracker
    return tracker(desc, unit)


def _per_symbol(src: Source, symbols: list[str], prefetch: bool, progress, out: BlockOutcome) -> float:
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
    for s in (progress(symbols) if progress else symbols):
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
    out.frames.append(pd.DataFrame(rows, index=pd.Index(names, name="symbol")))
    return read_s


def _classify(all_symbols: list[str], fate: dict[str, str], out: BlockOutcome,
              computed: pd.DataFrame) -> tuple[np.ndarray, dict[str, int], dict[str, str]]:
    """Apply the scan's order (docs/scan.md): universe rules (already in ``fate``), price, bad data, history.

    Returns the rows of ``computed`` that pass (in ``all_symbols`` order), the rejection
    counts and every error's reason."""
    errors = dict(out.errors)
    n = len(all_symbols)
    syms = pd.Index(all_symbols, dtype=object)

    def among(keys) -> np.ndarray:
        return syms.isin(list(keys)) if keys else np.zeros(n, bool)
    open_ = ~among(fate)
    latest = np.full(n, np.nan)
    if out.latest:
        at = pd.Index(list(out.latest), dtype=object).get_indexer(syms)
        have = at >= 0
        latest[have] = np.fromiter(out.latest.values(), np.float64, len(out.latest))[at[have]]
    price = open_ & filters.price_fails(latest)
    is_bad = open_ & ~price & among(errors)
    row = computed.index.get_indexer(all_symbols) if len(computed) else np.full(n, -1)
    lost = open_ & ~price & ~is_bad & (row < 0)
    syms = syms.to_numpy()
    fate.update((s, filters.PRICE_RULE) for s in syms[price])
    fate.update((s, "error") for s in syms[is_bad])
    for s in syms[lost]:
        errors[s] = "no bars"  # nothing came back and nothing said why: never silent
        fate[s] = "error"
    passing = np.flatnonzero(open_ & ~price & ~is_bad & ~lost)
    kept = row[passing]
    if passing.size:
        hist = filters.history_failures(computed["n_bars"].to_numpy()[kept],
                                        computed["dollar_vol_20"].to_numpy()[kept],
                                        computed["cv_20"].to_numpy()[kept])
        fails = hist != ""
        fate.update(zip(syms[passing[fails]], hist[fails]))
        kept = kept[~fails]
    counts = filters.empty_counts()
    for r in fate.values():
        if r != "error":
            counts[r] += 1
    return kept, counts, errors


def finish(uni: pd.DataFrame, all_symbols: list[str], fate: dict[str, str], out: BlockOutcome,
           clock) -> tuple[pd.DataFrame, dict[str, int], pd.DataFrame]:
    """Filters and ranking over what an engine computed: (table, rejections, errors table).
    Every engine ends here (the pipeline's phases, the long-lived ``scan.live.LiveScan``)."""
    with clock("filtering"):
        computed = out.computed()
        kept, counts, errors = _classify(all_symbols, fate, out, computed)

    with clock("ranking"):
        frame = computed.iloc[kept].reset_index() if len(kept) else computed.iloc[:0].reset_index()
        at = pd.Index(uni["symbol"]).get_indexer(frame["symbol"]) if len(kept) else np.zeros(0, np.int64)
        ids = [c for c in ID_COLUMNS[1:] if c != "n_bars"]
        # taken column by column as they are (no round trip of the text columns through objects)
        frame = pd.concat([frame, uni[ids].take(at).reset_index(drop=True)], axis=1)
        table = build_table(frame)

    err_syms = [s for s in all_symbols if fate.get(s) == "error"]
    err = pd.DataFrame({"symbol": err_syms, "reason": [errors[s] for s in err_syms]})
    return table, counts, err


def scan(source: str | Path | Source | None = None, *, phases: str | Iterable[str] | None = "baseline",
         backend: str | None = None, strict: bool = False, progress: bool = False,
         symbols: Iterable[str] | None = None, block_size: int | str | None = AUTO,
         ray_address: str | None = None, cache=None) -> ScanResult:
    """Scan a universe and return the ranked table, rejections, errors and timings.

    ``source``: a store directory, an ``http://`` API address, or a Source
    (default: the default store).  ``phases``: 'baseline', 'all', or names
    from ``phases.LADDER``.  ``backend``: indicator backend for vectorised
    phases (falls back along cupy -> numba -> numpy -> baseline unless
    ``strict``).  ``symbols``: scan only these symbols of the universe.
    ``block_size``: vectorised phases compute this many symbols at a time
    (``None``: all at once; "auto": 512 in-process, on Ray about 2,048 split
    evenly over the cluster's CPUs); peak memory grows with it, not with the
    universe.
    ``ray_address``: with the ray phase, join this cluster (default
    ``$RAY_ADDRESS``, else start a local Ray for the scan).  ``strict`` also
    makes an unavailable Ray an error instead of a fallback to the in-process
    engine.  ``info['engine']`` says which engine ran; the time to start (and warm)
    and to stop Ray is in ``timings['ray_start']`` and ``timings['ray_shutdown']``,
    not in ``timings['total']``.
    ``cache``: for the ``cache`` phase, a ``technic_core.cache.Cache`` or a
    Redis URL (default: ``$REDIS_URL``, else an embedded redis-server).
    ``progress``: True shows progress on stderr (a bar on a terminal, a line
    every few seconds elsewhere: ``technic_core.progress``); a callable wraps
    the iterable of blocks, or of symbols in the per-symbol phases (a hook
    between items: ``technic bench`` times each symbol with it).
    """
    chosen = parse_phases(phases)
    src = open_source(source)
    try:
        return _scan(src, chosen, backend, strict, progress, symbols, block_size, ray_address, cache)
    finally:
        if src is not source:  # a source this call opened (e.g. an HTTP session) is closed here
            src.close()


def _scan(src: Source, chosen: tuple[str, ...], backend, strict, progress, symbols,
          block_size, ray_address, cache) -> ScanResult:
    # a callable `progress` wraps the iterable of blocks, or of symbols in the per-symbol loop
    block_progress = progress if callable(progress) else (progress and block_size is not None)
    clock = _Clock()
    t_start = time.perf_counter()
    requests_before = src.requests
    info: dict = {"source": src.describe()}
    fallback_before = len(getattr(src, "fallback_sessions", []))
    version = getattr(src, "store_version", None)
    if version is not None:
        info["store_version"] = version     # every read of this scan came from this version

    with clock("universe"):
        uni = src.universe()
        if symbols is not None:
            uni = uni[uni["symbol"].isin(set(symbols))].reset_index(drop=True)
        if src.frequency != "daily":
            raise ValueError(f"{src.describe()} holds {src.frequency} bars; scans need daily bars")
        ufail = filters.universe_failures(uni)
    all_symbols = uni["symbol"].tolist()
    fate: dict[str, str] = {s: r for s, r in zip(all_symbols, ufail) if r}

    to_fetch = all_symbols
    snap = None
    if "prescreen" in chosen:
        with clock("prescreen"):
            to_fetch = [s for s in all_symbols if s not in fate]
            snap = src.snapshot().drop_duplicates("symbol", keep="last")
            at = pd.Index(snap["symbol"].astype(object)).get_indexer(to_fetch) if len(snap) else \
                np.full(len(to_fetch), -1)
            close = np.where(at >= 0, snap["close"].to_numpy(np.float64)[np.maximum(at, 0)] if len(snap)
                             else np.nan, np.nan)
            fails = filters.price_fails(close)
            fate.update((s, filters.PRICE_RULE) for s in np.asarray(to_fetch, dtype=object)[fails])
            to_fetch = [s for s, f in zip(to_fetch, fails.tolist()) if not f]
        info["history_fetches_saved"] = len(all_symbols) - len(to_fetch)

    if "gpu" in chosen and backend is None:
        backend = "cupy"  # the fallback chain reports it if no device can run it
    if "cache" in chosen:
        # the cache computes with its incremental state kernel, whatever the backend
        from .phases.cache_phase import run_cached
        out = run_cached(src, to_fetch, cache, block_size, _progress(block_progress, "blocks", "block"),
                         snapshot=snap)
        info["engine"] = "in-process (cache)"
        info["blocks"] = out.blocks
        info["cache"] = out.cache_info
    elif "ray" in chosen:
        from .phases.ray_phase import run_on_ray
        out = run_on_ray(src, to_fetch, backend, strict, block_size, ray_address, info,
                         _progress(block_progress, "blocks", "block"))
        info["blocks"] = out.blocks
    elif "vectorized" in chosen:
        out = run_blocks(src, to_fetch, backend, strict, block_size,
                         _progress(block_progress, "blocks", "block"))
        info["engine"] = "in-process"
        info["block_size"] = resolve_block_size(block_size)
        info["blocks"] = out.blocks
    else:
        info["engine"] = "in-process"
        out = BlockOutcome()
        info["_batch_read_s"] = _per_symbol(src, to_fetch, "prefetch" in chosen,
                                            _progress(progress, "scan", "sym"), out)
    for stage, seconds in out.timings.items():
        clock.add(stage, seconds)
    if out.notes:
        info["backend_fallback"] = "; ".join(out.notes)

    table, counts, err = finish(uni, all_symbols, fate, out, clock)
    fallback = getattr(src, "fallback_sessions", [])[fallback_before:]
    if fallback:
        info["fallback_sessions"] = sorted(set(fallback))    # fetched symbol by symbol
    outside = info.pop("_outside_s", {})
    clock.update(outside)
    clock["total"] = time.perf_counter() - t_start - sum(outside.values())
    info["requests"] = src.requests - requests_before
    return ScanResult(table=table, rejections=counts, errors=err, timings=dict(clock),
                      n_symbols=len(all_symbols), phases=chosen, backend=out.backend, info=info)
