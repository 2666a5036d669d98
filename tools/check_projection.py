"""Check `technic bench`'s sample projection against scanning everything, on any store.

For each per-symbol step (baseline, +prefetch, +prescreen), alternately: one timed run on
the bench's stratified sample, one on every symbol.  Prints the sample's projection with
its 95% interval beside the full runs' median and min-max, and whether they agree (their
intervals overlap, the harness's rule).  On the default universe each full run takes
1.5-5 minutes: `--repeat 2` takes 10-30 minutes.

    python tools/check_projection.py [--universe DIR] [--sample 250] [--repeat 2] [--steps baseline,prefetch]

It also splits the interval's width into its two sources: sampling alone (each run's symbols
resampled within their strata) and run to run (the runs' projections).  `--sample-only`
skips the full runs and shows only that split (a minute on the default universe).
`--costs` prints what the strata are for: each step's per-symbol CPU time by stratum, from
one run on the sample (CPU time, so other jobs on the machine barely move it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from technic_core.bench.projection import SampledRun, SymbolTimer, project
from technic_core.bench.sample import DEFAULT_SAMPLE, sample_source
from technic_core.progress import tracker
from technic_core.scan import scan
from technic_core.sources import open_source

STEPS = {"baseline": "baseline", "prefetch": "prefetch", "prescreen": "prefetch,prescreen"}


def costs(universe: str, step: str, phases: str, smp) -> None:
    scan(universe, phases=phases, symbols=smp.symbols[:20])
    timer = SymbolTimer(clock=time.thread_time)
    scan(universe, phases=phases, symbols=smp.symbols, progress=timer)
    by: dict[str, list[float]] = {}
    for s in smp.symbols:
        by.setdefault(smp.stratum[s], []).append(timer.seconds.get(s, 0.0))
    for key, vals in sorted(by.items()):
        mean = statistics.mean(vals)
        cv = statistics.pstdev(vals) / mean if mean > 0 else 0.0
        print(
            f"{step}: {key:<32} {len(vals):>4} symbols, {1e3 * mean:6.2f} ms CPU a symbol (cv {cv:.2f})",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument(
        "--universe", default=os.environ.get("TECHNIC_DATA", "data/universe"), help="store"
    )
    p.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, help="sample size")
    p.add_argument("--repeat", type=int, default=2, help="sample/full run pairs per step")
    p.add_argument(
        "--steps", default="baseline,prefetch,prescreen", help="comma list of " + ",".join(STEPS)
    )
    p.add_argument(
        "--sample-only", action="store_true", help="no full runs: only the interval's sources"
    )
    p.add_argument("--costs", action="store_true", help="only the per-symbol CPU time by stratum")
    args = p.parse_args(argv)
    with open_source(args.universe) as src:
        smp = sample_source(src, args.sample)
    print(f"sample: {smp.describe()}", flush=True)
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    for step in args.steps.split(","):
        phases = STEPS[step]
        if args.costs:
            costs(args.universe, step, phases, smp)
            continue
        scan(args.universe, phases=phases, symbols=smp.symbols[:20])
        runs, full = [], []
        for r in range(args.repeat):
            timer = SymbolTimer()
            res = scan(args.universe, phases=phases, symbols=smp.symbols, progress=timer)
            runs.append(SampledRun.from_scan(res, timer, smp.symbols))
            if args.sample_only:
                continue
            t0 = time.perf_counter()
            full.append(
                scan(
                    args.universe,
                    phases=phases,
                    progress=tracker(f"{step} full run {r + 1}/{args.repeat}", "sym"),
                ).wall_s
            )
            print(
                f"{step}: pair {r + 1}: sample {res.wall_s:.2f} s, full {full[-1]:.1f} s "
                f"({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
        pr = project(runs, smp)
        alone = [project([r], smp) for r in runs]
        width = statistics.median((a.high - a.low) / a.estimate for a in alone)
        print(
            f"{step}: interval {100 * (pr.high - pr.low) / pr.estimate:.1f}% of the estimate wide; "
            f"sampling alone {100 * width:.1f}% (median over runs); the runs' projections span "
            f"{100 * (max(pr.per_run) - min(pr.per_run)) / pr.estimate:.1f}%",
            flush=True,
        )
        if args.sample_only:
            continue
        agree = pr.low <= max(full) and min(full) <= pr.high
        print(
            f"{step}: projected {pr.estimate:.1f} s ({pr.low:.1f}-{pr.high:.1f}), per run "
            f"{', '.join(f'{x:.1f}' for x in pr.per_run)}; measured {statistics.median(full):.1f} s "
            f"({min(full):.1f}-{max(full):.1f}); error of the estimate "
            f"{100 * (pr.estimate / statistics.median(full) - 1):+.1f}%; "
            f"{'agree' if agree else 'DISAGREE'}",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
