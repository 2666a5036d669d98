"""One side of the gate: one commit's tree in its own process, timing its asv benchmarks on command.

Run as a script (``python -I worker.py TREE``), never imported by the code it
measures: ``technic_core`` and ``benchmarks`` both come from TREE (a commit's
``git archive``).  The benchmarks are found and driven by asv's own runner
library, ``asv_runner``: its discovery (``disc_benchmarks``), its
``Benchmark`` objects (parameter grid, ``setup_cache``, ``setup`` and
``teardown``, skips by ``NotImplementedError`` or ``skip_params``) and its
sampling rule: where a benchmark has a ``setup``, every timed call sees a
freshly set-up state (asv_runner's ``_SetupInterleavedTimer``), so a
benchmark that consumes its state (a rescan, a state advanced by a bar) is
timed as ``asv run`` times it.

The gate drives one worker per commit over pipes, one JSON object a line:

    {"op": "init", "ctx": {...}}          -> {"ok": true, "benchmarks": [{"id", "gate", "scaling"}...]}
    {"op": "setup", "id": "mod.Class.time_x(a, 1)"} -> {"ok": true, "cpu": s a call} | {"ok": false, "error": "n/a: ..."}
    {"op": "sample", "number": n}         -> {"ok": true, "cpu": ..., "tree_cpu": ..., "wall": ...}
    {"op": "threads", "n": k}             -> {"ok": true, "threads": k}  (numba.set_num_threads)
    {"op": "teardown"}
    {"op": "quit"}

Two processes rather than two versions in one: each keeps its own Numba
cache and compiled code, and neither version's state leaks into the other.
Only the standard library is imported at module level (and asv_runner, psutil
once initialised).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

PKG = "technic_core"
BENCH_DIR = "benchmarks"


def bench_id(bench) -> str:
    """asv's name and, for a parameterised benchmark, its parameters as ``asv compare`` shows them."""
    if not bench._params:
        return bench.name
    return f"{bench.name}({', '.join(_plain(p) for p in bench._current_params)})"


def _plain(value) -> str:
    return str(value) if not isinstance(value, str) else value


def _short(name: str) -> str:
    """``bench_x.Class.time_y`` -> ``Class.time_y`` (how a module's own list names it)."""
    return name.split(".", 1)[1] if "." in name else name


def _in_list(entries, bench, ident: str) -> bool:
    short, params = _short(bench.name), ident[len(bench.name) :]
    return any(e in (short, bench.name, short + params, ident) for e in entries)


def tags(bench, module, ident: str) -> tuple[bool, bool]:
    """(gated at CI's budget, its parallel scaling gated) for one parameter set.

    ``gate = True`` on the benchmark (function, class or module, asv's usual
    attribute lookup) gates every parameter set; ``gate = [(...), ...]`` the
    listed ones.  A module's ``GATE`` list names benchmarks (``Class.time_x``,
    every parameter set) or parameter sets (``Class.time_x(rsi, numba, 2000)``);
    ``GATE_SCALING`` does the same for the scaling measurement.
    """
    from asv_runner.benchmarks._base import _get_first_attr

    current = tuple(bench._current_params)

    def attr(name):
        val = _get_first_attr(bench._attr_sources, name, None)
        if val is True:
            return True
        if isinstance(val, (list, tuple)):
            return current in {tuple(v) for v in val}
        return False

    gated = attr("gate") or _in_list(getattr(module, "GATE", ()), bench, ident)
    scaling = attr("gate_scaling") or _in_list(getattr(module, "GATE_SCALING", ()), bench, ident)
    return gated, scaling


def thread_cpu() -> dict[str, float] | None:
    """CPU seconds of each thread of this process (Numba's and OpenMP's too), by thread id.

    Linux: a thread's CPU clock is ``clock_gettime`` of the clock id the kernel
    derives from its tid (``MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)``), in
    nanoseconds; None where that is not available.
    """
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return None
    out = {}
    for tid in tids:
        try:
            out[tid] = time.clock_gettime(((~int(tid)) << 3) | 6)
        except (OSError, ValueError):
            pass  # the thread ended between the listing and the read
    return out or None


