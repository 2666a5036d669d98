"""Phase 3B, the Redis cache: cold, warm and one-new-bar scans of the default universe.

Self-contained: its stores (the default universe, and the same universe plus
one appended session) are generated once into ``$TECHNIC_ASV_DATA`` (default
``~/.cache/technic-asv``); its Redis is an embedded redis-server started for
the suite and stopped after it.  Where Redis (or the cache phase) is not
available at the commit under test, ``setup`` raises ``NotImplementedError``
and asv reports the benchmarks as skipped.

Cold and rescan need a cache in a given state before each measurement, so
they are ``track_`` benchmarks that prepare it, time the scan themselves and
report seconds per symbol (the median of ``REPEAT`` scans).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from .common import SMOKE, _store_format, store_kind, store_marker, symbols_for

N_SYMBOLS = symbols_for(5277)
N_BARS = 504
SEED = 7
REPEAT = 1 if SMOKE else 3
PHASES = "vectorized,cache"


def _data_dir() -> Path:
    env = os.environ.get("TECHNIC_ASV_DATA")
    root = (
        Path(env) if env else Path.home() / ".cache" / "technic-asv"
    ) / f"cache-{N_SYMBOLS}x{N_BARS}-s{SEED}-{store_kind()}"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _stores() -> tuple[Path, Path]:
    """(the default universe, the same plus one appended session), built once."""
    from technic_core.universe.append import append_session
    from technic_core.universe.make import generate_store

    root = _data_dir()
    a, b = root / "today", root / "tomorrow"
    if not (b / store_marker(_store_format())).is_file():
        tmp = Path(tempfile.mkdtemp(dir=root))
        generate_store(tmp / "a", N_SYMBOLS, N_BARS, SEED, log=lambda *_: None)
        shutil.copytree(tmp / "a", tmp / "b")
        append_session(tmp / "b", seed=SEED)
        for src, dst in ((tmp / "a", a), (tmp / "b", b)):
            shutil.rmtree(dst, ignore_errors=True)
            os.replace(src, dst)
        shutil.rmtree(tmp, ignore_errors=True)
    return a, b


class _Suite:
    timeout = 600

    def setup(self):
        self.setup_server()
        self.today, self.tomorrow = _stores()
        # compile the kernels and warm the file cache outside any measurement
        self.cache = self.fresh()
        self.scan(self.today, phases=PHASES, cache=self.cache)

    def setup_server(self):
        try:
            from technic_core.cache import Cache, EmbeddedRedis
            from technic_core.scan import scan
        except ImportError as exc:
            raise NotImplementedError(f"no cache phase at this commit: {exc}") from None
        try:
            self.server = EmbeddedRedis(
                tempfile.mkdtemp(prefix="technic-asv-redis-"), persist=False
            ).start()
        except Exception as exc:  # noqa: BLE001 - no Redis here: skip, never fail
            raise NotImplementedError(f"Redis cannot start here: {exc}") from None
        self.scan = scan
        self.Cache = Cache

    def teardown(self):
        server = getattr(self, "server", None)
        if server is not None:
            server.stop()
            shutil.rmtree(server.dir, ignore_errors=True)

    def fresh(self):
        """A cache namespace nobody has written to."""
        return self.Cache(url=self.server.url, namespace=f"asv-{uuid.uuid4().hex[:8]}")

    def timed(self, store, cache) -> float:
        t0 = time.perf_counter()
        res = self.scan(store, phases=PHASES, cache=cache)
        seconds = time.perf_counter() - t0
        if "failed" in res.info["cache"]:
            raise RuntimeError(
                f"the cache failed during the benchmark: {res.info['cache']['failed']}"
            )
        return seconds / res.n_symbols

    def drop(self, cache) -> None:
        client = cache.client()
        for key in client.scan_iter(match=f"technic:*:{cache.namespace}:*", count=5000):
            client.unlink(key)


class CacheScans(_Suite):
    """Seconds per symbol of a full scan with ``--phases vectorized,cache``."""

    unit = "seconds per symbol"

    def track_cold(self):
        """Empty cache: every symbol fetched, computed and written."""
        runs = []
        for _ in range(REPEAT):
            cache = self.fresh()
            runs.append(self.timed(self.today, cache))
            self.drop(cache)
        return statistics.median(runs)

    track_cold.unit = "seconds per symbol"

    def track_rescan_one_new_bar(self):
        """Cache filled from yesterday's store; the store has one new bar for every symbol."""
        runs = []
        for _ in range(REPEAT):
            cache = self.fresh()
            self.scan(self.today, phases=PHASES, cache=cache)
            runs.append(self.timed(self.tomorrow, cache))
            self.drop(cache)
        return statistics.median(runs)

    track_rescan_one_new_bar.unit = "seconds per symbol"


