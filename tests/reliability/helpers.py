"""The fault suite's tools: a store's rows, where its files are, vendor-style inputs, a CLI run."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from technic_core.universe import BarBlock, Store, StoreDamaged
from technic_core.universe.generate import generate_universe

REPO = Path(__file__).resolve().parents[2]


def rows(root, symbols=None) -> pd.DataFrame:
    """Every stored bar (or ``symbols``'), symbol as text, sorted by symbol then date."""
    df = Store(root).long(symbols)
    df = df.assign(symbol=df["symbol"].astype(str))
    return df.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)


def assert_panel_agrees(root, version=None) -> int:
    """The version's panel is usable (no warning) and holds exactly its Parquet bars: every
    column, length, last date and error, value for value.  Returns the bars compared."""
    store = Store(root, version=version)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StoreDamaged)
        panel = store.panel()
    assert panel is not None and store.panel_problem is None, store.panel_problem
    order = list(store.index().index)
    got = store.block(order)
    long = Store(root, version=version, panel=False).long(order)
    want = BarBlock.from_long(long, order, errors=long.attrs.get("errors"))
    assert list(got.symbols) == list(want.symbols)
    assert np.array_equal(got.lengths, want.lengths) and np.array_equal(
        got.last_date, want.last_date
    )
    assert got.errors == want.errors and got.error_latest_close == want.error_latest_close
    for f in want.fields:
        assert np.array_equal(got.fields[f], want.fields[f], equal_nan=True), f
    return int(want.lengths.sum())


def consolidated_file(root) -> Path:
    """The store's one long file of every symbol's bars."""
    return Store(root).file("bars")


def symbol_file(root, symbol: str) -> Path:
    """The per-symbol file the store's current version names for ``symbol``."""
    return Store(root).bar_file(symbol)


def long_frame(n_symbols: int, n_bars: int, seed: int) -> tuple[pd.DataFrame, list[str]]:
    g = generate_universe(n_symbols, n_bars, seed)
    return g.long_frame(), g.universe["symbol"].tolist()


def vendor_csv(df: pd.DataFrame, path: Path, symbol_column: bool = False) -> Path:
    """Bars as a vendor's CSV (Date, Open, High, Low, Close, Volume[, Symbol])."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = pd.DataFrame(
        {
            "Date": pd.to_datetime(df["date"]).dt.strftime("%Y-%m-%d"),
            **{c.title(): df[c].to_numpy() for c in ("open", "high", "low", "close", "volume")},
        }
    )
    if symbol_column:
        out.insert(0, "Symbol", df["symbol"].astype(str).to_numpy())
    out.to_csv(path, index=False)
    return path


def write_csvs(folder: Path, long: pd.DataFrame, symbols) -> Path:
    """One vendor CSV per symbol, named after it."""
    folder.mkdir(parents=True, exist_ok=True)
    sym = long["symbol"].to_numpy()
    for s in symbols:
        vendor_csv(long[sym == s], folder / f"{s}.csv")
    return folder


def technic_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "technic_core", *map(str, args)]


def run_technic(
    *args: str, timeout: float = 300, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        technic_cmd(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Two long frames hold the same bars (symbol, date, OHLCV), bit for bit."""
    cols = ["symbol", "date", "open", "high", "low", "close", "volume"]
    a = (
        a[cols]
        .assign(symbol=a["symbol"].astype(str))
        .sort_values(["symbol", "date"], kind="stable")
    )
    b = (
        b[cols]
        .assign(symbol=b["symbol"].astype(str))
        .sort_values(["symbol", "date"], kind="stable")
    )
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False
    )


def good_symbols(universe: pd.DataFrame) -> list[str]:
    ok = universe["symbol"].str.fullmatch(r"[A-Z]{1,5}") & ~universe["is_leveraged"]
    return universe["symbol"][ok].tolist()
