"""Rescan when a new bar arrives: a long-lived scan of a store advances by the new session only.

    python examples/rescan_new_bar.py

Imports a demo set of bars into a store (``technic data import`` does the same from files),
scans it with ``LiveScan``, then imports one new bar per symbol and refreshes: each symbol's
indicator state advances by that bar instead of being recomputed from its history.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from technic_core.scan.live import LiveScan
from technic_core.universe.generate import generate_universe
from technic_core.universe.importer import import_store


def next_session(long: pd.DataFrame) -> pd.DataFrame:
    """One new bar per symbol on the next business day: the last close moved up 1%."""
    last = long.groupby("symbol", sort=False).tail(1).copy()
    last["date"] = last["date"] + pd.offsets.BDay(1)
    last["open"] = last["close"]
    last["close"] = last["close"] * 1.01
    last["high"] = last[["open", "close", "high"]].max(axis=1)
    return last


def main(root: Path) -> tuple:
    long = generate_universe(40, 300, seed=5).long_frame()
    long.to_parquet(root / "bars.parquet")
    import_store([root / "bars.parquet"], root / "store", log=lambda *_: None)

    live = LiveScan(root / "store")
    first = live.refresh()
    print(first)

    next_session(long).to_parquet(root / "new_bar.parquet")  # the feed's new session
    import_store([root / "new_bar.parquet"], root / "store", log=lambda *_: None)
    second = live.refresh()
    print(f"after the new bar: {live.last_counts}  ({second.wall_s * 1e3:.0f} ms)")
    print(second)
    return first, second, dict(live.last_counts)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        main(Path(tmp))
