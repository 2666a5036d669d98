"""Small stores for tests, built with the project's own generator and writer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from technic_core.universe.generate import generate_universe
from technic_core.universe.store import Store
from technic_core.universe.writer import write_store


def make_store(
    root: Path, n_symbols: int = 60, n_bars: int = 300, seed: int = 11, edit=None
) -> Path:
    """Write a generated store; ``edit(universe, long)`` may change the frames first."""
    g = generate_universe(n_symbols, n_bars, seed)
    uni, long = g.universe.copy(), g.long_frame()
    if edit is not None:
        uni, long = edit(uni, long)
    write_store(root, uni, long.reset_index(drop=True), {"seed": seed})
    return root


def rows_of(long: pd.DataFrame, symbol: str) -> pd.Index:
    return long.index[long["symbol"] == symbol]


def update_store(root: Path, edit) -> Path:
    """Commit a new version of a store through its writer: ``edit(universe, long)`` returns
    the new frames (how a test corrects bars; files in a store are never edited in place)."""
    store = Store(root)
    long = store.long()
    long = long.assign(symbol=long["symbol"].astype(str)).copy()  # Arrow's buffers are read-only
    uni, long = edit(store.universe(), long)
    write_store(
        root,
        uni,
        long.reset_index(drop=True),
        {k: v for k, v in store.meta.items() if k not in ("format", "version")},
    )
    return root
