"""Memory and start-up: the peak resident size of a full scan, and what a new process pays.

``peakmem_`` is the process's peak RSS while the benchmark runs (asv's
definition: imports and setup included, so compare like with like).
``timeraw_`` runs its code in a fresh interpreter: importing the package, and
PEERS' start-up yardstick, a new process computing its first full indicator
set (aim, issue 15: at most 1 s with the compiled code loaded from Numba's
cache; the interpreter's start and the imports are its untimed setup).
``IndicatorMemory.track_peak_ratio`` is the largest amount of memory a full
set allocates (tracemalloc: every NumPy buffer, nothing else) over its
outputs plus one copy of its inputs (aim: at most 1.0).
"""

from __future__ import annotations

import tracemalloc

from .common import (
    BASELINE_SYMBOLS,
    FIELDS,
    FULL,
    INDICATOR_CALLS,
    LAYOUTS,
    PHASE_UNIVERSE,
    arrays,
    backend_module,
    layout_arrays,
    run_scan,
    scan_symbols,
    step_phases,
    store_path,
)


class ScanMemory:
    """Peak memory of the fastest CPU ladder step over the default universe, whole or in blocks."""

    params = [[0, 1000]]
    param_names = ["block_size"]
    timeout = 300

    def setup(self, block_size):
        self.phases = step_phases("+vectorized")
        self.store = store_path(FULL)
        run_scan(self.store, self.phases, symbols=scan_symbols(self.store, 20))  # can it run here?

    def peakmem_vectorized_scan(self, block_size):
        from technic_core.scan import scan

        scan(self.store, phases=self.phases, block_size=block_size or None)


class BaselineMemory:
    """Peak memory of the per-symbol baseline (pandas), BASELINE_SYMBOLS symbols."""

    timeout = 300

    def setup(self):
        self.store = store_path(PHASE_UNIVERSE)
        self.symbols = scan_symbols(self.store, BASELINE_SYMBOLS)
        run_scan(self.store, (), symbols=self.symbols[:5])

    def peakmem_baseline_scan(self):
        run_scan(self.store, (), symbols=self.symbols)


class Startup:
    """A new interpreter: import, and the first full indicator set."""

    params = [["import", "first_full_set"]]
    param_names = ["what"]
    number = 1
    repeat = (1, 5, 30.0)
    timeout = 300

    def setup(self, what):
        if what == "first_full_set":
            from technic_core import indicators as ind

            backend_module(ind.default_backend())
            arrays(FULL)  # made now, so the timed process only loads it
            self.array_dir = str(store_path(FULL)) + ".arrays"

    def timeraw_startup(self, what):
        if what == "import":
            return "import technic_core.scan, technic_core.indicators"
        calls = ";".join(
            f"ind.{name}(*[d[f] for f in {fields!r}], **{kwargs!r})"
            for name, (fields, kwargs) in INDICATOR_CALLS.items()
        )
        # untimed: the interpreter, the imports (the package and its default backend's
        # module, so Numba itself) and the data; timed: the first full set, whose kernels
        # load from Numba's on-disk cache (Numba's own first-use set-up included)
        setup = (
            f"import numpy as np, importlib; from technic_core import indicators as ind; "
            f"importlib.import_module(ind.registry._BACKENDS[ind.default_backend()].module); "
            f"d = {{f: np.load({self.array_dir!r} + '/' + f + '.npy') for f in {FIELDS!r}}}"
        )
        return calls, setup


class IndicatorMemory:
    """Memory of a full set through the public API (a Panel, results kept, as a user holds them)."""

    params = [list(LAYOUTS)]
    param_names = ["layout"]
    timeout = 300

    def setup(self, layout):
        from technic_core import indicators as ind

        backend_module(ind.default_backend())
        self.ind = ind
        self.data = layout_arrays(layout)
        self.run()  # compiled code loaded outside the measurement

    def run(self):
        p = self.ind.Panel(**self.data)
        return {
            name: getattr(self.ind, name)(p, **kwargs)
            for name, (_, kwargs) in INDICATOR_CALLS.items()
        }

    def peakmem_full_set(self, layout):
        self.run()

    def track_peak_ratio(self, layout):
        # Recycled outputs (technic_core/indicators/outputs.py) would hide the
        # set's allocations from tracemalloc: start with an empty pool.
        pool = getattr(self.ind, "outputs", None)
        if pool is not None:
            pool.trim()
        tracemalloc.start()
        try:
            out = self.run()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        outputs = sum(o.nbytes for v in out.values() for o in (v if isinstance(v, tuple) else (v,)))
        inputs = sum(a.nbytes for a in self.data.values())
        return peak / (outputs + inputs)

    track_peak_ratio.unit = "of outputs + inputs"