class CacheWarm(_Suite):
    """Nothing changed since the last scan: every state is a hit."""

    number = 1
    repeat = (3, 5, 30.0)

    def time_warm_scan(self):
        self.scan(self.today, phases=PHASES, cache=self.cache)


class StateAdvance:
    """The incremental compute alone: one new bar for every symbol, all 13 indicators."""

    number = 20
    gate = True
    gate_scaling = True
    repeat = (5, 10, 20.0)

    def setup(self):
        # asv_runner re-runs setup before each of the `number` timed calls: the
        # universe and its state (~1 s to build) are made once per process, not 200 times.
        self.state, self.bar = _advance_inputs()

    def time_advance_one_bar_all_symbols(self):
        # each call advances the state one more bar: the same work every time
        self.state.advance(*self.bar)


_ADVANCE_INPUTS: list = []


def _advance_inputs():
    if not _ADVANCE_INPUTS:
        try:
            from technic_core.indicators.state import build_state
            from technic_core.universe.generate import generate_universe
        except ImportError as exc:
            raise NotImplementedError(f"no indicator state at this commit: {exc}") from None
        g = generate_universe(N_SYMBOLS, N_BARS + 1, SEED)
        fields = ("open", "high", "low", "close", "volume")
        state = build_state({f: getattr(g, f)[:-1] for f in fields})
        bar = [getattr(g, f)[-1].copy() for f in fields]
        state.advance(*bar)  # compile outside the measurement
        _ADVANCE_INPUTS.extend((state, bar))
    return _ADVANCE_INPUTS[0], _ADVANCE_INPUTS[1]


# -- the cache's paths at a size the CI gate affords (gate = True) ------------------------------
SMALL = 500


def _small_stores() -> tuple[Path, Path]:
    """(the SMALL-symbol store of the suites, the same plus one appended session), made once."""
    from technic_core.universe.append import append_session

    from .common import _locked, _store_format, store_marker, store_path

    today = store_path(SMALL)
    tomorrow = today.with_name(today.name + ".plus1")
    done = tomorrow / store_marker(_store_format())  # the store's own "complete" file, any format
    if not done.is_file():
        with _locked(tomorrow):
            if not done.is_file():
                tmp = tomorrow.with_name(tomorrow.name + f".tmp{os.getpid()}")
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.copytree(today, tmp)
                append_session(tmp, seed=SEED)
                os.replace(tmp, tomorrow)
    return today, tomorrow


class _SmallCache(_Suite):
    """SMALL symbols, real embedded Redis started by ``setup`` and stopped by ``teardown``.

    asv_runner runs both around every timed call, so each call finds the cache
    in the state its ``setup`` made: the server (~0.1 s to start) and the
    filling scan are paid outside the timing.  A server that outlived its
    call would outlive asv's forked benchmark process too (it ends with
    ``os._exit``, no atexit), so none is kept between calls.
    """

    gate = True

    def setup(self):
        super().setup_server()
        self.today, self.tomorrow = _small_stores()
        self.cache = self.fresh()
        self.scan(self.today, phases=PHASES, cache=self.cache)  # filled: yesterday's states

    def run(self, store):
        res = self.scan(store, phases=PHASES, cache=self.cache)
        if "failed" in res.info["cache"]:
            raise RuntimeError(
                f"the cache failed during the benchmark: {res.info['cache']['failed']}"
            )


class CacheWarmSmall(_SmallCache):
    """A warm scan: nothing changed since the last scan, every state a hit."""

    def time_warm_scan(self):
        self.run(self.today)


class CacheRescan(_SmallCache):
    """A rescan after one new bar for every symbol: read the states, advance one bar, write back."""

    def time_rescan_one_new_bar(self):
        self.run(self.tomorrow)
