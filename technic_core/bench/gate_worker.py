"""One side of the gate: one commit's ``technic_core`` in its own process, timing on command.

Run as a script (``python -I gate_worker.py TREE``), never imported by the
package it measures: it imports ``technic_core`` from TREE only.  The gate
starts one worker per commit and drives both over pipes (one JSON object a
line), so that a base sample and a head sample are always taken back to back:

    {"op": "list"}                      -> {"ok": true, "names": [...]}
    {"op": "init", "ctx": {...}}        -> {"ok": true, "backend": "numba"}
    {"op": "setup", "name": "kernel.rsi"} -> {"ok": true} | {"ok": false, "error": "n/a: ..."}
    {"op": "probe"}                     -> {"ok": true, "cpu": seconds a call}
    {"op": "freeze"}                    -> {"ok": true}
    {"op": "sample", "number": n}       -> {"ok": true, "samples": ..., "cpu_samples": ...}
    {"op": "quit"}

Two processes rather than two versions in one: each keeps its own Numba
cache and compiled code (two copies of one module in one process collide in
Numba's symbol names), and neither version's state can leak into the other.
Only the standard library and NumPy are imported at module level.
"""
from __future__ import annotations

import gc
import importlib
import json
import os
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


def _module(name: str):
    return importlib.import_module(f"{PKG}.{name}")


# -- the curated benchmarks: each makes a zero-argument callable --------------------------------

def _kernel(name: str):
    """One indicator straight from the backend module: the kernel, no validation around it."""
    def make(ctx: dict):
        mod = _module("indicators.registry").load_backend(ctx["backend"])
        fields, kwargs = INDICATOR_CALLS[name]
        args = [ctx["arrays"][f] for f in fields]
        func = getattr(mod, name)
        return lambda: func(*args, **kwargs)
    return make


def _full_set(ctx: dict):
    """All thirteen through the public API (validation and backend choice included)."""
    ind = _module("indicators")
    calls = [(getattr(ind, name), [ctx["arrays"][f] for f in fields], kwargs)
             for name, (fields, kwargs) in INDICATOR_CALLS.items()]
    backend = ctx["backend"]

    def run():
        for func, args, kwargs in calls:
            func(*args, backend=backend, **kwargs)
    return run


def _fused(ctx: dict):
    mod = _module("indicators.registry").load_backend(ctx["backend"])
    fused = getattr(mod, "fused_indicators", None)
    if fused is None:
        raise NotImplementedError(f"backend {ctx['backend']!r} has no fused_indicators here")
    args = [ctx["arrays"][f] for f in FIELDS]
    return lambda: fused(*args)


def _scan_vectorized(ctx: dict):
    scan = _module("scan.pipeline").scan
    store, backend = ctx["store"], ctx["backend"]
    return lambda: scan(store, phases="prefetch,prescreen,vectorized", backend=backend, strict=True)


def _scan_baseline(ctx: dict):
    scan = _module("scan.pipeline").scan
    store, symbols = ctx["store"], ctx["baseline_symbols"]
    return lambda: scan(store, phases="baseline", symbols=symbols)


BENCHMARKS = {
    **{f"kernel.{n}": _kernel(n) for n in INDICATOR_CALLS},
    "indicators.full_set": _full_set,
    "indicators.fused": _fused,
    "scan.vectorized": _scan_vectorized,
    "scan.baseline": _scan_baseline,
}


def _error(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _sample(fn, number: int) -> dict[str, float]:
    """Per-call seconds over ``number`` calls: mean and fastest, wall and process CPU.

    One untimed call first: the other worker has just run and evicted this one's
    data from the caches, and without it the first timed call of every sample pays
    for that (measured: ~40% on the millisecond kernels, and with base and head
    taking turns it lands on one side or the other, round by round).
    """
    walls, cpus = [], []
    gc.disable()
    try:
        fn()
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


class Worker:
    def __init__(self, tree: str):
        self.tree = tree
        self.ctx: dict = {}
        self.fn = None

    def op_list(self, msg):
        return {"names": list(BENCHMARKS)}

    def op_init(self, msg):
        t0 = time.perf_counter()
        sys.path.insert(0, self.tree)
        pkg = importlib.import_module(PKG)
        where = Path(pkg.__file__).resolve().parent.parent
        if where != Path(self.tree).resolve():
            raise RuntimeError(f"imported {PKG} from {where}, not {self.tree}")
        _module("scan")
        ctx = dict(msg["ctx"])
        if ctx.get("backend") is None:  # the head's fastest CPU backend, then used for both
            ctx["backend"] = _module("indicators").default_backend()
        ctx["arrays"] = {f: np.load(Path(ctx["arrays"]) / f"{f}.npy") for f in FIELDS}
        self.ctx = ctx
        return {"backend": ctx["backend"], "load_s": time.perf_counter() - t0}

    def op_setup(self, msg):
        self.fn = None
        try:
            fn = BENCHMARKS[msg["name"]](self.ctx)
            fn()
            fn()  # two warm calls: compile or cache load, first touch of memory
        except NotImplementedError as exc:
            return {"ok": False, "error": f"n/a: {exc}"}
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith(PKG + "."):
                raise
            # a module this commit does not have (a backend not written yet): not built
            return {"ok": False, "error": f"n/a: {exc.name} is not in this commit"}
        self.fn = fn
        return {}

    def op_probe(self, msg):
        return {"cpu": min(_sample(self.fn, 1)["cpu_samples"] for _ in range(3))}

    def op_freeze(self, msg):
        # One full collection, then freeze what survives: a collection over numba's and
        # pandas' objects takes ~0.1 s, too slow to repeat before every sample.
        gc.collect()
        gc.freeze()
        return {}

    def op_sample(self, msg):
        return _sample(self.fn, int(msg["number"]))


def main(tree: str) -> int:
    # The protocol owns the real stdout; anything the measured code prints goes to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    worker = Worker(tree)
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["op"] == "quit":
            break
        try:
            reply = {"ok": True, **getattr(worker, "op_" + msg["op"])(msg)}
        except Exception as exc:
            reply = {"ok": False, "error": _error(exc)}
        proto.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
