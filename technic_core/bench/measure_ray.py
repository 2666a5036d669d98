"""Measure the block engines: in-process (one block, or blocks) vs local Ray.

Every case runs in a fresh Python process, so imports, Ray's start and peak
memory belong to that case alone::

    python -m technic_core.bench.measure_ray cases --stores data/u5277 data/u20000 data/u50000 \\
        --block-size 2048 --repeat 3 --out reports/ray-cases.json
    python -m technic_core.bench.measure_ray overhead --store data/u5277 --sizes 64 256 1024 2048
    python -m technic_core.bench.measure_ray blocksize --store data/u5277 --sizes 128 512 2048 all

Peak memory: the scanning process's own peak RSS (VmHWM, reset after
imports), Ray workers' peaks as they report them, and the sum of RSS over
this process and all its descendants (Ray's daemons and workers) sampled
every 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout holding technic_core
PHASES = "prefetch,prescreen,vectorized"


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key))


class TreeSampler(threading.Thread):
    """Peak of the summed RSS of this process and its descendants."""

    def __init__(self, every: float = 0.05):
        super().__init__(daemon=True)
        import psutil

        self.me, self.every, self.peak, self.stop = psutil.Process(), every, 0, threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            total = 0
            for p in [self.me, *self.me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.every)


def run_case(store: str, mode: str, block_size: str, backend: str, ray_cpus: int | None) -> dict:
    """One scan in this process; ``mode`` is inproc or ray."""
    from technic_core.scan import scan

    size = None if block_size == "all" else block_size if block_size == "auto" else int(block_size)
    phases = PHASES + (",ray" if mode == "ray" else "")
    if mode == "ray" and ray_cpus:
        import ray

        t0 = time.perf_counter()
        ray.init(
            num_cpus=ray_cpus, include_dashboard=False, log_to_driver=False, logging_level="WARNING"
        )
        started = time.perf_counter() - t0
        from technic_core.scan.phases.ray_phase import open_session, warm_up

        warm_up(open_session(), backend)  # what a scan that starts its own Ray does
    from technic_core.universe import Store

    few = list(Store(store).universe()["symbol"][:20])
    scan(
        store, phases=PHASES, backend=backend, block_size=8, symbols=few
    )  # imports and JIT, not timed
    rss0 = _status_kb("VmRSS:")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    sampler = TreeSampler()
    sampler.start()
    t0, c0 = time.perf_counter(), time.process_time()
    res = scan(store, phases=phases, backend=backend, block_size=size)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    sampler.stop.set()
    sampler.join()
    out = {
        "store": store,
        "mode": mode,
        "block_size": block_size,
        "backend": res.backend,
        "n_symbols": res.n_symbols,
        "passed": len(res.table),
        "bars": int(Store(store).meta.get("max_bars", 0)),
        "scan_s": res.timings["total"],
        "call_s": wall,
        "driver_cpu_s": cpu,
        "cpu_s": cpu + res.info.get("ray_task_cpu_s", 0.0),
        "load1": os.getloadavg()[0],
        "stages": {k: v for k, v in res.timings.items() if k != "total"},
        "rss_before_mb": rss0 / 1024,
        "driver_peak_mb": _status_kb("VmHWM:") / 1024,
        "tree_peak_mb": sampler.peak / 2**20,
        "info": {k: v for k, v in res.info.items() if not k.startswith("_")},
    }
    where = res.info.get("_blocks_where", [])
    if where:
        out["task_s"] = [w["task_s"] for w in where]
    if mode == "ray" and ray_cpus:
        import ray

        out["info"]["ray_start_s"] = started
        ray.shutdown()
    return out


def _spawn(store, mode, block_size, backend, ray_cpus=None) -> dict:
    cmd = [sys.executable, __file__, "case", store, mode, str(block_size), "--backend", backend]
    if ray_cpus:
        cmd += ["--ray-cpus", str(ray_cpus)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median(runs: list[dict], key: str, sub: str | None = None) -> float:
    vals = [r[key] if sub is None else r[sub].get(key, 0.0) for r in runs]
    return statistics.median(vals)


def cmd_cases(args) -> None:
    rows = []
    for store in args.stores:
        for mode, size in (
            ("inproc", "all"),
            ("inproc", args.block_size),
            ("ray", args.block_size),
        ):
            runs = [_spawn(store, mode, size, args.backend) for _ in range(args.repeat)]
            row = {
                "store": store,
                "mode": mode,
                "block_size": size,
                "n_symbols": runs[0]["n_symbols"],
                "bars": runs[0]["bars"],
                "runs": runs,
                "scan_s": _median(runs, "scan_s"),
                "cpu_s": _median(runs, "cpu_s"),
                "load1": _median(runs, "load1"),
                "driver_peak_mb": _median(runs, "driver_peak_mb"),
                "tree_peak_mb": _median(runs, "tree_peak_mb"),
                "rss_before_mb": _median(runs, "rss_before_mb"),
            }
            if mode == "ray":
                for k in (
                    "ray_start_s",
                    "ray_warmup_s",
                    "ray_shutdown_s",
                    "ray_wall_s",
                    "ray_task_s",
                    "ray_idle_pct",
                    "ray_worker_peak_rss_mb",
                    "ray_tasks",
                    "ray_task_cpu_s",
                ):
                    row[k] = _median(runs, k, "info")
            rows.append(row)
            print(_line(row), flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=1))


def _line(r: dict) -> str:
    s = (
        f"{r['store']:>14} {r['mode']:>6} bs={r['block_size']:>5} N={r['n_symbols']:>6} "
        f"scan {r['scan_s']:7.2f}s cpu {r['cpu_s']:7.2f}s (load {r['load1']:.1f})  driver peak {r['driver_peak_mb']:7.0f} MB "
        f"(+{r['driver_peak_mb'] - r['rss_before_mb']:6.0f})  all procs {r['tree_peak_mb']:7.0f} MB"
    )
    if r["mode"] == "ray":
        s += (
            f"  | start {r['ray_start_s']:.2f}s warm {r['ray_warmup_s']:.2f}s stop {r['ray_shutdown_s']:.2f}s"
            f" tasks {r['ray_tasks']:.0f} idle {r['ray_idle_pct']:.1f}% worker peak "
            f"{r['ray_worker_peak_rss_mb']:.0f} MB"
        )
    return s


def _noop(x):
    return x


def noop_cost(n: int = 300) -> dict:
    """Round trip of an empty task, one after another and all at once, on a 1-CPU local Ray."""
    import ray

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    try:
        f = ray.remote(num_cpus=1, max_retries=3, scheduling_strategy="SPREAD")(_noop)
        ray.get([f.remote(0) for _ in range(20)])
        t0 = time.perf_counter()
        for i in range(n):
            ray.get(f.remote(i))
        serial = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        ray.get([f.remote(i) for i in range(n)])
        batch = (time.perf_counter() - t0) / n
    finally:
        ray.shutdown()
    return {"serial_ms": serial * 1e3, "batched_ms": batch * 1e3}


def cmd_overhead(args) -> None:
    """Ray on one CPU runs tasks one after another: wall minus time inside tasks is overhead."""
    noop = json.loads(
        subprocess.run(
            [sys.executable, __file__, "noop"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    print(
        f"empty task: {noop['serial_ms']:.2f} ms one at a time, {noop['batched_ms']:.2f} ms each "
        "when submitted together",
        flush=True,
    )
    rows = [{"noop": noop}]
    for size in args.sizes:
        runs = [
            _spawn(args.store, "ray", size, args.backend, ray_cpus=1) for _ in range(args.repeat)
        ]
        per = []
        for r in runs:
            n = r["info"]["ray_tasks"]
            per.append(
                (
                    (r["info"]["ray_wall_s"] - r["info"]["ray_task_s"]) / n,
                    r["info"]["ray_task_s"] / n,
                )
            )
        over = statistics.median(p[0] for p in per)
        task = statistics.median(p[1] for p in per)
        inproc = [_spawn(args.store, "inproc", size, args.backend) for _ in range(args.repeat)]
        row = {
            "block_size": size,
            "tasks": runs[0]["info"]["ray_tasks"],
            "overhead_ms": over * 1e3,
            "task_ms": task * 1e3,
            "overhead_pct": 100 * over / task,
            "ray1_scan_s": _median(runs, "scan_s"),
            "inproc_scan_s": _median(inproc, "scan_s"),
        }
        rows.append(row)
        print(
            f"block {size:>5}: {row['tasks']:>4} tasks, compute {row['task_ms']:8.1f} ms/task, overhead "
            f"{row['overhead_ms']:6.2f} ms/task = {row['overhead_pct']:5.2f}%  | scan: Ray(1 CPU) "
            f"{row['ray1_scan_s']:.2f}s, in-process {row['inproc_scan_s']:.2f}s",
            flush=True,
        )
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


def cmd_blocksize(args) -> None:
    for size in args.sizes:
        runs = [_spawn(args.store, "inproc", size, args.backend) for _ in range(args.repeat)]
        stages = {
            k: statistics.median(r["stages"].get(k, 0.0) for r in runs)
            for k in ("fetch", "indicators", "scoring")
        }
        print(
            f"block {size:>5}: scan {_median(runs, 'scan_s'):6.2f}s cpu {_median(runs, 'cpu_s'):6.2f}s "
            f"(load {_median(runs, 'load1'):.1f})  "
            + "  ".join(f"{k} {v:.2f}s" for k, v in stages.items())
            + f"  peak +{statistics.median(r['driver_peak_mb'] - r['rss_before_mb'] for r in runs):.0f} MB",
            flush=True,
        )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("case")
    c.add_argument("store")
    c.add_argument("mode", choices=["inproc", "ray"])
    c.add_argument("block_size")
    c.add_argument("--backend", default="talib")
    c.add_argument("--ray-cpus", type=int)
    sub.add_parser("noop")
    for name in ("cases", "overhead", "blocksize"):
        s = sub.add_parser(name)
        s.add_argument("--backend", default="talib")
        s.add_argument("--repeat", type=int, default=3)
        s.add_argument("--out")
        if name == "cases":
            s.add_argument("--stores", nargs="+", required=True)
            s.add_argument("--block-size", default="2048")
        else:
            s.add_argument("--store", required=True)
            s.add_argument("--sizes", nargs="+", required=True)
    args = p.parse_args()
    if args.cmd == "noop":
        print(json.dumps(noop_cost()))
    elif args.cmd == "case":
        print(
            json.dumps(
                run_case(args.store, args.mode, args.block_size, args.backend, args.ray_cpus)
            )
        )
    else:
        {"cases": cmd_cases, "overhead": cmd_overhead, "blocksize": cmd_blocksize}[args.cmd](args)


if __name__ == "__main__":
    main()
