"""Memory and start-up: the peak resident size of a full scan, and what a new process pays.

``peakmem_`` is the process's peak RSS while the benchmark runs (asv's
definition: imports and setup included, so compare like with like).
``timeraw_`` runs its code in a fresh interpreter: importing the package, and
PEERS' start-up yardstick, a new process computing its first full indicator
set (under 2 s when compiled code is cached).
"""
from __future__ import annotations

from .common import (
    BASELINE_SYMBOLS,
    FIELDS,
    FULL,
    INDICATOR_CALLS,
    PHASE_UNIVERSE,
    arrays,
    backend_module,
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
        setup = (f"import numpy as np; d = {{f: np.load({self.array_dir!r} + '/' + f + '.npy') "
                 f"for f in {FIELDS!r}}}")
        return f"from technic_core import indicators as ind; {calls}", setup

