"""Whole scans, one per phase, at sizes the CI gate can afford (``gate = True``).

``bench_phases`` times the ladder (docs/scan.md) on PHASE_UNIVERSE symbols, seconds a
call; the gate needs each phase in a fraction of a second, many times over,
so these scan GATE_UNIVERSE symbols (the per-symbol steps PER_SYMBOL of
them).  ``setup`` only finds the store and the symbols: asv_runner re-runs it
before every timed call, and the warm-up (imports, JIT cache loads) is the
runner's own untimed first calls.

``RayScan`` starts Ray once per benchmark process (a module-level session,
shut down at exit) and times one scan through it; where Ray is not installed
or cannot start, it is skipped with the reason.
"""

from __future__ import annotations

import atexit
import logging

from .common import HTTP_UNIVERSE, run_scan, scan_symbols, step_phases, store_path

GATE_UNIVERSE = HTTP_UNIVERSE  # 500 symbols: the store the HTTP suites serve too
PER_SYMBOL = 12  # symbols the per-symbol steps (pandas, ~20 ms each) scan
STEPS = ("baseline", "+prefetch", "+prescreen", "+vectorized")


class ScanStep:
    """One cumulative step of the ladder on a small store, default backend."""

    params = [list(STEPS)]
    param_names = ["step"]
    timeout = 300
    gate = True
    gate_scaling = [("+vectorized",)]

    def setup(self, label):
        self.phases = step_phases(label)
        self.store = store_path(GATE_UNIVERSE)
        n = GATE_UNIVERSE if "vectorized" in self.phases else PER_SYMBOL
        self.symbols = scan_symbols(self.store, n)

    def time_scan(self, label):
        run_scan(self.store, self.phases, symbols=self.symbols)


RAY_SYMBOLS = 2000
_RAY: list = []


def _ray_up() -> None:
    """Ray once per process, with this machine's cores; NotImplementedError (skip) without it."""
    if _RAY:
        return
    try:
        import ray

        from technic_core.scan.phases.ray_phase import local_cpus

        if not ray.is_initialized():
            ray.init(
                num_cpus=local_cpus(),
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
            atexit.register(ray.shutdown)
    except Exception as exc:  # not installed, or cannot start here: skip, with the reason
        raise NotImplementedError(f"Ray cannot start here: {type(exc).__name__}: {exc}") from None
    _RAY.append(ray)


class RayScan:
    """One vectorised scan as Ray tasks, Ray already running (the per-scan cost, not Ray's start)."""

    timeout = 600
    gate = True
    gate_children_cpu = True  # the work runs in Ray's worker processes

    def setup(self):
        _ray_up()
        step_phases("+ray")
        self.store = store_path(RAY_SYMBOLS)
        self.phases = ("prefetch", "prescreen", "vectorized", "ray")

    def time_scan(self):
        res = run_scan(self.store, self.phases)
        if res.info.get("engine") != "ray":
            raise RuntimeError(f"the ray phase did not run on Ray: {res.info.get('engine')}")
