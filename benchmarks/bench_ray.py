"""asv: the ray phase beside the in-process engine, at several universe sizes.

Self-contained: the stores are generated once (``setup_cache``) with the
project's generator.  Ray is started once per benchmark process in ``setup``,
outside the timing, with this machine's cores; a machine where Ray cannot
start skips the Ray benchmarks (``NotImplementedError``), and a Ray scan that
did not run on Ray fails rather than timing the in-process engine under
Ray's name.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .common import symbols_for

SIZES = (2_000, 5_277, 20_000)
BARS = 504
SEED = 7
PHASES = "prefetch,prescreen,vectorized"
BACKEND = None  # the engine's default (numba where it runs), as a user's scan gets


def _store(root: str, n: int) -> str:
    return str(Path(root) / f"u{n}")


def _start_ray() -> None:
    try:
        import ray

        if not ray.is_initialized():
            from technic_core.scan.phases.ray_phase import local_cpus

            ray.init(
                num_cpus=local_cpus(),
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
    except Exception as exc:  # not installed, or cannot start here: skip, with the reason
        raise NotImplementedError(f"Ray cannot start here: {type(exc).__name__}: {exc}") from None


class _Stores:
    timeout = 900
    number = 1
    repeat = (1, 3, 120.0)
    warmup_time = 0.0

    def setup_cache(self):
        from technic_core.universe.make import generate_store

        root = Path("ray-stores").resolve()
        for n in SIZES:
            generate_store(root / f"u{n}", symbols_for(n), BARS, SEED, log=lambda *_: None)
        return str(root)


class ScanEngines(_Stores):
    """One scan: in-process blocks vs the same blocks as Ray tasks (Ray already running)."""

    params = (list(SIZES), ["in-process", "ray"])
    param_names = ["symbols", "engine"]

    def setup(self, root, n, engine):
        from technic_core.scan import scan

        self.scan, self.root = scan, _store(root, n)
        self.phases = PHASES + (",ray" if engine == "ray" else "")
        if engine == "ray":
            _start_ray()
        # imports, JIT and Ray's worker start happen here, not in the timing
        res = self.scan(self.root, phases=self.phases, backend=BACKEND, symbols=[])
        if engine == "ray" and res.info.get("engine") != "ray":
            raise RuntimeError(f"the ray phase did not run on Ray: {res.info.get('engine')}")
        self.scan(self.root, phases=self.phases, backend=BACKEND)

    def time_scan(self, root, n, engine):
        self.scan(self.root, phases=self.phases, backend=BACKEND)

    def peakmem_scan(self, root, n, engine):
        # the driver's memory only: Ray's workers hold the blocks in their own processes
        self.scan(self.root, phases=self.phases, backend=BACKEND)


class RayCosts(_Stores):
    """What Ray adds: share of worker time outside tasks; in-task seconds per symbol."""

    params = (list(SIZES),)
    param_names = ["symbols"]

    def setup(self, root, n):
        from technic_core.scan import scan

        _start_ray()
        scan(_store(root, n), phases=PHASES + ",ray", backend=BACKEND, symbols=[])
        self.res = scan(_store(root, n), phases=PHASES + ",ray", backend=BACKEND)
        if self.res.info.get("engine") != "ray":
            raise RuntimeError(f"the ray phase did not run on Ray: {self.res.info.get('engine')}")

    def track_idle_pct(self, root, n):
        return self.res.info["ray_idle_pct"]

    track_idle_pct.unit = "%"

    def track_task_us_per_symbol(self, root, n):
        return 1e6 * self.res.info["ray_task_s"] / max(1, self.res.n_symbols)

    track_task_us_per_symbol.unit = "us"
