"""The gate's measuring process: two commits' ``technic_core`` in one interpreter, timed in turns.

Run as a script (``python gate_worker.py SPEC.json``), never imported by the
package it measures: it imports ``technic_core`` only from the two trees it
is given.  Each tree's modules are imported with that tree on ``sys.path``
and kept in their own dict; switching versions swaps that dict into
``sys.modules`` (outside the timed region), so the lazy imports a version
makes at call time (``load_backend``) resolve inside that same version.

For each benchmark, both versions are set up and warmed (JIT compiles and
cache loads stay out of the timing), one loop count is calibrated for both,
then samples alternate base, head, head, base, ... so slow drifts of a
shared machine hit both sides alike; the gate compares them round by round.
The collector is off while a sample runs, and the heap is collected and
frozen once per benchmark rather than before each sample.
Only the standard library and NumPy are imported here at module level.
"""
from __future__ import annotations

import gc
import importlib
import json
import math
import sys
import time
import traceback
from pathlib import Path

import numpy as np

PKG = "technic_core"

# The thirteen indicators with SPEC's parameters: name -> (input fields, kwargs).
INDICATOR_CALLS = {
    "sma": (("close",), {"timeperiod": 20}),
    "ema": (("close",), {"timeperiod": 21}),
    "rsi": (("close",), {"timeperiod": 14}),
    "macd": (("close",), {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}),
    "bbands": (("close",), {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0}),
    "atr": (("high", "low", "close"), {"timeperiod": 14}),
    "stoch": (("high", "low", "close"), {"fastk_period": 14, "slowk_period": 3, "slowd_period": 3}),
    "adx": (("high", "low", "close"), {"timeperiod": 14}),
    "obv": (("close", "volume"), {}),
    "roc": (("close",), {"timeperiod": 10}),
    "willr": (("high", "low", "close"), {"timeperiod": 14}),
    "cci": (("high", "low", "close"), {"timeperiod": 14}),
    "mfi": (("high", "low", "close", "volume"), {"timeperiod": 14}),
}
FIELDS = ("open", "high", "low", "close", "volume")


class Version:
    """One commit's ``technic_core``: its modules, swapped into ``sys.modules`` on demand."""

    def __init__(self, label: str, tree: str):
        self.label, self.tree = label, tree
        self.modules: dict[str, object] = {}

    @staticmethod
    def _ours(name: str) -> bool:
        return name == PKG or name.startswith(PKG + ".")

    def __enter__(self):
        for k in [k for k in sys.modules if self._ours(k)]:
            del sys.modules[k]
        sys.modules.update(self.modules)
        return self

    def __exit__(self, *exc):
        self.modules = {k: v for k, v in sys.modules.items() if self._ours(k)}

    def load(self) -> None:
        with self:
            sys.path.insert(0, self.tree)
            importlib.invalidate_caches()
            try:
                pkg = importlib.import_module(PKG)
                importlib.import_module(PKG + ".indicators")
                importlib.import_module(PKG + ".scan")
            finally:
                sys.path.remove(self.tree)
            where = Path(pkg.__file__).resolve().parent.parent
            if where != Path(self.tree).resolve():
                raise RuntimeError(f"{self.label}: imported {PKG} from {where}, not {self.tree}")

    def module(self, name: str):
        return importlib.import_module(f"{PKG}.{name}")


# -- the curated benchmarks: each makes a zero-argument callable for one version -------------

def _kernel(name: str):
    """One indicator straight from the backend module: the kernel, no validation around it."""
    def make(v: Version, ctx: dict):
        mod = v.module("indicators.registry").load_backend(ctx["backend"])
        fields, kwargs = INDICATOR_CALLS[name]
        args = [ctx["arrays"][f] for f in fields]
        func = getattr(mod, name)
        return lambda: func(*args, **kwargs)
    return make


def _full_set(v: Version, ctx: dict):
    """All thirteen through the public API (validation and backend choice included)."""
    ind = v.module("indicators")
    calls = [(getattr(ind, name), [ctx["arrays"][f] for f in fields], kwargs)
             for name, (fields, kwargs) in INDICATOR_CALLS.items()]
    backend = ctx["backend"]

    def run():
        for func, args, kwargs in calls:
            func(*args, backend=backend, **kwargs)
    return run


def _fused(v: Version, ctx: dict):
    mod = v.module("indicators.registry").load_backend(ctx["backend"])
    fused = getattr(mod, "fused_indicators", None)
    if fused is None:
        raise NotImplementedError(f"backend {ctx['backend']!r} has no fused_indicators here")
    args = [ctx["arrays"][f] for f in FIELDS]
    return lambda: fused(*args)


def _scan_vectorized(v: Version, ctx: dict):
    scan = v.module("scan.pipeline").scan
    store, backend = ctx["store"], ctx["backend"]
    return lambda: scan(store, phases="prefetch,prescreen,vectorized", backend=backend, strict=True)


def _scan_baseline(v: Version, ctx: dict):
    scan = v.module("scan.pipeline").scan
    store, symbols = ctx["store"], ctx["baseline_symbols"]
    return lambda: scan(store, phases="baseline", symbols=symbols)


