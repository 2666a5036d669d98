"""``technic data generate``: build the synthetic universe and write it as a store."""
from __future__ import annotations

import time
from pathlib import Path

from .generate import generate_universe
from .store import write_store


def generate_store(out: Path | str, n_symbols: int = 5277, n_bars: int = 504, seed: int = 7,
                   log=print) -> Path:
    t0 = time.perf_counter()
    log(f"generating {n_symbols} symbols x {n_bars} sessions (seed {seed}) ...")
    g = generate_universe(n_symbols, n_bars, seed)
    long = g.long_frame()
    log(f"writing store to {out} ({len(long):,} bars) ...")
    write_store(out, g.universe, long, {
        "generator": "technic synthetic", "seed": seed, "n_bars": n_bars,
    })
    log(f"done in {time.perf_counter() - t0:.1f}s")
    return Path(out)
