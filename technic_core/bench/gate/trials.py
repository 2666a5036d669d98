"""Measure the gate: run ``technic gate`` N times for one (base, head) pair, count verdicts.

    python -m technic_core.bench.gate_trials --base X --head X --runs 10 --out reports/gate-trials/self
    python -m technic_core.bench.gate_trials --base X --head PLANTED --runs 10 --out reports/gate-trials/plant

Each run is a separate ``technic gate`` process (as CI would run it); its
JSON (rows and raw samples) is kept, so other decision rules can be replayed
on the same samples with ``--replay DIR --factor F``.
"""
from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import time
from pathlib import Path

from technic_core.bench.gate_stats import compare_entry, decide


def replay(out: Path, factor: float, min_agree: float, clock: str) -> collections.Counter:
    verdicts: collections.Counter = collections.Counter()
    for f in sorted(out.glob("run-*.json")):
        res = json.loads(f.read_text())["raw"]
        rows = [compare_entry(e, factor, min_agree=min_agree, clock=clock) for e in res["benchmarks"]]
        code = decide(rows, res.get("load_errors"))
        verdicts[code] += 1
        worst = max((r for r in rows if r.ratio), key=lambda r: r.ratio)
        print(f"{f.name}: exit {code}; worst {worst.name} {worst.ratio:.3f} "
              f"(IQR {worst.ratio_q1:.2f}-{worst.ratio_q3:.2f})")
    return verdicts


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base")
    ap.add_argument("--head")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--out", required=True)
    ap.add_argument("--factor", type=float, default=None)
    ap.add_argument("--min-agree", type=float, default=0.6)
    ap.add_argument("--clock", default="cpu")
    ap.add_argument("--replay", action="store_true", help="re-decide saved runs, measure nothing")
    ap.add_argument("gate_args", nargs="*", help="more arguments for technic gate (after --)")
    a = ap.parse_args()
    out = Path(a.out)
    if a.replay:
        print(dict(replay(out, a.factor or 1.2, a.min_agree, a.clock)))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    codes = collections.Counter()
    for i in range(a.runs):
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "technic_core", "gate", "--base", a.base, "--head", a.head,
               "--json", str(out / f"run-{i:02d}.json"), "--quiet", *a.gate_args]
        if a.factor:
            cmd += ["--factor", str(a.factor)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200,
                              cwd=Path(__file__).resolve().parent.parent)
        codes[proc.returncode] += 1
        (out / f"run-{i:02d}.txt").write_text(proc.stdout + proc.stderr)
        worst = ""
        if (out / f"run-{i:02d}.json").is_file():
            rows = json.loads((out / f"run-{i:02d}.json").read_text())["rows"]
            rated = [r for r in rows if r["ratio"] is not None]
            if rated:
                w = max(rated, key=lambda r: r["ratio"])
                worst = f"worst {w['name']} {w['ratio']:.3f}"
        print(f"run {i + 1}/{a.runs}: exit {proc.returncode} in {time.perf_counter() - t0:.0f} s; {worst}",
              flush=True)
    print(f"exit codes over {a.runs} runs: {dict(sorted(codes.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
