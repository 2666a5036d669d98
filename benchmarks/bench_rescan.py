"""A rescan that costs what changed (issue 16): one new session for every symbol.

The store (``_two_versions``): the default universe (5,277 x 504) and, committed
over it, one more session for every symbol (``append_session``): versions A
and A+1 of one store directory.

* ``Rescan``: a long-lived ``LiveScan`` holding version A's state (in memory, or
  in Redis: an embedded redis-server for the suite) rescans version A+1, end to end:
  the new version's index and panel row read, the state advanced, written back
  (Redis), features, scores, filters, ranked table out.  Before each timed rescan
  the state is put back to version A's (and every file cache of the process
  emptied), so each one does the same work.  Median of ``REPEAT``, milliseconds.
* ``Advance``: the incremental compute alone, one bar for every symbol, all
  indicators: technic's state kernel against TA-Lib 0.8's stateful stream handles
  (``talib.stream.X(history)`` then ``.update(...)``; one handle per symbol and
  indicator, built in setup from each symbol's own contiguous history), timed
  alternately in one process on the same symbols (those with at least ``MIN_BARS``
  bars, which every handle can open on).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import (
    FIELDS,
    FULL,
    INDICATOR_CALLS,
    N_BARS,
    SEED,
    SMOKE,
    _locked,
    cache_dir,
    store_kind,
    store_path,
)

REPEAT = 1 if SMOKE else 7
ROUNDS = 60
MIN_BARS = 64


def _two_versions() -> tuple[Path, int]:
    """(a store whose current version is the default universe plus one session, that version)."""
    from technic_core.universe.append import append_session
    from technic_core.universe.writer import read_manifest

    root = cache_dir() / f"rescan-{store_kind()}" / f"u{FULL}x{N_BARS}s{SEED}"
    done = root / "manifest.json"
    if not done.is_file():
        with _locked(root):
            if not done.is_file():
                tmp = Path(tempfile.mkdtemp(dir=cache_dir()))
                shutil.copytree(store_path(FULL), tmp / "s")
                old = os.environ.get("TECHNIC_STORE_KEEP_S")
                os.environ["TECHNIC_STORE_KEEP_S"] = str(10**9)  # keep version A
                try:
                    append_session(tmp / "s", seed=SEED)
                finally:
                    if old is None:
                        os.environ.pop("TECHNIC_STORE_KEEP_S")
                    else:
                        os.environ["TECHNIC_STORE_KEEP_S"] = old
                shutil.rmtree(root, ignore_errors=True)
                root.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp / "s", root)
                shutil.rmtree(tmp, ignore_errors=True)
    return root, int(read_manifest(root)["version"])


class Rescan:
    params = [["memory", "redis"]]
    param_names = ["state"]
    timeout = 900

    def setup(self, state):
        try:
            from technic_core.scan.live import LiveScan
            from technic_core.universe.store import OPENED
        except ImportError as exc:
            raise NotImplementedError(f"no LiveScan at this commit: {exc}") from None
        self.server = None
        cache = None
        if state == "redis":
            try:
                from technic_core.cache import Cache, EmbeddedRedis

                self.server = EmbeddedRedis(
                    tempfile.mkdtemp(prefix="technic-asv-redis-"), persist=False
                ).start()
            except Exception as exc:  # noqa: BLE001 - no Redis here: skip, never fail
                raise NotImplementedError(f"Redis cannot start here: {exc}") from None
            cache = Cache(url=self.server.url, namespace="asv-rescan")
        self.root, self.b = _two_versions()
        self.a = self.b - 1
        self.opened = OPENED
        self.live = LiveScan(self.root, state=state, cache=cache)
        if state == "redis":
            self.live.redis.clear()
        self.live.refresh(version=self.a)
        self.saved = (
            self.live.state.slots.copy(),
            self.live.symbols,
            self.live.content,
            self.live.n_bars,
            self.live.version,
            self.live.result,
        )
        self.saved_redis = (self.live._stored, self.live._shift)
        self.keys = (
            [self.live.redis.meta_key, *self.live.redis.slot_keys] if state == "redis" else []
        )
        self.blobs = cache.client().mget(self.keys) if state == "redis" else []
        self.seen = self.live.redis._seen_meta if state == "redis" else None
        self._rescan()  # compile and warm outside the timing

    def teardown(self, state):
        if self.server is not None:
            self.server.stop()
            shutil.rmtree(self.server.dir, ignore_errors=True)

    def _restore(self) -> None:
        from technic_core.indicators.state import IndicatorState

        live = self.live
        live.state = IndicatorState.from_slots(live.params, self.saved[0].copy())
        live.symbols, live.content, live.n_bars, live.version, live.result = self.saved[1:]
        if self.keys:
            live.redis.cache.client().mset(dict(zip(self.keys, self.blobs)))
            live.redis._seen_meta = self.seen
            live._stored, live._shift = self.saved_redis
        self.opened.clear()

    def _rescan(self) -> float:
        self._restore()
        t0 = time.perf_counter()
        self.live.refresh(version=self.b)
        seconds = time.perf_counter() - t0
        counts = self.live.last_counts
        if counts["advanced"] < len(self.saved[1]) - 1 or counts["built"] > 1:
            raise RuntimeError(f"not a one-session rescan: {counts}")
        return seconds

    def track_rescan_one_new_session(self, state):
        return 1e3 * statistics.median(self._rescan() for _ in range(REPEAT))

    track_rescan_one_new_session.unit = "ms"


def _talib_handles(fields: dict[str, np.ndarray], cols: np.ndarray):
    """One stream handle per symbol and indicator, opened on the symbol's own contiguous history."""
    import talib.stream as ts

    handles = []
    for j in cols:
        col = {f: np.ascontiguousarray(a[:, j][~np.isnan(a[:, j])]) for f, a in fields.items()}
        for name, (inputs, kwargs) in INDICATOR_CALLS.items():
            h = getattr(ts, name.upper())(*[col[f] for f in inputs], **kwargs)
            handles.append((h.update, [FIELDS.index(f) for f in inputs], j))
    return handles


