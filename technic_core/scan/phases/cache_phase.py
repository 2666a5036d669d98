"""Phase 3B: bars and indicator state cached in Redis; a rescan after one new bar computes that bar.

For each symbol the cache holds its bars and its indicator state at the last
bar (``indicators.state``), tied together by the bars' fingerprint, which is
the store's content version of those bars (``universe.fingerprint``).

With a versioned local store (``LocalSource``) every decision is exact: the
store's index gives each symbol's content version, bar count and last bar,
and per symbol:

* hit: the cached state and last bar are of that content version;
* incremental: they are of the version without the store's last bar (the
  fingerprint retracted by one bar equals theirs): the state advances by it;
* rebuilt: the cached bars are of the version (or of the one before it) but
  the state is missing, corrupt, foreign or of other bars;
* fetched: anything else: the bars changed (a corrected past bar, a re-import),
  were never cached, or are corrupt.

So any change in the store is a recompute or an advance, never a stale hit,
and no snapshot or previous session is read to decide it.  The decision itself
(``cache_plan``) is pure: Redis is read and written here, around it.

A source without content versions (the HTTP API) is checked by its bars:

1. one snapshot of its latest session (one request), and every symbol's
   cached last bar and state from Redis (one round trip per block);
2. per symbol, in this order of preference:
   * hit: the cached last bar is the source's, the state matches the bars:
     the state's values are the answer, nothing is computed;
   * incremental: the source has exactly one new session after the cached
     last bar (no weekday between), the cached previous bar still matches the
     source (a split would change it), and the state matches the bars: the
     state advances by that one bar for all such symbols at once;
   * rebuilt: bars are cached but the state is missing, corrupt, foreign (other
     parameters or version) or does not match them: computed from cached bars;
   * fetched: bars not cached, expired (TTL), corrupt, or the source's last or
     previous bar differs from them: fetched from the source and computed;
3. writes back what changed (one transaction per block): new bars as small
   segments, new states.

The indicators always come from the state kernel, so every path gives the
same numbers bit for bit, and equal TA-Lib (1e-9) like the vectorised phase.
Redis failing at any point (unreachable at start, killed mid-scan) costs
speed, never the answer: the symbols not yet computed are fetched and
computed without it, a ``CacheUnavailable`` warning is raised once, and
``info['cache']`` reports what happened.

What that cannot see: an API correcting a bar older than the previous
session without touching the latest two.  Cached bars are trusted for the
cache's TTL; such a correction is picked up when they expire.  (A local
store has no such blind spot: see above.)
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...cache import codec
from ...cache.store import COMPACT_AT, WRONGTYPE, BarStateStore, Cache, CacheDown
from ...indicators.scan_set import state_args
from ...indicators.state import IndicatorState, StateParams, build_state_runs, layout_for
from ...universe.fingerprint import extend, fingerprint_runs, ms
from ...universe.schema import BAR_FIELDS
from ...universe.store import BarBlock
from ...universe.validate import group_bounds
from ..features import block_features
from ..scores import compute_scores
from .cache_plan import (
    DAY_MS,
    CachedStates,
    CachedTails,
    Plan,
    Snapshot,
    plan_by_bars,
    plan_by_versions,
)
from .outcome import BlockOutcome, EngineOptions
from .vectorized import split

# The scan's indicators (indicators/scan_set.py: the set, EMA and OBV), and the raw
# bars its features read at the last bar (features.block_features).
SCAN_STATE = StateParams(**state_args(), keep=(("close", 64), ("open", 10), ("volume", 20)))
ENGINE = "numba-state"
MAX_PREVIOUS_DATES = 3  # distinct previous sessions verified per scan; others are fetched


class CacheUnavailable(UserWarning):
    """Redis could not be used for (part of) a scan; the scan's answer is unaffected."""


