"""Drive the gate's workers (base, head) in lockstep: every head sample beside a base sample.

For each benchmark every side is set up and warmed, one call count is
calibrated on the head's CPU time for all, then samples alternate base, head,
head, base, ... (ABBA, so neither side always goes first) until the rounds
are done or the benchmark's time is up.  Each worker is a process of its
own, idle on a pipe while the other measures.

The scaling measurement is the same lockstep with two samples per side and
round, one on a single thread and one on all cores (``numba.set_num_threads``
in that worker), in wall time: their ratio is the speedup the parallel code
gets, measured within one process a moment apart, so a neighbour that takes
a core slows both of that side's samples alike, and the other side's pair is
taken right beside it.  The all-core samples also record each thread's CPU
time, whose spread (total over the busiest thread) says whether the work was
shared out at all, whatever the neighbours left of the second core.
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

CLOCK_KEYS = ("wall", "cpu", "proc_cpu", "wall_min", "cpu_min")
OP_TIMEOUT_S = 600.0
MAX_NUMBER = 10_000
MIN_ROUNDS = 5


class WorkerError(RuntimeError):
    """A worker crashed, hung or broke the protocol."""


class WorkerProcess:
    def __init__(self, label: str, tree: Path, env: dict[str, str]):
        self.label = label
        self.tree = tree
        worker = Path(__file__).with_name("worker.py")
        # -I: no user site, no cwd on sys.path, PYTHON* ignored: only the tree gives the code.
        full_env = {**os.environ, **env}
        for k, v in env.items():
            if v is None:
                full_env.pop(k, None)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(worker), str(tree)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
            bufsize=1,
            env=full_env,
            cwd=str(tree),
        )
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.listing: dict[str, dict] = {}

    def call(self, timeout: float = OP_TIMEOUT_S, **msg) -> dict:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerError(f"{self.label} worker is gone (exit {self.proc.poll()})") from None
        if not self.sel.select(timeout):
            self.kill()
            raise WorkerError(
                f"{self.label} worker did not answer {msg['op']!r} within {timeout:.0f} s"
            )
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerError(
                f"{self.label} worker died during {msg['op']!r} (exit {self.proc.wait(10)})"
            )
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(60)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self.sel.close()
        for pipe in (self.proc.stdin, self.proc.stdout):  # else left to the garbage collector
            try:
                pipe.close()
            except OSError:  # a worker that died mid-write leaves a broken stdin
                pass

    def kill(self) -> None:
        # SIGTERM first: the worker then exits through atexit, stopping its servers
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start(
    trees: list[tuple[str, Path]], env: dict, log
) -> tuple[list[WorkerProcess], dict[str, str]]:
    """Start and initialise one worker per tree: (the workers, load errors by label)."""
    workers = [WorkerProcess(label, tree, env) for label, tree in trees]
    errors: dict[str, str] = {}
    try:
        for w in workers[::-1]:  # head first
            t0 = time.perf_counter()
            r = w.call(op="init", ctx={})
            if not r["ok"]:
                errors[w.label] = r["error"]
                continue
            w.listing = {b["id"]: b for b in r["benchmarks"]}
            for line in r.get("import_errors", [])[-3:]:
                log(f"[gate] {w.label}: {line}")
            log(
                f"[gate] {w.label}: {w.tree.name}, {len(w.listing)} benchmarks, "
                f"loaded in {time.perf_counter() - t0:.1f} s"
            )
    except BaseException:
        close(workers)
        raise
    return workers, errors


def close(workers: list[WorkerProcess]) -> None:
    for w in workers:
        w.close()


def _set_up(ident: str, workers: list[WorkerProcess], out: dict) -> list[WorkerProcess]:
    live = []
    for w in workers:
        r = w.call(op="setup", id=ident)
        out["errors"][w.label] = None if r["ok"] else r["error"]
        if r["ok"]:
            live.append(w)
            out.setdefault("probe_cpu", {})[w.label] = r["cpu"]
            out.setdefault("children", {})[w.label] = r.get("children", False)
    return live


def _tear_down(workers: list[WorkerProcess]) -> None:
    for w in workers:
        w.call(op="teardown")


def measure(
    ident: str, workers: list[WorkerProcess], rounds: int, target_s: float, max_s: float, log
) -> dict:
    """CPU and wall seconds a call, ``rounds`` paired samples per side (fewer if time is up)."""
    out = {
        "name": ident,
        "errors": {},
        "number": 0,
        **{k: {w.label: [] for w in workers} for k in CLOCK_KEYS},
    }
    t_setup = time.perf_counter()
    live = _set_up(ident, workers, out)
    try:
        if len(live) < len(workers):
            return out  # a side cannot run it: nothing to compare
        for w in live:
            w.call(op="freeze")
        t1 = max(out["probe_cpu"].values())
        number = max(1, min(MAX_NUMBER, math.ceil(target_s / max(t1, 1e-6))))
        out["number"] = number
        warm = t1 < 0.05  # long calls: the eviction a warm call undoes is small beside them
        t_start = time.perf_counter()
        for r in range(rounds):
            for w in live if r % 2 == 0 else live[::-1]:
                res = w.call(op="sample", number=number, warm=warm)
                if not res["ok"]:
                    out["errors"][w.label] = res["error"]
                    return out
                for k in CLOCK_KEYS:
                    out[k][w.label].append(res[k])
            if r + 1 >= MIN_ROUNDS and time.perf_counter() - t_start > max_s:
                break
        out["seconds"] = time.perf_counter() - t_start
        out["setup_seconds"] = t_start - t_setup
        log(
            f"[gate] {ident:<60} {r + 1} rounds x {number} (~{t1 * 1e3:.2f} ms CPU a call) "
            f"in {out['seconds']:.1f} s"
        )
        return out
    finally:
        _tear_down(live)


def measure_scaling(
    ident: str, workers: list[WorkerProcess], rounds: int, target_s: float, max_s: float, log
) -> dict:
    """Wall seconds a call on one thread and on all, ``rounds`` interleaved pairs per side."""
    out = {
        "name": ident,
        "errors": {},
        "number": 0,
        "kind": "scaling",
        **{k: {w.label: [] for w in workers} for k in ("one", "all", "parallelism")},
    }
    live = _set_up(ident, workers, out)
    try:
        if len(live) < len(workers):
            return out
        threads = {}
        for w in live:
            w.call(op="freeze")
            threads[w.label] = w.call(op="threads", n=0)["max"]
        out["threads"] = threads
        if min(threads.values()) < 2:
            for w in live:
                out["errors"][w.label] = "n/a: one core here: no parallel speedup to measure"
            return out
        # calibrate on a one-thread call of the head
        live[-1].call(op="threads", n=1)
        t1 = live[-1].call(op="sample", number=1, warm=False)["wall"]
        number = max(1, min(MAX_NUMBER, math.ceil(target_s / max(t1, 1e-6))))
        out["number"] = number
        t_start = time.perf_counter()
        for r in range(rounds):
            order = live if r % 2 == 0 else live[::-1]
            for i, w in enumerate(order):
                for key in ("one", "all") if i % 2 == 0 else ("all", "one"):
                    w.call(op="threads", n=1 if key == "one" else 0)
                    res = w.call(op="sample", number=number, warm=True, threads=key == "all")
                    if not res["ok"]:
                        out["errors"][w.label] = res["error"]
                        return out
                    out[key][w.label].append(res["wall"])
                    if key == "all" and "parallelism" in res:
                        out["parallelism"][w.label].append(res["parallelism"])
            if r + 1 >= MIN_ROUNDS and time.perf_counter() - t_start > max_s:
                break
        out["seconds"] = time.perf_counter() - t_start
        log(
            f"[gate] {ident:<60} scaling: {r + 1} rounds x {number} "
            f"(~{t1 * 1e3:.1f} ms a call on one thread) in {out['seconds']:.1f} s"
        )
        return out
    finally:
        for w in live:
            w.call(op="threads", n=0)
        _tear_down(live)
