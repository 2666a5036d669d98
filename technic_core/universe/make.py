"""``technic data generate``: build the synthetic universe and write it as a store."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from .generate import generate_blocks, generate_universe
from .lock import DEFAULT_LOCK_TIMEOUT_S, StoreLock
from .writer import read_manifest, write_store

GENERATOR = "technic synthetic"


def existing_matches(
    out: Path | str, n_symbols: int, n_bars: int, seed: int, block_size: int | None = None
) -> bool:
    """True when ``out`` already holds the store these parameters would generate."""
    try:
        man = read_manifest(Path(out))
    except Exception:  # noqa: BLE001 - an unreadable manifest matches nothing
        return False
    m = (man or {}).get("meta", {})
    return (
        m.get("generator") == GENERATOR
        and m.get("seed") == seed
        and m.get("n_symbols") == n_symbols
        and m.get("n_bars") == n_bars
        and m.get("block_size") == block_size
    )


# From this many symbols a universe is generated and written block by block (memory holds
# one block's bars): a universe of 100,000 x 504 is ~2 GB of OHLCV.
BLOCK_FROM = 20_000
BLOCK_SYMBOLS = 4096


def generate_store(
    out: Path | str,
    n_symbols: int = 5277,
    n_bars: int = 504,
    seed: int = 7,
    log=print,
    force: bool = False,
    lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT_S,
    block_size: int | None = None,
) -> Path:
    """Generate and write a store; an identical one already at ``out`` is reused.

    ``block_size``: generate and write this many symbols at a time (default: all at once
    below ``BLOCK_FROM`` symbols, ``BLOCK_SYMBOLS`` from there).
    """
    out = Path(out)
    if block_size is None and n_symbols >= BLOCK_FROM:
        block_size = BLOCK_SYMBOLS
    with StoreLock(out, purpose="technic data generate", timeout=lock_timeout) as lock:
        if not force and existing_matches(out, n_symbols, n_bars, seed, block_size):
            log(
                f"{out} already holds {n_symbols} symbols x {n_bars} sessions (seed {seed}); "
                "reusing it (--force to rebuild)"
            )
            return out
        t0 = time.perf_counter()
        meta = {"generator": GENERATOR, "seed": seed, "n_bars": n_bars}
        if block_size is None:
            log(f"generating {n_symbols} symbols x {n_bars} sessions (seed {seed}) ...")
            g = generate_universe(n_symbols, n_bars, seed)
            long = g.long_frame()
            log(f"writing store to {out} ({len(long):,} bars) ...")
            write_store(out, g.universe, long, meta, lock=lock)
        else:
            log(
                f"generating and writing {n_symbols} symbols x {n_bars} sessions (seed {seed}) to {out}, "
                f"{block_size} symbols at a time ..."
            )
            _write_blocks(
                out, n_symbols, n_bars, seed, block_size, {**meta, "block_size": block_size}, log
            )
        log(f"done in {time.perf_counter() - t0:.1f}s")
    return out


def _write_blocks(
    out: Path, n_symbols: int, n_bars: int, seed: int, block_size: int, meta: dict, log
) -> None:
    from .writer import _commit

    universes: list = []
    n_blocks = -(-n_symbols // block_size)
    t0 = time.perf_counter()

    def parts():
        for b, g in enumerate(generate_blocks(n_symbols, n_bars, seed, block_size)):
            universes.append(g.universe)
            yield g.long_frame()
            done = min(n_symbols, (b + 1) * block_size)
            log(
                f"  block {b + 1}/{n_blocks}: {done:,} symbols written ({time.perf_counter() - t0:.0f}s)"
            )

    _commit(
        out,
        lambda: pd.concat(universes, ignore_index=True),
        parts(),
        meta,
        None,
        rows=n_bars,
        columns=n_symbols,
    )
