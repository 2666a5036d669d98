"""Scale on one machine (issue 16): 100,000 symbols x 504 sessions, generated and scanned in blocks.

    python tools/scale_run.py                          # 100,000 symbols: generate (once), scan, report
    python tools/scale_run.py --symbols 20000 --ray    # another size; also scan through a local Ray
    python tools/scale_run.py --dir /big/disk          # where the stores go (default .cache/scale)

Heavy: ~2 GB of OHLCV, ~5 GB on disk with the per-symbol files, bars.parquet
and the panel; minutes.  Not part of CI.  Each scan runs in a new process
(``technic scan``, blocks of ``--block-size`` symbols read as column slices of
the panel), twice, and reports its wall time, seconds per symbol and peak
resident memory (VmHWM of that process), beside the same for the default
universe (5,277 symbols); and each store's size on disk, panel against the
per-symbol Parquet files.  Prints one JSON document; the load average is
recorded before and after each step.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASES = "prefetch,prescreen,vectorized"

# run in the scanning process: the scan, then its own peak resident size
SCAN = """
import json, resource, sys, time
from technic_core.scan import scan
from technic_core.sources import LocalSource
root, phases, block = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
res = scan(LocalSource(root), phases=phases, block_size=block)
wall = time.perf_counter() - t0
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
workers = res.info.get("ray_worker_peak_rss_mb")
print(json.dumps({"wall_s": wall, "symbols": res.n_symbols, "passed": len(res.table),
                  "errors": len(res.errors), "engine": res.info.get("engine"), "blocks": res.info.get("blocks"),
                  "timings": {k: round(v, 3) for k, v in res.timings.items()},
                  "peak_rss_mb": hwm / 1024, "worker_peak_rss_mb": workers}))
"""


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _du_mb(paths) -> float:
    total = 0
    for p in paths:
        p = Path(p)
        if p.is_file():
            total += p.stat().st_size
        elif p.is_dir():
            total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return total / 1e6


def sizes(root: Path) -> dict:
    from technic_core.universe.store import Store

    store = Store(root)
    return {
        "panel_mb": _du_mb([store.file("panel"), store.file("panel_columns")]),
        "symbol_files_mb": float(store.index()["file_size"].sum()) / 1e6,
        "bars_parquet_mb": _du_mb([store.file("bars")]),
        "store_mb": _du_mb([root]),
    }


def generate(root: Path, n: int, bars: int, log, force: bool = False) -> dict:
    t0 = time.perf_counter()
    load = _load()
    env = {**os.environ, "TECHNIC_STORE_FSYNC": "0"}
    cmd = [
        sys.executable,
        "-c",
        "import resource, sys; from technic_core.cli import main; code = main(sys.argv[1:]); "
        "hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')); "
        "print(f'peak_rss_mb={hwm / 1024:.0f}'); sys.exit(code)",
        "data",
        "generate",
        "--symbols",
        str(n),
        "--bars",
        str(bars),
        "--out",
        str(root),
        *(["--force"] if force else []),
    ]
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"generate failed: {p.stderr[-2000:]}")
    log(p.stdout.strip().splitlines()[-2] if p.stdout.strip() else "")
    rss = [line for line in p.stdout.splitlines() if line.startswith("peak_rss_mb=")]
    return {
        "seconds": round(time.perf_counter() - t0, 1),
        "load_before": load,
        "load_after": _load(),
        "peak_rss_mb": float(rss[-1].split("=")[1]) if rss else None,
        "reused": "reusing it" in p.stdout,
    }


def scan_once(root: Path, phases: str, block: int) -> dict:
    load = _load()
    p = subprocess.run(
        [sys.executable, "-c", SCAN, str(root), phases, str(block)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if p.returncode != 0:
        raise SystemExit(f"scan failed: {p.stderr[-2000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["seconds_per_symbol"] = out["wall_s"] / out["symbols"]
    out["load_before"], out["load_after"] = load, _load()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=100_000)
    ap.add_argument("--bars", type=int, default=504)
    ap.add_argument("--block-size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--dir", default=str(ROOT / ".cache" / "scale"))
    ap.add_argument(
        "--ray", action="store_true", help="also scan the large store through a local Ray"
    )
    ap.add_argument(
        "--regenerate", action="store_true", help="generate the large store again (to time it)"
    )
    args = ap.parse_args()

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    report: dict = {"machine_cpus": os.cpu_count(), "block_size": args.block_size, "phases": PHASES}
    for name, n in (("default", 5277), ("large", args.symbols)):
        root = base / f"u{n}x{args.bars}"
        log(f"[{name}] generating {n:,} x {args.bars} into {root} (once; reused after) ...")
        gen = generate(root, n, args.bars, log, force=args.regenerate and name == "large")
        log(f"[{name}] scanning {args.repeat}x in new processes ...")
        runs = [scan_once(root, PHASES, args.block_size) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["wall_s"])
        entry = {
            "symbols": n,
            "generate": gen,
            "scans": runs,
            "best_wall_s": best["wall_s"],
            "best_seconds_per_symbol": best["seconds_per_symbol"],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "size": sizes(root),
        }
        if args.ray and name == "large":
            log(f"[{name}] scanning through a local Ray ...")
            entry["ray"] = scan_once(
                root, PHASES.replace("vectorized", "vectorized,ray"), args.block_size * 4
            )
        report[name] = entry
        log(
            f"[{name}] {best['wall_s']:.2f}s, {best['seconds_per_symbol'] * 1e6:.1f} us/symbol, "
            f"peak RSS {entry['peak_rss_mb']:.0f} MB"
        )
    d, big = report["default"], report["large"]
    report["ratios"] = {
        "seconds_per_symbol_large_over_default": big["best_seconds_per_symbol"]
        / d["best_seconds_per_symbol"],
        "peak_rss_large_over_default": big["peak_rss_mb"] / d["peak_rss_mb"],
        "symbols_large_over_default": big["symbols"] / d["symbols"],
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