@dataclass
class CacheStats:
    server: str = ""
    hits: int = 0  # state served as cached
    incremental: int = 0  # state advanced by the new bar
    rebuilt: int = 0  # state recomputed from cached bars
    fetched: int = 0  # bars fetched from the source (and state computed)
    corrupt: int = 0  # entries that failed their checksum or were foreign
    stale: int = 0  # states that did not match their bars
    changed: int = 0  # cached bars the source has since changed
    bad_data: int = 0  # symbols whose bars are bad (never cached)
    failed: str | None = None  # why Redis was not (or no longer) used
    reasons: dict = field(default_factory=dict)

    @property
    def misses(self) -> int:
        return self.rebuilt + self.fetched

    def as_info(self) -> dict:
        out = {
            "server": self.server,
            "hits": self.hits,
            "incremental": self.incremental,
            "misses": self.misses,
            "rebuilt": self.rebuilt,
            "fetched": self.fetched,
            "corrupt": self.corrupt,
            "stale": self.stale,
            "changed": self.changed,
            "bad_data": self.bad_data,
        }
        if self.reasons:
            out["corrupt_reasons"] = dict(self.reasons)
        if self.failed:
            out["failed"] = self.failed
        return out


class _Runner:
    def __init__(
        self,
        src,
        cache: Cache | None,
        params: StateParams,
        out: BlockOutcome,
        stats: CacheStats,
        snapshot: pd.DataFrame | None,
    ):
        self.src = src
        self.params = params
        self.layout = layout_for(params)
        self.out = out
        self.stats = stats
        self.store: BarStateStore | None = None
        self.cache = cache
        self.warned = False
        self._snapshot_frame = snapshot
        self.snap: Snapshot | None = None
        self.previous: dict[int, Snapshot | None] = {}
        if cache is not None:
            try:
                cache.client()
                self.store = cache.for_source(src.describe(), params.ident())
                stats.server = cache.describe()
            except CacheDown as exc:
                self.lose(exc)

    # -- Redis failing -------------------------------------------------------
    def lose(self, exc: BaseException) -> None:
        self.store = None
        self.stats.failed = self.stats.failed or str(exc)
        if self.cache is not None:
            self.stats.server = self.cache.describe()
        if not self.warned:
            self.warned = True
            warnings.warn(
                f"Redis cache unavailable ({exc}); scanning without it, the answer is the same",
                CacheUnavailable,
                stacklevel=4,
            )

    # -- the source's sessions -----------------------------------------------
    def latest(self) -> Snapshot:
        if self.snap is None:
            t0 = time.perf_counter()
            frame = (
                self._snapshot_frame if self._snapshot_frame is not None else self.src.snapshot()
            )
            self.snap = Snapshot(frame)
            self.out.add_time("fetch", time.perf_counter() - t0)
        return self.snap

    def previous_session(self, day: int) -> Snapshot | None:
        if day not in self.previous:
            if len(self.previous) >= MAX_PREVIOUS_DATES:
                return None
            t0 = time.perf_counter()
            try:
                frame = self.src.snapshot(np.datetime64(int(day), "D"))
            except Exception:  # noqa: BLE001 - a source that cannot: fetch those symbols instead
                frame = None
            self.previous[day] = Snapshot(frame) if frame is not None else None
            self.out.add_time("fetch", time.perf_counter() - t0)
        return self.previous[day]

    # -- one block -----------------------------------------------------------
    def run(self, chunk: list[str]) -> None:
        if self.store is None or not chunk:
            self.compute_fetched(chunk)
            return
        try:
            t0 = time.perf_counter()
            tails, states = self.store.read_heads(chunk)
            self.out.add_time("cache_read", time.perf_counter() - t0)
        except CacheDown as exc:
            self.lose(exc)
            self.compute_fetched(chunk)
            return
        self.plan_and_compute(chunk, tails, states)

    def decode_tails(self, tails: list) -> CachedTails:
        """Each symbol's cached last bar, from its bar list's tail segment."""
        out = CachedTails.empty(len(tails))
        for i, blob in enumerate(tails):
            if blob is None:
                continue
            if blob is WRONGTYPE:
                self.count_corrupt("bars", "wrongtype")
                continue
            try:
                payload = codec.decode(blob, codec.KIND_BARS, 0)
                n_before, rows, _, fp_after = codec.segment_meta(payload)
                if rows < 1:
                    raise codec.CorruptEntry("corrupt", "empty segment")
                dates, cols = codec.segment_arrays(payload)
            except codec.CorruptEntry as exc:
                self.count_corrupt("bars", exc.reason)
                continue
            out.ok[i] = True
            out.n[i] = n_before + rows
            out.fp[i] = fp_after
            out.last_ms[i] = dates[-1]
            out.bar[i] = cols[:, -1]
            out.head[i] = bytes(blob[: codec.HEADER.size])
        return out

    def decode_states(self, states: list) -> CachedStates:
        ok, bad, n, day, fp, rows = codec.decode_states(states, self.store.tag, self.layout.width)
        for reason in bad.values():
            self.count_corrupt("state", reason)
        return CachedStates.from_decoded(ok, n, day, fp, rows)

    def plan(self, chunk: list[str], tails: CachedTails, states: CachedStates) -> Plan:
        versions = getattr(self.src, "content_versions", None)
        if versions is not None:
            plan = plan_by_versions(tails, states, versions(chunk))
        else:
            verify = self.cache is not None and self.cache.verify_previous
            plan = plan_by_bars(
                chunk, tails, states, self.latest(), self.previous_session if verify else None
            )
        self.stats.changed += plan.changed
        self.stats.stale += plan.stale
        return plan

    def plan_and_compute(self, chunk: list[str], tail_blobs: list, state_blobs: list) -> None:
        st = self.stats
        tails = self.decode_tails(tail_blobs)
        cached = self.decode_states(state_blobs)
        plan = self.plan(chunk, tails, cached)
        hits, advance, rebuild, fetch, new_bar = (
            plan.hits,
            plan.advance,
            plan.rebuild,
            plan.fetch,
            plan.new_bar,
        )

        parts: list[tuple[list[int], IndicatorState, np.ndarray, np.ndarray, np.ndarray]] = []
        writes_bars: dict[str, list[bytes]] = {}
        writes_app: dict[str, tuple[bytes, bytes]] = {}
        writes_state: dict[str, bytes] = {}
        keep_ttl: dict[str, int] = {}

        if hits:
            idx = cached.pos[hits]
            parts.append(
                (
                    hits,
                    IndicatorState(self.params, _take(cached.rows, idx)),
                    cached.n[idx],
                    cached.day[idx],
                    cached.fp[idx],
                )
            )
            st.hits += len(hits)
        if advance:
            t0 = time.perf_counter()
            idx = cached.pos[advance]
            state = IndicatorState(self.params, _take(cached.rows, idx))
            bars = np.array([new_bar[i][1] for i in advance])  # (k, 5)
            stamps = np.array([new_bar[i][0] for i in advance], np.int64)  # ms
            flat = {f: np.ascontiguousarray(bars[:, q]) for q, f in enumerate(BAR_FIELDS)}
            k = len(advance)
            state.advance_runs(np.arange(k), np.arange(k), np.ones(k, np.int64), flat)
            fp = extend(tails.fp[advance], tails.n[advance], stamps, bars.T)
            self.out.add_time("indicators", time.perf_counter() - t0)
            n = tails.n[advance] + 1
            days = stamps // DAY_MS
            parts.append((advance, state, n, days, fp))
            st.incremental += k
            self.queue_appends(chunk, advance, tails, fp, stamps, bars, writes_app)
            self.queue_states(chunk, advance, n, days, fp, state, writes_state)
        if rebuild:
            got = self.rebuild(
                chunk,
                rebuild,
                tails,
                new_bar,
                writes_bars,
                writes_app,
                writes_state,
                keep_ttl,
            )
            if got is not None:
                done, part = got
                parts.append(part)
                fetch.extend(i for i in rebuild if i not in done)
            else:
                fetch.extend(rebuild)
        fetch.sort()
        if fetch:
            part = self.fetch_and_build(chunk, fetch, writes_bars, writes_state)
            if part is not None:
                parts.append(part)
        self.emit(chunk, parts)
        if self.store is not None:
            try:
                t0 = time.perf_counter()
                self.store.write(writes_bars, writes_app, writes_state, keep_ttl)
                self.out.add_time("cache_write", time.perf_counter() - t0)
            except CacheDown as exc:
                self.lose(exc)

    def count_corrupt(self, kind: str, reason: str) -> None:
        self.stats.corrupt += 1
        key = f"{kind} {reason}"
        self.stats.reasons[key] = self.stats.reasons.get(key, 0) + 1

    # -- writes --------------------------------------------------------------
    def queue_states(self, chunk, which, n, days, fp, state: IndicatorState, out: dict) -> None:
        if self.store is None:
            return
        blobs = codec.encode_states(self.store.tag, n, days, fp, state.rows)
        for i, blob in zip(which, blobs):
            out[chunk[i]] = blob

    def queue_appends(self, chunk, which, tails: CachedTails, fp, days, bars, out: dict) -> None:
        """One new bar per symbol as a segment appended after its cached tail (``fp``: the
        fingerprints with the bar)."""
        if self.store is None:
            return
        for q, i in enumerate(which):
            seg = codec.encode_segment(
                int(tails.n[i]), int(tails.fp[i]), int(fp[q]), days[q : q + 1], bars[q][:, None]
            )
            out[chunk[i]] = (tails.head[i], seg)

    # -- rebuilding from cached bars -----------------------------------------
    def rebuild(
        self,
        chunk,
        which,
        tails: CachedTails,
        new_bar,
        writes_bars,
        writes_app,
        writes_state,
        keep_ttl,
    ):
        """State from cached bars (plus the new bar): (symbols done, their part), or None if Redis failed."""
        try:
            t0 = time.perf_counter()
            lists, ttls = self.store.read_bars([chunk[i] for i in which])
            self.out.add_time("cache_read", time.perf_counter() - t0)
        except CacheDown as exc:
            self.lose(exc)
            return None
        t0 = time.perf_counter()
        recs = []  # (chunk index, dates, (5, m) columns, segments, remaining ttl ms)
        for i, segs, ttl in zip(which, lists, ttls):
            try:
                if segs is WRONGTYPE:
                    raise codec.CorruptEntry("corrupt", "wrongtype")
                d, c = _decode_list(segs, int(tails.n[i]))
            except codec.CorruptEntry as exc:
                self.count_corrupt("bars", exc.reason)
                continue
            recs.append((i, d, c, len(segs), int(ttl)))
        if recs:
            lengths = np.array([r[1].shape[0] for r in recs], np.int64)
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
            fp = fingerprint_runs(
                np.concatenate([r[1] for r in recs]),
                np.concatenate([r[2] for r in recs], axis=1),
                starts,
                lengths,
            )
            good = fp == tails.fp[[r[0] for r in recs]]
            for _ in range(int((~good).sum())):
                self.count_corrupt("bars", "fingerprint mismatch")
            recs = [r for r, ok in zip(recs, good) if ok]
        if not recs:
            self.out.add_time("cache_read", time.perf_counter() - t0)
            return set(), None
        done = [r[0] for r in recs]
        runs_d, runs_c = [], []
        for i, d, c, _, _ in recs:
            if i in new_bar:
                d = np.append(d, new_bar[i][0])
                c = np.concatenate([c, new_bar[i][1][:, None]], axis=1)
            runs_d.append(d)
            runs_c.append(c)
        n = np.array([d.shape[0] for d in runs_d], np.int64)
        starts = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
        cat = np.concatenate(runs_c, axis=1)
        flat = {f: np.ascontiguousarray(cat[q]) for q, f in enumerate(BAR_FIELDS)}
        self.out.add_time("cache_read", time.perf_counter() - t0)
        t0 = time.perf_counter()
        state = build_state_runs(flat, starts, n, self.params)
        self.out.add_time("indicators", time.perf_counter() - t0)
        stamps = np.array([d[-1] for d in runs_d], np.int64)  # ms
        days = stamps // DAY_MS
        fp = tails.fp[done].copy()
        app = [q for q, i in enumerate(done) if i in new_bar]
        if app:
            ia = [done[q] for q in app]
            bars = np.array([new_bar[i][1] for i in ia])
            fp[app] = extend(fp[app], tails.n[ia], stamps[app], bars.T)
            self.queue_appends(chunk, ia, tails, fp[app], stamps[app], bars, writes_app)
        self.queue_states(chunk, done, n, days, fp, state, writes_state)
        for q, (i, _, _, nsegs, ttl) in enumerate(recs):
            if nsegs > COMPACT_AT and i not in new_bar:
                writes_bars[chunk[i]] = _segments(runs_d[q], runs_c[q])
                keep_ttl[chunk[i]] = ttl
        self.stats.rebuilt += len(done)
        return set(done), (done, state, n, days, fp)

    # -- fetching from the source ---------------------------------------------
    def fetch_and_build(self, chunk, which, writes_bars, writes_state):
        syms = [chunk[i] for i in which]
        t0 = time.perf_counter()
        df = self.src.long(syms)
        block = BarBlock.from_long(df, syms, errors=df.attrs.get("errors"))
        self.out.add_time("fetch", time.perf_counter() - t0)
        self.out.errors.update(block.errors)
        self.out.latest.update(block.error_latest_close)
        self.stats.bad_data += len(block.errors)
        self.stats.fetched += len(syms)
        good = [s for s in syms if s not in block.errors]
        if not good:
            return None
        t0 = time.perf_counter()
        starts, lengths, names, _ = (
            group_bounds(df["symbol"])
            if len(df)
            else (np.array([], np.int64), np.array([], np.int64), np.array([], object), None)
        )
        pos = {s: k for k, s in enumerate(names)}
        k = np.array([pos[s] for s in good], np.int64)
        rs, rl = starts[k].astype(np.int64), lengths[k].astype(np.int64)
        flat = {f: df[f].to_numpy(np.float64) for f in BAR_FIELDS}
        state = build_state_runs(flat, rs, rl, self.params)
        self.out.add_time("indicators", time.perf_counter() - t0)
        dates = ms(df["date"].to_numpy())
        fp_head = fingerprint_runs(dates, flat, rs, rl - 1)
        last = rs + rl - 1
        fp = extend(fp_head, rl - 1, dates[last], np.array([flat[f][last] for f in BAR_FIELDS]))
        days = dates[last] // DAY_MS
        if self.store is not None:
            t0 = time.perf_counter()
            cols = np.array([flat[f] for f in BAR_FIELDS])
            for q, s in enumerate(good):
                a, m = int(rs[q]), int(rl[q])
                writes_bars[s] = [
                    codec.encode_segment(
                        0, 0, int(fp_head[q]), dates[a : a + m - 1], cols[:, a : a + m - 1]
                    ),
                    codec.encode_segment(
                        m - 1,
                        int(fp_head[q]),
                        int(fp[q]),
                        dates[a + m - 1 : a + m],
                        cols[:, a + m - 1 : a + m],
                    ),
                ]
            idx = {s: i for i, s in enumerate(chunk)}
            self.queue_states(chunk, [idx[s] for s in good], rl, days, fp, state, writes_state)
            self.out.add_time("cache_write", time.perf_counter() - t0)
        idx = {s: i for i, s in enumerate(chunk)}
        return ([idx[s] for s in good], state, rl, days, fp)

    def compute_fetched(self, chunk: list[str]) -> None:
        if not chunk:
            return
        part = self.fetch_and_build(chunk, list(range(len(chunk))), {}, {})
        self.emit(chunk, [part] if part is not None else [])

    # -- results ----------------------------------------------------------------
    def emit(self, chunk: list[str], parts) -> None:
        if not parts:
            return
        t0 = time.perf_counter()
        order = np.concatenate([np.asarray(p[0], np.int64) for p in parts])
        rows = np.concatenate([p[1].rows for p in parts])
        n = np.concatenate([np.asarray(p[2], np.int64) for p in parts])
        sort = np.argsort(order, kind="stable")
        state = IndicatorState(self.params, rows[sort])
        symbols = [chunk[i] for i in order[sort]]
        tails = {f: state.tail(f, k) for f, k in self.params.keep}
        feats = block_features(tails, state.values())
        values = {**feats, **compute_scores(feats)}
        frame = pd.DataFrame(values, index=pd.Index(symbols, name="symbol"))
        frame["n_bars"] = n[sort]
        self.out.frames.append(frame)
        self.out.latest.update(zip(symbols, np.asarray(values["close"], dtype=np.float64)))
        self.out.add_time("scoring", time.perf_counter() - t0)


