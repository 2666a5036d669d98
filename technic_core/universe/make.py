"""``technic data generate``: build the synthetic universe and write it as a store."""
from __future__ import annotations

import json
import time
from pathlib import Path

from .generate import generate_universe
from .store import write_store

GENERATOR = "technic synthetic"


def existing_matches(out: Path | str, n_symbols: int, n_bars: int, seed: int) -> bool:
    """True when ``out`` already holds the store these parameters would generate."""
    meta = Path(out) / "meta.json"
    if not meta.is_file():
        return False
    try:
        m = json.loads(meta.read_text())
    except json.JSONDecodeError:
        return False
    return (m.get("generator") == GENERATOR and m.get("seed") == seed
            and m.get("n_symbols") == n_symbols and m.get("n_bars") == n_bars
            and (Path(out) / "bars.parquet").is_file())


def generate_store(out: Path | str, n_symbols: int = 5277, n_bars: int = 504, seed: int = 7,
                   log=print, force: bool = False) -> Path:
    """Generate and write a store; an identical one already at ``out`` is reused."""
    if not force and existing_matches(out, n_symbols, n_bars, seed):
        log(f"{out} already holds {n_symbols} symbols x {n_bars} sessions (seed {seed}); "
            "reusing it (--force to rebuild)")
        return Path(out)
    t0 = time.perf_counter()
    log(f"generating {n_symbols} symbols x {n_bars} sessions (seed {seed}) ...")
    g = generate_universe(n_symbols, n_bars, seed)
    long = g.long_frame()
    log(f"writing store to {out} ({len(long):,} bars) ...")
    write_store(out, g.universe, long, {
        "generator": GENERATOR, "seed": seed, "n_bars": n_bars,
    })
    log(f"done in {time.perf_counter() - t0:.1f}s")
    return Path(out)
