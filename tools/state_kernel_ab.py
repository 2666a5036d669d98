"""The one-bar state advance of another commit's kernel against this tree's, in one process.

    python tools/state_kernel_ab.py --rev 6872743            # default universe, SCAN_STATE
    python tools/state_kernel_ab.py --rev 6872743 --rounds 61

Loads ``technic_core/indicators/kernels/state_step.py`` as it is at ``--rev`` (``git show``)
and as it is in the working tree, builds one state of the default universe's symbols with at
least 64 bars (as ``bench_rescan.Advance``) and advances a copy of it per kernel by the last
bar, the kernels taken alternately, one thread (``advance_serial``, what a one-bar step runs):

* cold: 64 MB touched before each call, as a state a session old would be;
* warm: calls back to back.

Prints medians and minima in milliseconds, with the load, and checks that every copy of the
state ends bit for bit equal.  Run it on a quiet machine for figures to quote.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KERNEL = "technic_core/indicators/kernels/state_step.py"
FIELDS = ("open", "high", "low", "close", "volume")


def _load(name: str, source: str, tmp: Path):
    # the on-disk cache off: both copies compile here, neither reads the other's machine code
    path = tmp / f"{name}.py"
    path.write_text(source.replace("cache=True", "cache=False"))
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", required=True, help="the commit whose kernel is compared")
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--min-bars", type=int, default=64)
    a = ap.parse_args(argv)

    from technic_core.indicators.state import build_state
    from technic_core.scan.phases.cache_phase import SCAN_STATE
    from technic_core.universe.store import Store

    old = subprocess.run(
        ["git", "show", f"{a.rev}:{KERNEL}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    with tempfile.TemporaryDirectory() as tmp:
        kernels = {
            a.rev: _load("state_step_rev", old, Path(tmp)),
            "tree": _load("state_step_tree", (ROOT / KERNEL).read_text(), Path(tmp)),
        }
        store = Store(os.environ.get("TECHNIC_DATA", str(ROOT / "data" / "universe")))
        block = store.block(store.universe()["symbol"].tolist())
        cols = np.flatnonzero(block.lengths >= a.min_bars)
        hist = {f: np.ascontiguousarray(block.fields[f][:-1, cols]) for f in FIELDS}
        bar = [np.ascontiguousarray(block.fields[f][-1, cols]) for f in FIELDS]
        state = build_state(hist, SCAN_STATE)
        lay = state.layout
        which = np.arange(cols.size, dtype=np.int64)
        ones = np.ones(cols.size, np.int64)
        slots = {k: state.slots.copy() for k in kernels}
        junk = np.ones(8_000_000)

        def step(k):
            kernels[k].advance_serial(
                slots[k], which, which, ones, 1, lay.lay, lay.sma, lay.ema, lay.fp, lay.inv, *bar
            )

        for k in kernels:
            step(k)  # compile
        print(f"{cols.size} symbols, state width {state.slots.shape[0]}, load {os.getloadavg()}")
        for cold in (True, False):
            runs = {k: [] for k in kernels}
            for _ in range(a.rounds):
                for k in kernels:
                    if cold:
                        junk += 1.0
                    t0 = time.perf_counter()
                    step(k)
                    runs[k].append(time.perf_counter() - t0)
            for k, v in runs.items():
                print(
                    f"{'cold' if cold else 'warm'} {k:>12}: median {statistics.median(v) * 1e3:.3f} ms"
                    f"  min {min(v) * 1e3:.3f}"
                )
        first = slots[a.rev]
        for k, s in slots.items():
            if not np.array_equal(s, first, equal_nan=True):
                print(f"state after {k}'s kernel differs from {a.rev}'s", file=sys.stderr)
                return 1
        print(f"states bit for bit equal; load {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
