"""The scan: one pipeline whose phases are switches.

    universe -> [prescreen] -> fetch -> indicators -> scoring -> filtering -> ranking

Whatever the phases, every symbol is classified by the one order in
``filters`` and the table is built by ``table.build_table``; phases only
change how bars arrive and where the arithmetic runs.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ..sources import Source, open_source
from . import filters
from .phases import PhaseUnavailable, parse_phases
from .phases import per_symbol as _per_symbol
from .phases.outcome import BlockOutcome, Engine, EngineOptions
from .phases.vectorized import AUTO
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


# The engines, in the order the phases pick them: the first phase chosen names its engine's
# module (imported when chosen: Redis and Ray stay unimported otherwise); none of them
# chosen is the per-symbol loop of phases 0-2.  Every engine is ``run(source, symbols,
# options) -> BlockOutcome`` (``phases/outcome.py``).
ENGINES: tuple[tuple[str, str], ...] = (
    ("cache", "cache_phase"),  # 3B: computes with its own state kernel, whatever the backend
    ("ray", "ray_phase"),  # 3C
    ("vectorized", "vectorized"),  # 3A (and the gpu phase's cupy backend)
)


def engine_for(chosen: tuple[str, ...]) -> Engine:
    for phase, module in ENGINES:
        if phase in chosen:
            return importlib.import_module(f"{__package__}.phases.{module}").run
    return _per_symbol.run


def _classify(
    all_symbols: list[str], fate: dict[str, str], out: BlockOutcome, computed: pd.DataFrame
) -> tuple[np.ndarray, dict[str, int], dict[str, str]]:
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
        hist = filters.history_failures(
            computed["n_bars"].to_numpy()[kept],
            computed["dollar_vol_20"].to_numpy()[kept],
            computed["cv_20"].to_numpy()[kept],
        )
        fails = hist != ""
        fate.update(zip(syms[passing[fails]], hist[fails]))
        kept = kept[~fails]
    counts = filters.empty_counts()
    for r in fate.values():
        if r != "error":
            counts[r] += 1
    return kept, counts, errors


def finish(
    uni: pd.DataFrame, all_symbols: list[str], fate: dict[str, str], out: BlockOutcome, clock
) -> tuple[pd.DataFrame, dict[str, int], pd.DataFrame]:
    """Filters and ranking over what an engine computed: (table, rejections, errors table).
    Every engine ends here (the pipeline's phases, the long-lived ``scan.live.LiveScan``)."""
    with clock("filtering"):
        computed = out.computed()
        kept, counts, errors = _classify(all_symbols, fate, out, computed)

    with clock("ranking"):
        frame = computed.iloc[kept].reset_index() if len(kept) else computed.iloc[:0].reset_index()
        at = (
            pd.Index(uni["symbol"]).get_indexer(frame["symbol"])
            if len(kept)
            else np.zeros(0, np.int64)
        )
        ids = [c for c in ID_COLUMNS[1:] if c != "n_bars"]
        # taken column by column as they are (no round trip of the text columns through objects)
        frame = pd.concat([frame, uni[ids].take(at).reset_index(drop=True)], axis=1)
        table = build_table(frame)

    err_syms = [s for s in all_symbols if fate.get(s) == "error"]
    err = pd.DataFrame({"symbol": err_syms, "reason": [errors[s] for s in err_syms]})
    return table, counts, err


def scan(
    source: str | Path | Source | pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
    universe: pd.DataFrame | None = None,
    *,
    phases: str | Iterable[str] | None = "baseline",
    backend: str | None = None,
    strict: bool = False,
    progress: bool = False,
    symbols: Iterable[str] | None = None,
    block_size: int | str | None = AUTO,
    ray_address: str | None = None,
    cache=None,
) -> ScanResult:
    """Scan a universe and return the ranked table, rejections, errors and timings.

    Every phase gives the same table (the scan rules: ``docs/scan.md``); phases
    change only how fast it comes.

    Parameters
    ----------
    source : str, Path, Source, pandas.DataFrame, dict of frames or None, default None
        A store directory, an ``http://`` API address, or a ``Source``; or bars in
        memory: a long frame (``symbol``, ``date``, OHLCV) or a dict of per-symbol
        frames (pandas or polars), checked as ``technic data import`` checks files
        (``sources.memory``).  None: the default store (``$TECHNIC_DATA``, else
        ``./data/universe``).
    universe : pandas.DataFrame or None, default None
        Only with bars in memory: the universe's columns (symbol, market_cap,
        is_etf, is_leveraged, ...); None gives every symbol the importer's defaults.
    phases : str or iterable of str, default "baseline"
        ``"baseline"``, ``"all"``, or names from ``phases.LADDER`` (``prefetch``,
        ``prescreen``, ``vectorized``, ``cache``, ``ray``, ``gpu``), comma-separated
        or as a list.
    backend : str or None, default None
        Indicator backend of the vectorised phases (``numba``, ``numpy``, ``cupy``,
        ``talib``, ``baseline``); None picks the fastest available, falling back
        along cupy -> numba -> numpy -> baseline.
    strict : bool, default False
        Make an unavailable backend or Ray an error instead of a fallback.
    progress : bool or callable, default False
        True shows progress on stderr (a bar on a terminal, a line every few
        seconds elsewhere); a callable wraps the iterable of blocks (or of symbols
        in the per-symbol phases).
    symbols : iterable of str or None, default None
        Scan only these symbols of the universe.
    block_size : int, "auto" or None, default "auto"
        Symbols computed at a time by the vectorised phases: ``"auto"`` is 512
        in-process and about 2,048 split over the CPUs on Ray; None is all at once.
        Peak memory grows with it, not with the universe.
    ray_address : str or None, default None
        With the ``ray`` phase, join this cluster (default ``$RAY_ADDRESS``, else a
        local Ray started for the scan).
    cache : Cache, str or None, default None
        With the ``cache`` phase, a ``technic_core.cache.Cache`` or a Redis URL
        (default ``$REDIS_URL``, else an embedded redis-server).

    Returns
    -------
    ScanResult
        ``table`` (ranked: symbol, scores, indicator values at the last bar),
        ``rejections`` (symbol, reason), ``errors`` (symbol, error: bad data named
        per symbol; one bad symbol never sinks the scan), ``timings`` (seconds per
        stage; ``ray_start`` and ``ray_shutdown`` are outside ``total``), ``info``
        (which engine and backend ran, requests, cache counts).  ``to_frame()``,
        ``to_parquet(path)``.

    Raises
    ------
    PhaseUnavailable
        A phase that cannot run on this source (a store-only phase on bars in
        memory, for example), named with the reason.
    TypeError
        ``universe=`` given with a store or an API (they have their own).
    technic_core.universe.schema.StoreError
        A store that is missing, damaged or not a store, with its path.

    Examples
    --------
    >>> import technic_core
    >>> res = technic_core.scan("data/universe", phases="prefetch,prescreen,vectorized")
    >>> res.table.head()                                # doctest: +SKIP
    >>> res = technic_core.scan(bars)                   # a long DataFrame in memory
    """
    chosen = parse_phases(phases)
    from ..sources.memory import MemorySource, is_frames

    if is_frames(source):
        src = MemorySource(source, universe)
    elif universe is not None:
        raise TypeError(
            "universe= goes with bars in memory (a DataFrame or a dict of frames); "
            "a store or an API has its own universe"
        )
    else:
        src = open_source(source)
    refused = {p: why for p, why in getattr(src, "refused_phases", {}).items() if p in chosen}
    if refused:
        p, why = next(iter(refused.items()))
        raise PhaseUnavailable(f"phase {p} cannot scan {src.describe()}: {why}")
    try:
        return _scan(
            src, chosen, backend, strict, progress, symbols, block_size, ray_address, cache
        )
    finally:
        if src is not source:  # a source this call opened (e.g. an HTTP session) is closed here
            src.close()


def _scan(
    src: Source,
    chosen: tuple[str, ...],
    backend,
    strict,
    progress,
    symbols,
    block_size,
    ray_address,
    cache,
) -> ScanResult:
    block_progress = progress if callable(progress) else (progress and block_size is not None)
    clock = _Clock()
    t_start = time.perf_counter()
    requests_before = src.requests
    info: dict = {"source": src.describe()}
    fallback_before = len(getattr(src, "fallback_sessions", []))
    version = getattr(src, "store_version", None)
    if version is not None:
        info["store_version"] = version  # every read of this scan came from this version

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
            at = (
                pd.Index(snap["symbol"].astype(object)).get_indexer(to_fetch)
                if len(snap)
                else np.full(len(to_fetch), -1)
            )
            close = np.where(
                at >= 0,
                snap["close"].to_numpy(np.float64)[np.maximum(at, 0)] if len(snap) else np.nan,
                np.nan,
            )
            fails = filters.price_fails(close)
            fate.update((s, filters.PRICE_RULE) for s in np.asarray(to_fetch, dtype=object)[fails])
            to_fetch = [s for s, f in zip(to_fetch, fails.tolist()) if not f]
        info["history_fetches_saved"] = len(all_symbols) - len(to_fetch)

    if "gpu" in chosen and backend is None:
        backend = "cupy"  # the fallback chain reports it if no device can run it
    engine = engine_for(chosen)
    per_symbol = engine is _per_symbol.run
    options = EngineOptions(
        backend=backend,
        strict=strict,
        block_size=block_size,
        ray_address=ray_address,
        cache=cache,
        prefetch="prefetch" in chosen,
        snapshot=snap,
        # a callable `progress` wraps the iterable of blocks, or of symbols in the per-symbol loop
        progress=(
            _progress(progress, "scan", "sym")
            if per_symbol
            else _progress(block_progress, "blocks", "block")
        ),
    )
    out = engine(src, to_fetch, options)
    info.update(out.engine_info)
    if per_symbol:
        info["_batch_read_s"] = out.batch_read_s  # technic bench: a fixed cost in its projection
    for stage, seconds in out.timings.items():
        clock.add(stage, seconds)
    if out.notes:
        info["backend_fallback"] = "; ".join(out.notes)

    table, counts, err = finish(uni, all_symbols, fate, out, clock)
    fallback = getattr(src, "fallback_sessions", [])[fallback_before:]
    if fallback:
        info["fallback_sessions"] = sorted(set(fallback))  # fetched symbol by symbol
    clock.update(out.outside_s)  # Ray's start and stop: reported, not in the total
    clock["total"] = time.perf_counter() - t_start - sum(out.outside_s.values())
    info["requests"] = src.requests - requests_before
    return ScanResult(
        table=table,
        rejections=counts,
        errors=err,
        timings=dict(clock),
        n_symbols=len(all_symbols),
        phases=chosen,
        backend=out.backend,
        info=info,
    )
