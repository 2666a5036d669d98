"""``technic data generate``: build the synthetic universe and write it as a store."""
from __future__ import annotations

import time
from pathlib import Path

from .generate import generate_universe
from .lock import DEFAULT_LOCK_TIMEOUT_S, StoreLock
from .writer import read_manifest, write_store

GENERATOR = "technic synthetic"


def existing_matches(out: Path | str, n_symbols: int, n_bars: int, seed: int) -> bool:
    """True when ``out`` already holds the store these parameters would generate."""
    try:
        man = read_manifest(Path(out))
    except Exception:  # noqa: BLE001 - an unreadable manifest matches nothing
        return False
    m = (man or {}).get("meta", {})
    return (m.get("generator") == GENERATOR and m.get("seed") == seed
            and m.get("n_symbols") == n_symbols and m.get("n_bars") == n_bars)


def generate_store(out: Path | str, n_symbols: int = 5277, n_bars: int = 504, seed: int = 7,
                   log=print, force: bool = False,
                   lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT_S) -> Path:
    """Generate and write a store; an identical one already at ``out`` is reused."""
    out = Path(out)
    with StoreLock(out, purpose="technic data generate", timeout=lock_timeout) as lock:
        if not force and existing_matches(out, n_symbols, n_bars, seed):
            log(f"{out} already holds {n_symbols} symbols x {n_bars} sessions (seed {seed}); "
                "reusing it (--force to rebuild)")
            return out
        t0 = time.perf_counter()
        log(f"generating {n_symbols} symbols x {n_bars} sessions (seed {seed}) ...")
        g = generate_universe(n_symbols, n_bars, seed)
        long = g.long_frame()
        log(f"writing store to {out} ({len(long):,} bars) ...")
        write_store(out, g.universe, long, {"generator": GENERATOR, "seed": seed, "n_bars": n_bars},
                    lock=lock)
        log(f"done in {time.perf_counter() - t0:.1f}s")
    return out
