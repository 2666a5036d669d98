"""Phases: each cumulative step of SPEC's ladder, a whole scan, through the local store.

The store holds PHASE_UNIVERSE symbols.  The per-symbol steps (baseline,
+prefetch, +prescreen) scan the first BASELINE_SYMBOLS of them, because the
pandas baseline costs ~10 ms a symbol; compare steps per symbol in the
latency suite, which divides by the symbols each step scanned.  A step that
is not built at the commit under test is skipped (n/a), never timed.
"""
from __future__ import annotations

from .common import (
    KNOWN_BACKENDS,
    LADDER_LABELS,
    PHASE_UNIVERSE,
    backend_module,
    run_scan,
    scan_symbols,
    step_phases,
    step_symbols,
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
