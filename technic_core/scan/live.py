"""A long-lived scan of one local store: a new session costs what changed.

``LiveScan`` keeps every symbol's indicator state (``indicators.state``) in
memory, or in Redis (``cache.live``), tied to the store version and the
content version of each symbol's bars.  When the store's version changes
(``refresh``; ``watch`` polls for it, ``technic scan --watch``), each symbol
is, by its content version in the new version's index:

* unchanged: its state is its answer;
* one bar longer, the rest the same (the new content version less its last
  bar is the old one): its state advances by that bar, read from the panel's
  last row (a session is a row of the panel);
* anything else (a corrected bar, a new symbol, a bad bar): its state is built
  from its column of the panel.

Symbols the store dropped are dropped.  Then features, scores, filters and the
ranking run as in every scan (``pipeline.finish``), on the state's values and
the bars its rings keep.  The table equals a cold scan of the same version
(``tests/scan/test_live.py``): the state kernel equals TA-Lib as the
vectorised backends do, and a state advanced bar by bar is bit for bit the
state built from the whole history.

With ``state="redis"`` the state's home is Redis: each refresh reads it (one
MGET), reconciles it with the store as above, and writes back only the slot
rows that changed and the new bar (one transaction).  A state in Redis that
is missing, corrupt or of other symbols is rebuilt from the store.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..indicators.kernels import state_step as _k
from ..indicators.state import IndicatorState, StateParams, build_state, layout_for
from ..universe.fingerprint import retract
from ..universe.schema import BAR_FIELDS
from ..universe.store import Store, default_store_dir
from . import filters
from .features import block_features
from .phases.cache_phase import SCAN_STATE
from .phases.vectorized import BlockOutcome
from .pipeline import _Clock, finish
from .result import ScanResult
from .scores import compute_scores

ENGINE = "numba-state (live)"


class LiveScan:
    """The last table of a store, kept current as the store changes.

    ``source``: a store directory (default ``$TECHNIC_DATA`` or ./data/universe).
    ``state``: "memory" (this process holds the state) or "redis" (``cache``: a
    ``technic_core.cache.Cache`` or Redis URL; default ``$REDIS_URL`` or the embedded
    server).  ``refresh()`` returns the table of the store's current version.
    """

    def __init__(
        self,
        source: Path | str | None = None,
        *,
        state: str = "memory",
        cache=None,
        params: StateParams = SCAN_STATE,
    ):
        if state not in ("memory", "redis"):
            raise ValueError(f"state must be 'memory' or 'redis', not {state!r}")
        self.root = Path(source) if source is not None else default_store_dir()
        self.params = params
        self.mode = state
        self.result: ScanResult | None = None
        self.version: int | None = None
        self.symbols = np.array([], dtype=object)  # the state's columns
        self.content = np.array([], dtype=np.uint64)
        self.n_bars = np.array([], dtype=np.int64)
        self.state: IndicatorState | None = None
        self.redis = None
        if state == "redis":
            from ..cache.live import LiveStateStore
            from ..cache.store import Cache

            cache = cache if isinstance(cache, Cache) else Cache(url=cache)
            self.redis = LiveStateStore(
                cache,
                f"local store {self.root.resolve()}",
                params.ident(),
                layout_for(params).width,
            )
        self.last_counts: dict[str, int] = {}
        self.redis_failed: str | None = None  # why Redis was not used in the last refresh
        # each symbol's calendar position of its first bar: how far its rings are turned in Redis
        self._shift = np.array([], dtype=np.int64)
        self._stored = None  # (symbols, slots) as Redis holds them, when known
        self._bar = None
        self._redis_warned = False
        self._universe = None  # (file digest, frame, symbols, universe-rule failures)

    # -- the loop ---------------------------------------------------------------
    def refresh(self, version: int | None = None) -> ScanResult:
        """The table of the store's current version (or of retained ``version``), recomputed
        only where it changed."""
        t_start = time.perf_counter()
        store = Store(self.root, version=version)
        if self.result is not None and store.version == self.version and self.redis is None:
            return self.result
        clock = _Clock()
        with clock("universe"):
            if store.frequency != "daily":
                raise ValueError(
                    f"{store.describe()} holds {store.frequency} bars; scans need daily bars"
                )
            uni, all_symbols, ufail = self._universe_of(store)
        out = BlockOutcome()
        out.backend = ENGINE
        self.redis_failed = None
        if self.redis is not None:
            with clock("cache_read"):
                self._redis_call(self._load_from_redis)
        counts = self._reconcile(store, all_symbols, out, clock)
        if self.redis is not None:
            with clock("cache_write"):
                self._redis_call(lambda: self._save_to_redis(store.version, counts))
        with clock("scoring"):
            self._emit(out)
        fate = {s: r for s, r in zip(all_symbols, ufail) if r}
        table, rejections, errors = finish(uni, all_symbols, fate, out, clock)
        clock["total"] = time.perf_counter() - t_start
        info = {
            "source": f"local store {self.root}",
            "store_version": store.version,
            "engine": ENGINE,
            "state": self.mode,
            "live": dict(counts),
        }
        if self.redis is not None:
            info["redis_lost_races"] = self.redis.lost_races
            if self.redis_failed:
                info["redis_failed"] = self.redis_failed
        self.version = store.version
        self.last_counts = counts
        self.result = ScanResult(
            table=table,
            rejections=rejections,
            errors=errors,
            timings=dict(clock),
            n_symbols=len(all_symbols),
            phases=("live",),
            backend=ENGINE,
            info=info,
        )
        return self.result

    def watch(
        self, interval_s: float = 1.0, on_result=None, max_results: int | None = None, stop=None
    ) -> ScanResult | None:
        """Refresh now and whenever the store's version changes, polling its manifest every
        ``interval_s``; ``on_result(result)`` after each new table.  Stops after ``max_results``
        tables, when ``stop()`` is true, or on KeyboardInterrupt."""
        from ..universe.writer import read_manifest

        shown = 0
        seen = None
        try:
            while max_results is None or shown < max_results:
                man = read_manifest(self.root)
                version = None if man is None else int(man["version"])
                if version is not None and version != seen:
                    res = self.refresh()
                    seen = self.version
                    shown += 1
                    if on_result is not None:
                        on_result(res)
                    continue
                if stop is not None and stop():
                    break
                time.sleep(interval_s)
        except KeyboardInterrupt:
            pass
        return self.result

    def _universe_of(self, store: Store) -> tuple[pd.DataFrame, list[str], np.ndarray]:
        """The version's universe, its symbols and universe-rule failures; parsed again only
        when its file's bytes differ from the last refresh's (a new session rarely changes
        the universe, and each version has its own copy of the file)."""
        try:
            digest = hashlib.blake2b(store.file("universe").read_bytes(), digest_size=16).digest()
        except OSError:
            digest = None  # unreadable: store.universe() says why
        if digest is None or self._universe is None or self._universe[0] != digest:
            uni = store.universe()
            self._universe = (digest, uni, uni["symbol"].tolist(), filters.universe_failures(uni))
        return self._universe[1:]

    # -- the state ----------------------------------------------------------------
    def _reconcile(
        self, store: Store, all_symbols: list[str], out: BlockOutcome, clock
    ) -> dict[str, int]:
        """Bring the state to ``store``'s version; fills ``out``'s errors and bad symbols' closes."""
        counts = {"unchanged": 0, "advanced": 0, "built": 0, "dropped": 0}
        with clock("fetch"):
            panel = store.panel()
            idx = store.index()
        if panel is None or (idx["row_group"] < 0).any():
            # no usable panel (the store said why), or symbols only their own files hold:
            # everything from the blocks the store gives
            with clock("fetch"):
                block = store.block(all_symbols)
            with clock("indicators"):
                self.state = (
                    build_state(block.fields, self.params)
                    if len(block.symbols)
                    else IndicatorState.empty(0, self.params)
                )
            self.symbols = np.asarray(block.symbols, dtype=object)
            pos = idx.index.get_indexer(self.symbols)
            self.content = (
                idx["content"].to_numpy(np.uint64)[pos] if len(pos) else np.zeros(0, np.uint64)
            )
            self.n_bars = block.lengths.astype(np.int64)
            self._shift = np.zeros(len(self.symbols), np.int64)
            self._bar = None
            out.errors.update(block.errors)
            out.latest.update(block.error_latest_close)
            counts["built"] = len(self.symbols)
            return counts

        with clock("fetch"):
            cols = panel.columns_of(all_symbols)
            for s, c in zip(all_symbols, cols.tolist()):
                if c < 0:
                    out.errors[s] = "no bars (the store holds none for it)"
                elif not panel.good[c]:
                    out.errors[s] = panel.errors[s]
                    bar = panel.error_bars.get(s)
                    if bar is not None:
                        out.latest[s] = float(bar[1][3])
            keep = np.flatnonzero((cols >= 0) & panel.good[np.maximum(cols, 0)])
            new_cols = cols[keep]
            new_syms = np.asarray(all_symbols, dtype=object)[keep]
            content = panel.content[new_cols]
            n_new = panel.n_bars[new_cols]
            old = (
                pd.Index(self.symbols).get_indexer(new_syms)
                if len(self.symbols)
                else np.full(len(new_syms), -1)
            )
            has = old >= 0
            o = np.where(has, old, 0)
            same = (
                has & (self.content[o] == content) & (self.n_bars[o] == n_new)
                if len(self.symbols)
                else has
            )
            # one bar more: the new content less its last bar is the old content
            step = has & ~same & (n_new == (self.n_bars[o] + 1 if len(self.symbols) else 0))
            k = np.flatnonzero(step)
            bars = panel._last_row()[:, new_cols[k]] if k.size else np.zeros((5, 0))
            if k.size:
                head = retract(content[k], n_new[k] - 1, panel.last[new_cols[k]], bars)
                ok = head == self.content[o[k]]
                step[k[~ok]] = False
                k = k[ok]
                bars = bars[:, ok]
            build = np.flatnonzero(~same & ~step)
        counts["unchanged"] = int(same.sum())
        counts["advanced"] = int(k.size)
        counts["built"] = int(build.size)
        counts["dropped"] = int(len(self.symbols) - has.sum())

        with clock("indicators"):
            if (
                self.state is not None
                and len(new_syms) == len(self.symbols)
                and np.array_equal(new_syms, self.symbols)
            ):
                slots = self.state.slots  # same columns: in place
            else:
                slots = layout_for(self.params).empty_slots(len(new_syms))
                if self.state is not None and has.any():
                    src = np.flatnonzero(has & ~np.isin(np.arange(len(new_syms)), build))
                    slots[:, src] = self.state.slots[:, old[src]]
            state = IndicatorState.from_slots(self.params, slots)
            if k.size:
                flat = {f: np.ascontiguousarray(bars[q]) for q, f in enumerate(BAR_FIELDS)}
                state.advance_runs(
                    k, np.arange(k.size), np.ones(k.size, np.int64), flat, checked=True
                )
            if build.size:
                block = store.block(list(new_syms[build]))
                built = build_state(block.fields, self.params)
                state.slots[:, build] = built.slots
        self.state = state
        self.symbols = new_syms
        self.content = content.astype(np.uint64)
        self.n_bars = n_new.astype(np.int64)
        self._shift = (
            np.searchsorted(panel.calendar, panel.last[new_cols]) - self.n_bars + 1
        ).astype(np.int64)
        self._bar = None
        if k.size:
            self._bar = np.full((5, len(new_syms)), np.nan)
            self._bar[:, k] = bars
        return counts

    def _emit(self, out: BlockOutcome) -> None:
        """Features and scores of every state column: the rows a block engine would give."""
        st = self.state
        tails = {f: st.tail(f, k) for f, k in self.params.keep}
        feats = block_features(tails, st.values())
        values = {**feats, **compute_scores(feats)}
        frame = pd.DataFrame(values, index=pd.Index(self.symbols, name="symbol", dtype=object))
        frame["n_bars"] = self.n_bars
        out.frames.append(frame)
        out.latest.update(zip(self.symbols, np.asarray(values["close"], dtype=np.float64)))
        out.blocks = 1

    # -- Redis ----------------------------------------------------------------------
    def _redis_call(self, fn) -> None:
        """Redis failing costs speed, never the answer: the state stays in this process."""
        from ..cache.store import CacheDown
        from .phases.cache_phase import CacheUnavailable

        try:
            fn()
        except CacheDown as exc:
            if not self._redis_warned:
                self._redis_warned = True
                warnings.warn(
                    f"Redis unavailable for the live state ({exc}); keeping it in this process, "
                    "the answer is the same",
                    CacheUnavailable,
                    stacklevel=3,
                )
            self.redis_failed = str(exc)
            self.redis.cache.reset()

    def _load_from_redis(self) -> None:
        if (
            self.state is not None
            and self._stored is not None
            and self.redis.unchanged_since_written()
        ):
            return  # Redis holds exactly the state this process holds
        got = self.redis.read()
        self._stored = None
        if got is None:
            self.state, self.symbols = None, np.array([], dtype=object)
            self.content, self.n_bars = np.array([], np.uint64), np.array([], np.int64)
            return
        self._stored = (got.symbols, got.slots)
        slots = got.slots.copy()
        _k.rotate_rings(slots, layout_for(self.params).ring_slots, got.shift, -1)
        self.state = IndicatorState.from_slots(self.params, slots)
        self.symbols, self.content, self.n_bars = got.symbols, got.content, got.n_bars

    def _save_to_redis(self, version: int, counts: dict[str, int]) -> None:
        from ..cache.live import LiveState, changed_rows

        stored = self.state.slots.copy()
        _k.rotate_rings(stored, layout_for(self.params).ring_slots, self._shift, 1)
        rows = None
        if self._stored is not None and np.array_equal(self._stored[0], self.symbols):
            rows = changed_rows(self._stored[1], stored)
            if rows.size == 0:
                return
        st = LiveState(version, self.symbols, self.content, self.n_bars, self._shift, stored)
        if self.redis.write(st, rows, self._bar):
            self._stored = (self.symbols, stored)
        else:
            self._stored = None
