"""Drive two gate workers (base, head) in lockstep: every head sample beside a base sample.

For each benchmark both sides are set up and warmed, one loop count is
calibrated on the head's CPU time for both, then samples alternate base,
head, head, base, ... (ABBA, so neither side always goes first) until the
rounds are done or the benchmark's time is up.  Each worker is a process of
its own, idle on a pipe while the other measures.
"""
from __future__ import annotations

import json
import math
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

SERIES = ("samples", "cpu_samples", "wall_min_samples", "cpu_min_samples")
OP_TIMEOUT_S = 600.0


class WorkerError(RuntimeError):
    """A worker crashed, hung or broke the protocol."""


class WorkerProcess:
    def __init__(self, label: str, tree: Path, env: dict[str, str]):
        self.label = label
        worker = Path(__file__).with_name("gate_worker.py")
        # -I: no user site, no cwd on sys.path, PYTHON* ignored: only the tree gives technic_core.
        self.proc = subprocess.Popen([sys.executable, "-I", str(worker), str(tree)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
                                     text=True, bufsize=1, env={**os.environ, **env},
                                     cwd=str(tree))
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)

    def call(self, timeout: float = OP_TIMEOUT_S, **msg) -> dict:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerError(f"{self.label} worker is gone (exit {self.proc.poll()})") from None
        if not self.sel.select(timeout):
            self.kill()
            raise WorkerError(f"{self.label} worker did not answer {msg['op']!r} within {timeout:.0f} s")
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerError(f"{self.label} worker died during {msg['op']!r} (exit {self.proc.wait(10)})")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self.sel.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def measure(name: str, workers: list[WorkerProcess], rounds: int, target_s: float,
            max_s: float, log) -> dict:
    out = {"name": name, "errors": {}, "number": 0,
           **{k: {w.label: [] for w in workers} for k in SERIES}}
    live = []
    for w in workers:
        r = w.call(op="setup", name=name)
        out["errors"][w.label] = None if r["ok"] else r["error"]
        if r["ok"]:
            live.append(w)
    if len(live) < len(workers):
        return out  # one side cannot run it: nothing to compare
    for w in live:
        w.call(op="freeze")
    # Calibrate on CPU time: on a busy machine wall time overstates a call's cost.
    t1 = live[-1].call(op="probe")["cpu"]
    number = max(1, min(10_000, math.ceil(target_s / max(t1, 1e-6))))
    out["number"] = number
    t_start = time.perf_counter()
    for r in range(rounds):
        for w in (live if r % 2 == 0 else live[::-1]):
            res = w.call(op="sample", number=number)
            if not res["ok"]:
                out["errors"][w.label] = res["error"]
                return out
            for k in SERIES:
                out[k][w.label].append(res[k])
        if time.perf_counter() - t_start > max_s:
            break
    out["seconds"] = time.perf_counter() - t_start
    log(f"[gate] {name:<22} {r + 1} rounds x {number} (~{t1 * 1e3:.2f} ms CPU a call) "
        f"in {out['seconds']:.1f} s")
    return out


def run_pair(trees: list[tuple[str, Path]], ctx: dict, select: list[str] | None, rounds: int,
             target_s: float, max_s: float, env: dict[str, str], log) -> dict:
    """Measure the selected benchmarks on both trees; the last tree is the head."""
    results = {"versions": {label: str(t) for label, t in trees}, "benchmarks": [],
               "load_errors": {}, "backend": ctx.get("backend")}
    workers = [WorkerProcess(label, tree, env) for label, tree in trees]
    try:
        names = workers[-1].call(op="list")["names"]
        if select:
            chosen = [n for n in names if any(n == s or n.startswith(s + ".") for s in select)]
            if not chosen:
                raise WorkerError(f"no gate benchmark matches {select}; known: {names}")
            names = chosen
        backend = ctx.get("backend")
        for w in workers[::-1]:  # head first: it picks the backend when none was asked for
            t0 = time.perf_counter()
            r = w.call(op="init", ctx={**ctx, "backend": backend})
            if not r["ok"]:
                results["load_errors"][w.label] = r["error"]
                continue
            backend = backend or r["backend"]
            log(f"[gate] {w.label}: {results['versions'][w.label]} loaded in "
                f"{time.perf_counter() - t0:.1f} s")
        results["backend"] = backend
        good = [w for w in workers if w.label not in results["load_errors"]]
        if len(good) == len(workers):
            for name in names:
                results["benchmarks"].append(measure(name, good, rounds, target_s, max_s, log))
        else:
            results["benchmarks"] = [{"name": n, "errors": {}} for n in names]
    finally:
        for w in workers:
            w.close()
    return results
