"""Phases: each cumulative step of the ladder (docs/scan.md), a whole scan, through the local store and HTTP.

The store holds PHASE_UNIVERSE symbols.  The per-symbol steps (baseline,
+prefetch, +prescreen) scan the first BASELINE_SYMBOLS of them, because the
pandas baseline costs ~10 ms a symbol; compare steps per symbol in the
latency suite, which divides by the symbols each step scanned.  A step that
is not built at the commit under test is skipped (n/a), never timed.
"""

from __future__ import annotations

from .common import (
    HTTP_UNIVERSE,
    KNOWN_BACKENDS,
    LADDER_LABELS,
    PHASE_UNIVERSE,
    HttpServer,
    backend_module,
    run_scan,
    scan_symbols,
    step_phases,
    step_symbols,
    stop_embedded_redis,
    store_path,
)


class Ladder:
    """One cumulative step of the ladder, the default (fastest) backend."""

    params = [list(LADDER_LABELS)]
    param_names = ["step"]
    timeout = 600
    number = 1
    repeat = (1, 5, 60.0)
    warmup_time = 0.0

    def setup(self, label):
        self.phases = step_phases(label)
        self.store = store_path(PHASE_UNIVERSE)
        self.symbols = scan_symbols(self.store, step_symbols(label))
        # Imports, JIT cache loads and the page cache warm-up stay out of the timing.
        run_scan(self.store, self.phases, symbols=scan_symbols(self.store, 20))
        if "vectorized" in self.phases:
            run_scan(self.store, self.phases, symbols=self.symbols)

    def time_scan(self, label):
        run_scan(self.store, self.phases, symbols=self.symbols)

    def teardown(self, label):
        stop_embedded_redis()


class VectorizedBackend:
    """prefetch + prescreen + vectorized with each indicator backend (talib: TA-Lib as the engine)."""

    params = [list(KNOWN_BACKENDS)]
    param_names = ["backend"]
    timeout = 600
    number = 1
    repeat = (1, 5, 60.0)
    warmup_time = 0.0

    def setup(self, backend):
        backend_module(backend)
        self.phases = step_phases("+vectorized")
        self.store = store_path(PHASE_UNIVERSE)
        n = step_symbols("baseline") if backend == "baseline" else PHASE_UNIVERSE
        self.symbols = scan_symbols(self.store, n)
        run_scan(self.store, self.phases, backend=backend, symbols=self.symbols)

    def time_scan(self, backend):
        run_scan(self.store, self.phases, backend=backend, symbols=self.symbols)


class HttpLadder:
    """The same steps through ``technic serve`` (its documented per-request latency) on loopback.

    On an HTTP_UNIVERSE-symbol store (the per-symbol steps on BASELINE_SYMBOLS of them).
    The server runs in its own process for the duration of one parameter's
    measurements; the per-symbol steps pay one round trip per symbol, the
    prefetching ones a few grouped requests.
    """

    params = [list(LADDER_LABELS)]
    param_names = ["step"]
    timeout = 900
    number = 1
    repeat = (1, 3, 60.0)
    warmup_time = 0.0

    def setup(self, label):
        self.phases = step_phases(label)
        store = store_path(HTTP_UNIVERSE)
        self.symbols = scan_symbols(store, step_symbols(label, HTTP_UNIVERSE))
        self.server = HttpServer(store)
        self.url = self.server.start()
        try:
            run_scan(self.url, self.phases, symbols=scan_symbols(store, 20))
        except BaseException:
            self.server.stop()
            raise

    def teardown(self, label):
        # asv calls teardown after a setup that skipped (NotImplementedError) too
        server = getattr(self, "server", None)
        if server is not None:
            server.stop()
        stop_embedded_redis()

    def time_scan(self, label):
        run_scan(self.url, self.phases, symbols=self.symbols)