class Advance:
    """One new bar for every symbol, every indicator: technic's state against TA-Lib's streams."""

    timeout = 900

    def setup(self):
        try:
            import talib.stream  # noqa: F401

            from technic_core.indicators.state import build_state
            from technic_core.universe.store import Store

            try:
                from technic_core.scan.phases.cache_phase import SCAN_STATE
            except ImportError:  # commits before the phase's module was renamed
                from technic_core.scan.phases.cache import SCAN_STATE
        except ImportError as exc:
            raise NotImplementedError(
                f"needs TA-Lib 0.8 streams and the indicator state: {exc}"
            ) from None
        root, b = _two_versions()
        block = Store(root, version=b - 1).block()
        new = Store(root, version=b).block(list(block.symbols))
        if list(new.symbols) != list(block.symbols):
            raise RuntimeError("the two versions hold different symbols")
        cols = np.flatnonzero(block.lengths >= MIN_BARS)
        fields = {f: np.ascontiguousarray(block.fields[f][:, cols]) for f in FIELDS}
        self.state = build_state(fields, SCAN_STATE)
        self.bar = [np.ascontiguousarray(new.fields[f][-1, cols]) for f in FIELDS]
        self.handles = _talib_handles(fields, np.arange(cols.size))
        self.n = cols.size
        self._round()

    def _round(self) -> tuple[float, float]:
        bar = self.bar
        t0 = time.perf_counter()
        self.state.advance(*bar)
        t1 = time.perf_counter()
        rows = [b.tolist() for b in bar]
        for update, inputs, j in self.handles:
            update(*[rows[i][j] for i in inputs])
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1

    def _medians(self) -> tuple[float, float]:
        runs = [self._round() for _ in range(ROUNDS)]
        return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)

    def track_state_advance(self):
        return 1e3 * self._medians()[0]

    track_state_advance.unit = "ms"

    def track_talib_streams(self):
        return 1e3 * self._medians()[1]

    track_talib_streams.unit = "ms"

    def track_speedup_over_talib_streams(self):
        ours, talib = self._medians()
        return talib / ours

    track_speedup_over_talib_streams.unit = "x"