def _take(rows: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """rows[idx], without copying when idx takes every row in order (the usual rescan)."""
    if idx.size == rows.shape[0] and np.array_equal(idx, np.arange(idx.size)):
        return rows
    return rows[idx]


def _segments(dates: np.ndarray, cols: np.ndarray) -> list[bytes]:
    """A whole history as (history, last bar) segments."""
    m = dates.shape[0]
    head = fingerprint_runs(dates, cols, np.zeros(1, np.int64), np.array([m - 1]))
    fp = extend(head, np.array([m - 1]), dates[m - 1 : m], cols[:, m - 1 : m])
    return [
        codec.encode_segment(0, 0, int(head[0]), dates[: m - 1], cols[:, : m - 1]),
        codec.encode_segment(m - 1, int(head[0]), int(fp[0]), dates[m - 1 : m], cols[:, m - 1 : m]),
    ]


def _decode_list(segs: list, expect: int) -> tuple[np.ndarray, np.ndarray]:
    """A bar list's (dates, (5, m) columns), checking each segment and their continuity."""
    if not segs:
        raise codec.CorruptEntry("corrupt", "bar list vanished")
    ds, cs, count = [], [], 0
    for blob in segs:
        payload = codec.decode(blob, codec.KIND_BARS, 0)
        n_before, rows, _, _ = codec.segment_meta(payload)
        if n_before != count:
            raise codec.CorruptEntry(
                "corrupt", f"segment starts at bar {n_before}, expected {count}"
            )
        d, c = codec.segment_arrays(payload)
        ds.append(d)
        cs.append(c)
        count += rows
    if count != expect:
        raise codec.CorruptEntry("corrupt", f"{count} bars in the list, its tail says {expect}")
    return np.concatenate(ds), np.concatenate(cs, axis=1)


def run_cached(
    src,
    symbols: list[str],
    cache: Cache | str | None = None,
    block_size: int | str | None = None,
    progress=None,
    snapshot: pd.DataFrame | None = None,
    params: StateParams = SCAN_STATE,
) -> BlockOutcome:
    """The cached engine: what ``vectorized.run_blocks`` does, through the cache.

    ``cache``: a Cache, a Redis URL, or None for the default (``$REDIS_URL`` or
    the embedded server).  ``snapshot``: the source's latest-session bars if
    the caller already has them (pre-screening does).
    """
    if not isinstance(cache, Cache):
        cache = Cache(url=cache)
    cache.reset()
    out = BlockOutcome()
    out.backend = ENGINE
    stats = CacheStats(server=cache.describe())
    runner = _Runner(src, cache, params, out, stats, snapshot)
    chunks = split(symbols, block_size)
    for chunk in progress(chunks) if progress else chunks:
        runner.run(chunk)
        out.blocks += 1
    out.cache_info = stats.as_info()
    return out


def run(src, symbols: list[str], options: EngineOptions) -> BlockOutcome:
    """The engine contract (``outcome.Engine``): the blocks through the cache (it computes with
    its incremental state kernel, whatever the backend)."""
    out = run_cached(
        src, symbols, options.cache, options.block_size, options.progress, snapshot=options.snapshot
    )
    out.engine_info.update(engine="in-process (cache)", blocks=out.blocks, cache=out.cache_info)
    return out