def _error(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


class ChildClock:
    """CPU seconds of every process this one started (Ray's processes, say).

    A benchmark whose work runs in a child costs CPU there, which
    ``time.process_time`` does not see; for a benchmark that sets
    ``gate_children_cpu = True`` the gate adds the children's share.  Read from
    /proc at clock-tick resolution (10 ms), so only for calls long enough for
    that to be small.
    """

    def __init__(self):
        import psutil

        self.me = psutil.Process()
        self.psutil = psutil

    def any(self) -> bool:
        try:
            return bool(self.me.children())
        except self.psutil.Error:
            return False

    def __call__(self) -> float:
        total = 0.0
        try:
            kids = self.me.children(recursive=True)
        except self.psutil.Error:
            return total
        for k in kids:
            try:
                t = k.cpu_times()
                total += t.user + t.system
            except self.psutil.Error:
                pass  # gone between the listing and the read
        return total


class Worker:
    def __init__(self, tree: str):
        self.tree = Path(tree)
        self.benchmarks: dict[str, tuple] = {}  # id -> (asv name, parameter index or None)
        self.caches: dict[str, object] = {}  # setup_cache key -> its value
        self.bench = None
        self.call = None
        self.clock = None
        self.has_children = False

    # -- discovery -------------------------------------------------------------------------
    def op_init(self, msg):
        t0 = time.perf_counter()
        sys.path.insert(0, str(self.tree))
        pkg = importlib.import_module(PKG)
        where = Path(pkg.__file__).resolve().parent.parent
        if where != self.tree.resolve():
            raise RuntimeError(f"imported {PKG} from {where}, not {self.tree}")
        # the engine must import: the suite skips what a commit lacks, never what it broke
        importlib.import_module(PKG + ".scan")
        bdir = self.tree / BENCH_DIR
        if not (bdir / "__init__.py").is_file():
            raise RuntimeError(f"this commit has no {BENCH_DIR}/ package")
        from asv_runner._aux import update_sys_path
        from asv_runner.benchmarks.time import TimeBenchmark
        from asv_runner.discovery import disc_benchmarks

        update_sys_path(str(bdir))
        errors = io.StringIO()
        # asv prints an import error's traceback and carries on; keep it for the report
        with contextlib.redirect_stderr(errors):
            found = [
                b
                for b in disc_benchmarks(str(bdir), ignore_import_errors=True)
                if isinstance(b, TimeBenchmark)
            ]
        listing = []
        for bench in found:
            module = bench._attr_sources[-1]  # asv's sources: [func, (instance,) module]
            combos = range(_n_combos(bench)) if bench._params else [None]
            for idx in combos:
                b = _fresh(bench)
                if idx is not None:
                    b.set_param_idx(idx)
                ident = bench_id(b)
                gated, scaling = tags(b, module, ident)
                self.benchmarks[ident] = (bench.name, idx)
                listing.append({"id": ident, "gate": gated, "scaling": scaling})
        self.clock = ChildClock()
        import_errors = [ln for ln in errors.getvalue().splitlines() if ln.strip()]
        return {
            "benchmarks": listing,
            "load_s": time.perf_counter() - t0,
            "import_errors": import_errors[-20:],
        }

    # -- one benchmark ----------------------------------------------------------------------
    def op_setup(self, msg):
        self._drop()
        name, idx = self.benchmarks[msg["id"]]
        from asv_runner.discovery import get_benchmark_from_name

        bench = get_benchmark_from_name(str(self.tree / BENCH_DIR), name)
        if idx is not None:
            bench.set_param_idx(idx)
        if bench.setup_cache_key is not None:
            if bench.setup_cache_key not in self.caches:
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    self.caches[bench.setup_cache_key] = bench.do_setup_cache()
            bench.set_cache(self.caches[bench.setup_cache_key])
        else:
            bench.set_cache(None)
        said = io.StringIO()
        with contextlib.redirect_stdout(said):
            skipped = bench.do_setup()
        if skipped:
            bench.do_teardown()  # as asv does after a skipped setup
            why = said.getvalue().strip().removeprefix("asv: skipped:").strip() or "skip_params"
            return {"ok": False, "error": f"n/a: {why}"}
        params = bench._build_params()
        self.bench = bench
        self.call = (lambda: bench.func(*params)) if params else bench.func
        from asv_runner.benchmarks._base import _get_first_attr

        # Children's CPU only where the benchmark says its work runs there (Ray's workers):
        # /proc counts it in 10 ms ticks, too coarse beside a 30 ms scan's share in Redis.
        self.has_children = bool(_get_first_attr(bench._attr_sources, "gate_children_cpu", False))
        # two warm calls, setup between as in the samples: compile or cache load, first touch
        self._timed_calls(1, warm=False)
        cpu = self._timed_calls(1, warm=False)["cpu"]
        return {"cpu": cpu, "children": self.has_children}

    def _drop(self):
        if self.bench is not None:
            bench, self.bench, self.call = self.bench, None, None
            bench.do_teardown()

    def op_teardown(self, msg):
        self._drop()
        return {}

    def _timed_calls(self, number: int, warm: bool, threads: bool = False) -> dict[str, float]:
        """Per-call seconds over ``number`` calls: wall and CPU, mean and fastest call.

        CPU is this process's, and its children's where the benchmark sets
        ``gate_children_cpu``; ``proc_cpu`` this process's alone.

        Setup runs before every call (untimed), as asv_runner does for a benchmark
        with a setup.  ``warm``: one untimed call first, because the other worker has
        just run and evicted this one's data from the caches (measured ~40% on
        millisecond kernels, landing on one side or the other round by round).
        ``threads``: also the parallelism of the calls, their CPU time over that
        of their busiest thread (1.0 when one thread did all the work, about the
        thread count when the work was spread evenly), which does not depend on
        whether a neighbour left a core free.
        """
        bench, call = self.bench, self.call
        kids = self.clock if self.has_children else (lambda: 0.0)
        redo = bench.redo_setup if bench._setups else (lambda: None)
        bench._redo_setup_next = True  # so the first call of the sample is set up afresh too
        wall = cpu = tcpu = 0.0
        wall_min = cpu_min = float("inf")
        per_thread: dict[str, float] = {}
        gc.disable()
        try:
            if warm:
                redo()
                call()
            for _ in range(number):
                redo()
                k0 = kids()
                th0 = thread_cpu() if threads else None
                t0, c0 = time.perf_counter(), time.process_time()
                call()
                c1, t1 = time.process_time(), time.perf_counter()
                th1 = thread_cpu() if threads else None
                k1 = kids()
                if th0 and th1:
                    for tid, v in th1.items():
                        per_thread[tid] = per_thread.get(tid, 0.0) + v - th0.get(tid, 0.0)
                wall += t1 - t0
                cpu += c1 - c0
                tcpu += (c1 - c0) + (k1 - k0)
                wall_min, cpu_min = min(wall_min, t1 - t0), min(cpu_min, (c1 - c0) + (k1 - k0))
        finally:
            gc.enable()
        out = {
            "wall": wall / number,
            "proc_cpu": cpu / number,
            "cpu": tcpu / number,
            "wall_min": wall_min,
            "cpu_min": cpu_min,
        }
        if per_thread and max(per_thread.values()) > 0:
            out["parallelism"] = sum(per_thread.values()) / max(per_thread.values())
        return out

    def op_sample(self, msg):
        return self._timed_calls(
            int(msg["number"]),
            warm=bool(msg.get("warm", True)),
            threads=bool(msg.get("threads", False)),
        )

    def op_threads(self, msg):
        import numba

        numba.set_num_threads(int(msg["n"]) if msg["n"] else numba.config.NUMBA_NUM_THREADS)
        return {"threads": numba.get_num_threads(), "max": numba.config.NUMBA_NUM_THREADS}

    def op_freeze(self, msg):
        # One full collection, then freeze what survives: a collection over numba's and
        # pandas' objects takes ~0.1 s, too slow to repeat before every sample.
        gc.collect()
        gc.freeze()
        return {}


def _n_combos(bench) -> int:
    n = 1
    for p in bench._params:
        n *= len(p)
    return n


def _fresh(bench):
    """A copy of a discovered benchmark to set one parameter index on (discovery made one)."""
    import copy

    return copy.copy(bench)


def main(tree: str) -> int:
    # SIGTERM ends the worker through sys.exit, so atexit still stops what the benchmarks
    # started (a redis-server, Ray) when the gate gives up on it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # The protocol owns the real stdout; anything the measured code prints goes to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    worker = Worker(tree)
    try:
        for line in sys.stdin:
            msg = json.loads(line)
            if msg["op"] == "quit":
                break
            try:
                reply = {"ok": True, **getattr(worker, "op_" + msg["op"])(msg)}
            except Exception as exc:
                reply = {"ok": False, "error": _error(exc)}
            proto.write(json.dumps(reply) + "\n")
    finally:
        with contextlib.suppress(Exception):
            worker._drop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
