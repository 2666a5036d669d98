"""Kernels: each backend's function for one indicator, called straight, on a panel without late listings.

``bench_indicators`` times the public API, where input validation and the
re-alignment of late listings (``apply_ragged``) cost about twice the
kernel itself at 2,000 symbols (numba, one thread: API 6 ms, backend on the
ragged panel 3.5 ms, backend on full columns 2.2 ms, the kernel 2.0 ms).  A
kernel that gets 30% slower moves those figures by 10%, inside a shared
machine's noise; here the kernel's own work is most of what is timed, so a
change in one kernel shows nearly whole.  The panel is the suite's store
with the columns that have every session (late listings dropped).
"""

from __future__ import annotations

import numpy as np

from .common import INDICATOR_CALLS, arrays, backend_module, indicator_inputs

SIZE = 2000
_FULL: dict = {}


def full_columns(n: int) -> dict[str, np.ndarray]:
    """The ``arrays(n)`` panel without the columns that start late (made once a process)."""
    if n not in _FULL:
        d = arrays(n)
        keep = ~np.isnan(d["close"]).any(axis=0)
        _FULL[n] = {f: np.ascontiguousarray(a[:, keep]) for f, a in d.items()}
    return _FULL[n]


class Kernel:
    """One indicator through a backend module's function (no validation around it)."""

    params = [list(INDICATOR_CALLS), ["numba", "numpy"], [SIZE]]
    param_names = ["indicator", "backend", "symbols"]
    timeout = 120
    gate = [(name, "numba", SIZE) for name in INDICATOR_CALLS]

    def setup(self, name, backend, n):
        self.func = getattr(backend_module(backend), name)
        self.args, self.kwargs = indicator_inputs(full_columns(n), name)

    def time_kernel(self, name, backend, n):
        self.func(*self.args, **self.kwargs)