def benchmarks(selected: list[str] | None) -> list[tuple[str, object]]:
    every = [(f"kernel.{n}", _kernel(n)) for n in INDICATOR_CALLS]
    every += [("indicators.full_set", _full_set), ("indicators.fused", _fused),
              ("scan.vectorized", _scan_vectorized),
              ("scan.baseline", _scan_baseline)]
    if not selected:
        return every
    chosen = [b for b in every if any(b[0] == s or b[0].startswith(s + ".") for s in selected)]
    if not chosen:
        raise SystemExit(f"no gate benchmark matches {selected}; known: {[b[0] for b in every]}")
    return chosen


def _error(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _sample(v: Version, fn, number: int) -> dict[str, float]:
    """Per-call seconds over ``number`` calls: mean and fastest, wall and process CPU."""
    walls, cpus = [], []
    with v:
        gc.disable()
        try:
            for _ in range(number):
                c0, t0 = time.process_time(), time.perf_counter()
                fn()
                t1, c1 = time.perf_counter(), time.process_time()
                walls.append(t1 - t0)
                cpus.append(c1 - c0)
        finally:
            gc.enable()
    return {"samples": sum(walls) / number, "cpu_samples": sum(cpus) / number,
            "wall_min_samples": min(walls), "cpu_min_samples": min(cpus)}


SERIES = ("samples", "cpu_samples", "wall_min_samples", "cpu_min_samples")


def measure(name: str, make, versions: list[Version], ctx: dict, rounds: int, target_s: float,
            max_s: float, log) -> dict:
    fns: dict[str, object] = {}
    errors: dict[str, str | None] = {v.label: None for v in versions}
    for v in versions:
        try:
            with v:
                fn = make(v, ctx)
                fn()
                fn()  # two warm calls: compile, caches, first-touch of memory
            fns[v.label] = fn
        except NotImplementedError as exc:
            errors[v.label] = f"n/a: {exc}"
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith(PKG + "."):
                errors[v.label] = _error(exc)
            else:  # a module this commit does not have yet (a backend not written): not built
                errors[v.label] = f"n/a: {exc.name} is not in this commit"
        except Exception as exc:
            errors[v.label] = _error(exc)
    out = {"name": name, "errors": errors, "number": 0,
           **{k: {v.label: [] for v in versions} for k in SERIES}}
    live = [v for v in versions if v.label in fns]
    if not live:
        return out
    # One full collection, then freeze what survives: a collection over numba's and
    # pandas' objects takes ~0.1 s, too slow to repeat before every sample, and with
    # the heap frozen the collector has nothing left to do during the rounds.
    gc.collect()
    gc.freeze()
    probe = live[-1]
    # Calibrate on CPU time: on a busy machine wall time overstates a call's cost, and
    # samples would hold too few calls to average out.
    t1 = min(_sample(probe, fns[probe.label], 1)["cpu_samples"] for _ in range(3))
    number = max(1, min(10_000, math.ceil(target_s / max(t1, 1e-6))))
    out["number"] = number
    t_start = time.perf_counter()
    deadline = t_start + max_s
    for r in range(rounds):
        order = live if r % 2 == 0 else live[::-1]
        for v in order:
            try:
                for k, x in _sample(v, fns[v.label], number).items():
                    out[k][v.label].append(x)
            except Exception as exc:
                errors[v.label] = _error(exc)
                live = [x for x in live if x is not v]
                break
        if time.perf_counter() > deadline or len(live) < len(versions):
            break
    out["seconds"] = time.perf_counter() - t_start
    log(f"[gate] {name:<22} {len(out['samples'][versions[-1].label])} rounds x {number} "
        f"(~{t1 * 1e3:.2f} ms a call) in {out['seconds']:.1f} s")
    return out


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    versions = [Version(label, tree) for label, tree in spec["trees"]]
    results = {"versions": {v.label: v.tree for v in versions}, "benchmarks": [], "load_errors": {}}
    for v in versions:
        try:
            t0 = time.perf_counter()
            v.load()
            log(f"[gate] loaded {v.label} from {v.tree} in {time.perf_counter() - t0:.1f}s")
        except Exception as exc:
            results["load_errors"][v.label] = _error(exc)
    good = [v for v in versions if v.label not in results["load_errors"]]
    backend = spec.get("backend")
    if backend is None and good:
        with good[-1] as head:  # the head's fastest CPU backend, used for both
            backend = head.module("indicators").default_backend()
    results["backend"] = backend
    ctx = {
        "arrays": {f: np.load(Path(spec["arrays"]) / f"{f}.npy") for f in FIELDS},
        "store": spec["store"],
        "backend": backend,
        "baseline_symbols": spec["baseline_symbols"],
    }
    if good:
        for name, make in benchmarks(spec.get("select")):
            results["benchmarks"].append(
                measure(name, make, good, ctx, spec["rounds"], spec["target_s"], spec["max_s"], log))
    Path(spec["out"]).write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
