"""Issue 16's figures in one run, on the default universe: the asv suites' own cases, interleaved.

    python tools/measure_data_path.py                  # every figure, --repeat 7
    python tools/measure_data_path.py --only rescan    # one group: load, scan, cli, rescan, advance, size

Uses ``benchmarks/bench_panel.py`` and ``benchmarks/bench_rescan.py`` (the same
stores, the same timed code) but times both sides of each comparison
alternately in one process, ``--repeat`` rounds, and prints medians and
minima (milliseconds unless said), wall and CPU time, with the load average
before and after, as JSON.  asv runs the same cases for the record:
``asv run --python=same --bench 'bench_panel|bench_rescan'``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _stats(runs: list[tuple[float, float]]) -> dict:
    wall = [r[0] * 1e3 for r in runs]
    cpu = [r[1] * 1e3 for r in runs]
    return {
        "median_ms": round(statistics.median(wall), 2),
        "min_ms": round(min(wall), 2),
        "cpu_median_ms": round(statistics.median(cpu), 2),
        "runs": len(runs),
    }


def _timed(fn) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def interleaved(cases: dict, repeat: int) -> dict:
    runs = {k: [] for k in cases}
    for _ in range(repeat):
        for k, fn in cases.items():
            runs[k].append(_timed(fn))
    return {k: _stats(v) for k, v in runs.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument(
        "--only", choices=("load", "scan", "cli", "rescan", "advance", "size"), action="append"
    )
    args = ap.parse_args()
    want = set(args.only or ("load", "scan", "cli", "rescan", "advance", "size"))
    from benchmarks import bench_panel as P
    from benchmarks import bench_rescan as R

    out: dict = {"load_before": os.getloadavg(), "cpus": os.cpu_count()}

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    if "load" in want:
        log("loading all OHLCV, panel and Parquet ...")
        cases = {}
        for src in P.SOURCES:
            b = P.LoadAll()
            b.setup(src)
            cases[src] = lambda b=b, src=src: b.time_load_all_ohlcv(src)
        out["load_all_ohlcv"] = interleaved(cases, args.repeat)
    if "scan" in want:
        log("full local scan, warm process, panel and Parquet ...")
        cases = {}
        for src in P.SOURCES:
            b = P.FullScan()
            b.setup(src)
            cases[src] = lambda b=b, src=src: b.time_full_scan(src)
        out["full_scan_warm"] = interleaved(cases, args.repeat)
    if "cli" in want:
        log("cold CLI scans (new processes) ...")
        b = P.ColdCli()
        b.setup()
        walls = [b._run() for _ in range(max(3, args.repeat // 2))]
        out["cold_cli_scan_s"] = {
            "median": round(statistics.median(walls), 3),
            "min": round(min(walls), 3),
            "runs": len(walls),
        }
    if "rescan" in want:
        log("rescans after one new session, memory and Redis ...")
        cases, suites = {}, []
        for st in ("memory", "redis"):
            b = R.Rescan()
            b.setup(st)
            suites.append((b, st))
            cases[st] = lambda b=b: b._rescan()
        try:
            out["rescan_one_session"] = interleaved(cases, args.repeat)
            out["rescan_stage_ms"] = {
                st: {k: round(v * 1e3, 2) for k, v in b.live.result.timings.items()}
                for b, st in suites
            }
        finally:
            for b, st in suites:
                b.teardown(st)
    if "advance" in want:
        log("state advance against TA-Lib streams (building the handles takes a minute) ...")
        b = R.Advance()
        b.setup()
        runs = [b._round() for _ in range(max(args.repeat, 30))]
        ours = [r[0] * 1e3 for r in runs]
        talib = [r[1] * 1e3 for r in runs]
        out["advance_one_bar"] = {
            "symbols": b.n,
            "state_median_ms": round(statistics.median(ours), 3),
            "state_min_ms": round(min(ours), 3),
            "talib_streams_median_ms": round(statistics.median(talib), 2),
            "talib_streams_min_ms": round(min(talib), 2),
            "speedup_median": round(statistics.median(talib) / statistics.median(ours), 1),
        }
    if "size" in want:
        b = P.StoreSize()
        b.setup()
        out["size_mb"] = {
            "panel": round(b.track_panel_mb(), 1),
            "symbol_files": round(b.track_symbol_files_mb(), 1),
            "bars_parquet": round(b.track_bars_parquet_mb(), 1),
        }
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
