"""The Numba kernels on column-major input: would reading a pandas frame in place beat copying it?

    python tools/kernel_layout_cost.py [--symbols 5277] [--rounds 9]

A wide pandas or polars frame keeps each symbol's column contiguous: a column-major
``(T, N)`` array.  Numba compiles the same kernel for either layout, so this times
``sma``, ``ema`` and ``rsi`` (one thread, the whole panel) on the row-major array and on
its column-major copy, alternately, and prints the medians and their ratio (the outputs
are checked equal).  docs/api.md quotes it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from technic_core.indicators.kernels import numba_kernels as K  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=5277)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args(argv)
    t_, n = 504, args.symbols
    rng = np.random.default_rng(0)
    xc = np.ascontiguousarray(100 + np.cumsum(rng.normal(size=(t_, n)), axis=0))
    xf = np.asfortranarray(xc)
    starts = np.zeros(n, np.int64)
    oc, of = np.empty((t_, n)), np.empty((t_, n), order="F")
    print(f"{n} symbols x {t_} bars, one thread; load {os.getloadavg()[0]:.1f}")
    for name, p in (("sma", 20), ("ema", 21), ("rsi", 14)):
        f = getattr(K, name)
        f(xc, p, starts, oc, 0, n, 64)  # compile / load both layouts outside the timing
        f(xf, p, starts, of, 0, n, 64)
        if not np.array_equal(oc, of, equal_nan=True):
            raise SystemExit(f"{name}: the layouts disagree")
        tc, tf = [], []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            f(xc, p, starts, oc, 0, n, 64)
            t1 = time.perf_counter()
            f(xf, p, starts, of, 0, n, 64)
            tc.append(t1 - t0)
            tf.append(time.perf_counter() - t1)
        c, fm = statistics.median(tc), statistics.median(tf)
        print(f"{name}: row-major {c * 1e3:.1f} ms, column-major {fm * 1e3:.1f} ms, {fm / c:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
