"""Scan your own CSV files: one file per symbol (Date, Open, High, Low, Close, Volume), no store.

    python examples/scan_csv_files.py path/to/csv/folder

Without a folder it writes a small demo set first (synthetic bars, the scanner's own generator).
The frames are checked as ``technic data import`` checks files; bad symbols are reported with
the reason, the others are scanned.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

import technic_core


def demo_folder(root: Path, n_symbols: int = 40) -> Path:
    """Vendor-style CSVs (one per symbol, a Date column, capitalised fields) from the generator."""
    from technic_core.universe.generate import generate_universe

    long = generate_universe(n_symbols, 300, seed=3).long_frame()
    for symbol, bars in long.groupby("symbol", sort=False):
        bars.drop(columns="symbol").rename(columns=str.title).to_csv(
            root / f"{symbol}.csv", index=False
        )
    return root


def main(folder: Path) -> technic_core.ScanResult:
    frames = {p.stem: pd.read_csv(p) for p in sorted(folder.glob("*.csv"))}
    result = technic_core.scan(frames, phases="vectorized")
    print(result)
    if len(result.errors):
        print(result.errors.to_string(index=False))
    return result


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(demo_folder(Path(tmp)))
