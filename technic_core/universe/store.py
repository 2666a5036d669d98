"""The Parquet bar store: one symbol at a time, or every symbol as ``(T, N)`` blocks.

Layout of a store directory::

    meta.json            format version, how it was made, frequency, last session
    universe.parquet     SPEC's universe table
    bars/SYMBOL.parquet  one file per symbol (date, OHLCV): what a per-symbol API serves
    bars.parquet         the same bars in one columnar file, symbol after symbol,
                         row groups aligned to symbol boundaries
    manifest.parquet     per symbol: its rows in bars.parquet and the size and
                         mtime of its own file when bars.parquet was written

Per-symbol files are the truth.  ``bars.parquet`` is a consolidated copy for
fast whole-universe reads; a symbol whose file changed since (an edit, a
re-import, a damaged disk) is read from its own file instead, so every path
sees the same bars and the same bad data.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .schema import (
    BAR_FIELDS,
    BARS_SCHEMA,
    STORE_FORMAT,
    UNIVERSE_COLUMNS,
    UNIVERSE_SCHEMA,
    StoreError,
)
from .validate import SymbolDataError, check_long, check_symbol, group_bounds, missing_columns

ROW_GROUP_SYMBOLS = 128


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + m)`` for each pair, without a Python loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.array([], dtype=np.int64)
    offsets = np.repeat(np.asarray(starts, dtype=np.int64) - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(total, dtype=np.int64)


def default_store_dir() -> Path:
    """``$TECHNIC_DATA`` or ``./data/universe`` (ignored by git)."""
    env = os.environ.get("TECHNIC_DATA")
    return Path(env) if env else Path.cwd() / "data" / "universe"


def symbol_file(root: Path, symbol: str) -> Path:
    if not symbol or "/" in symbol or "\\" in symbol or symbol.startswith("."):
        raise StoreError(f"symbol {symbol!r} cannot name a file in the store")
    return root / "bars" / f"{symbol}.parquet"


@dataclass
class BarBlock:
    """Bars of many symbols as ``(T, N)`` arrays, right-aligned by bar.

    Column j is symbol j's own bar sequence, left-padded with NaN; row T-1 is
    every symbol's last bar, whatever its date.
    """
    symbols: np.ndarray                 # (N,) str
    fields: dict[str, np.ndarray]       # open, high, low, close, volume: (T, N) float64
    lengths: np.ndarray                 # (N,) bars each symbol has
    last_date: np.ndarray               # (N,) datetime64[D]
    errors: dict[str, str] = field(default_factory=dict)  # requested symbols that are bad
    # Close of the latest-dated bar of bad symbols that had rows: the price rule
    # outranks bad data (see scan.filters), so it must be known for them too.
    error_latest_close: dict[str, float] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.fields["close"].shape

    @classmethod
    def from_long(cls, df: pd.DataFrame, symbols=None, n_rows: int | None = None,
                  errors: dict[str, str] | None = None) -> BarBlock:
        """Validate a long frame (symbol, date, OHLCV; each symbol's rows contiguous) and lay it out.

        ``symbols`` fixes the column order and reports requested symbols that have no rows.
        """
        errors = dict(errors or {})
        bad = check_long(df)
        errors.update(bad)
        starts, lengths, names, _ = group_bounds(df["symbol"])
        pos = {s: k for k, s in enumerate(names)}
        order = list(names) if symbols is None else list(symbols)
        keep = []
        for s in order:
            if s in errors:
                continue
            if s not in pos:
                errors[s] = "no bars"
                continue
            keep.append(pos[s])
        keep = np.array(keep, dtype=np.int64)
        lens = lengths[keep] if keep.size else np.array([], dtype=np.int64)
        t = int(n_rows if n_rows is not None else (lens.max() if lens.size else 0))
        t = max(t, int(lens.max()) if lens.size else 0)
        n = keep.size
        src = ranges(starts[keep], lens) if n else np.array([], np.int64)
        cols = np.repeat(np.arange(n), lens)
        rows = ranges(t - lens, lens)
        fields = {}
        for f in BAR_FIELDS:
            out = np.full((t, n), np.nan)
            out[rows, cols] = df[f].to_numpy(np.float64)[src]
            fields[f] = out
        dates = df["date"].to_numpy().astype("datetime64[D]")
        last = dates[starts[keep] + lens - 1] if n else np.array([], "datetime64[D]")
        close = df["close"].to_numpy(np.float64) if len(df) else np.array([])
        bad_latest = {}
        for s in bad:
            k = pos[s]
            d = dates[starts[k]:starts[k] + lengths[k]]
            ok = ~np.isnat(d)
            if ok.any():
                i = int(np.flatnonzero(d == d[ok].max())[-1])
                bad_latest[s] = float(close[starts[k] + i])
        return cls(np.asarray(names[keep] if n else [], dtype=object), fields, lens.astype(np.int64),
                   last, errors, bad_latest)


def _universe_frame(table: pa.Table, where: Path) -> pd.DataFrame:
    miss = [c for c in UNIVERSE_COLUMNS if c not in table.column_names]
    if miss:
        raise StoreError(f"{where}: universe lacks columns {', '.join(miss)}")
    df = table.select(list(UNIVERSE_COLUMNS)).to_pandas()
    if df["symbol"].isna().any():
        raise StoreError(f"{where}: universe has rows without a symbol")
    dup = df["symbol"][df["symbol"].duplicated()]
    if len(dup):
        raise StoreError(f"{where}: universe lists symbol {dup.iloc[0]!r} more than once")
    df["market_cap"] = df["market_cap"].astype(np.float64)
    df["is_etf"] = df["is_etf"].fillna(False).astype(bool)
    df["is_leveraged"] = df["is_leveraged"].fillna(False).astype(bool)
    return df


def write_store(root: Path | str, universe: pd.DataFrame, long_bars: pd.DataFrame,
                meta: dict | None = None) -> Path:
    """Write a store from a universe frame and a long bar frame sorted by symbol then date.

    Writes what it is given (bad bars included: the scan reports them); the
    importer is where bars are checked on the way in.
    """
    root = Path(root)
    (root / "bars").mkdir(parents=True, exist_ok=True)
    uni = pa.Table.from_pandas(universe[list(UNIVERSE_COLUMNS)], schema=UNIVERSE_SCHEMA,
                               preserve_index=False)
    pq.write_table(uni, root / "universe.parquet")

    bars = long_bars.reset_index(drop=True)
    sym = bars["symbol"].to_numpy()
    if len(sym):
        starts = np.flatnonzero(np.r_[True, sym[1:] != sym[:-1]])
        names = sym[starts]
        lengths = np.diff(np.append(starts, len(sym)))
    else:
        starts, names, lengths = np.array([], int), np.array([], object), np.array([], int)
    table = pa.Table.from_pandas(bars[["date", *BAR_FIELDS]], schema=BARS_SCHEMA, preserve_index=False)
    for s, a, m in zip(names, starts, lengths):
        pq.write_table(table.slice(a, m), symbol_file(root, s))
    # Row groups end on symbol boundaries so a subset read touches only its groups.
    group_of = np.arange(len(names)) // ROW_GROUP_SYMBOLS
    with pq.ParquetWriter(root / "bars.parquet", BARS_SCHEMA) as writer:
        for g in range(int(group_of.max()) + 1 if len(names) else 0):
            idx = np.flatnonzero(group_of == g)
            a = starts[idx[0]]
            b = starts[idx[-1]] + lengths[idx[-1]]
            writer.write_table(table.slice(a, b - a), row_group_size=b - a)
    group_start = {g: starts[np.flatnonzero(group_of == g)[0]] for g in np.unique(group_of)}
    stats = [symbol_file(root, s).stat() for s in names]
    manifest = pd.DataFrame({
        "symbol": names.astype(str),
        "row_group": group_of.astype(np.int32),
        "offset": np.array([a - group_start[g] for a, g in zip(starts, group_of)], dtype=np.int64),
        "n_bars": lengths.astype(np.int64),
        "file_size": np.array([st.st_size for st in stats], dtype=np.int64),
        "mtime_ns": np.array([st.st_mtime_ns for st in stats], dtype=np.int64),
    })
    pq.write_table(pa.Table.from_pandas(manifest, preserve_index=False), root / "manifest.parquet")
    dates = bars["date"].to_numpy().astype("datetime64[D]") if len(bars) else np.array([], "datetime64[D]")
    last_day = dates.max() if len(dates) else None
    snap = bars[dates == last_day] if last_day is not None else bars.iloc[:0]
    snap = snap.drop_duplicates("symbol", keep="last")
    pq.write_table(pa.Table.from_pandas(snap[["symbol", "date", *BAR_FIELDS]], preserve_index=False),
                   root / "snapshot.parquet")
    info = {
        "format": STORE_FORMAT,
        "n_symbols": int(len(universe)),
        "n_bar_symbols": int(len(names)),
        "max_bars": int(lengths.max()) if len(lengths) else 0,
        "last_session": str(dates.max()) if len(dates) else None,
        "frequency": "daily",
        **(meta or {}),
    }
    (root / "meta.json").write_text(json.dumps(info, indent=2, sort_keys=True))
    return root


class Store:
    """Read side of a store directory; opening it checks that it is one."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        if not self.root.is_dir():
            raise StoreError(
                f"no store at {self.root}: run `technic data generate --out {self.root}` "
                "or `technic data import ... --out` first"
            )
        meta_path = self.root / "meta.json"
        try:
            self.meta = json.loads(meta_path.read_text())
        except FileNotFoundError:
            raise StoreError(f"{self.root} is not a technic store (no meta.json)") from None
        except json.JSONDecodeError as exc:
            raise StoreError(f"{meta_path} is not valid JSON: {exc}") from None
        if self.meta.get("format") != STORE_FORMAT:
            raise StoreError(
                f"{self.root}: store format {self.meta.get('format')!r}, this version reads {STORE_FORMAT}"
            )
        for name in ("universe.parquet", "bars.parquet", "manifest.parquet"):
            if not (self.root / name).is_file():
                raise StoreError(f"{self.root}: {name} is missing; the store is incomplete")
        self._universe: pd.DataFrame | None = None
        self._manifest: pd.DataFrame | None = None

    # -- universe -------------------------------------------------------
    def universe(self) -> pd.DataFrame:
        if self._universe is None:
            path = self.root / "universe.parquet"
            try:
                table = pq.read_table(path)
            except Exception as exc:
                raise StoreError(f"{path}: unreadable universe ({exc})") from None
            self._universe = _universe_frame(table, path)
        return self._universe.copy()

    @property
    def frequency(self) -> str:
        return str(self.meta.get("frequency", "daily"))

    def manifest(self) -> pd.DataFrame:
        if self._manifest is None:
            path = self.root / "manifest.parquet"
            try:
                self._manifest = pq.read_table(path).to_pandas().set_index("symbol")
            except Exception as exc:
                raise StoreError(f"{path}: unreadable manifest ({exc})") from None
        return self._manifest

    # -- one symbol -----------------------------------------------------
    def bars(self, symbol: str) -> pd.DataFrame:
        """One symbol's bars (date, OHLCV) from its own file; SymbolDataError if unusable."""
        path = symbol_file(self.root, symbol)
        if not path.is_file():
            raise SymbolDataError(symbol, f"no bars file ({path.name} is missing)")
        if path.stat().st_size == 0:
            raise SymbolDataError(symbol, f"empty bars file ({path.name} has 0 bytes)")
        try:
            table = pq.read_table(path)
        except Exception as exc:
            raise SymbolDataError(symbol, f"unreadable bars file {path.name}: {exc}") from None
        miss = missing_columns(table.column_names)
        if miss:
            raise SymbolDataError(symbol, f"missing columns: {', '.join(miss)}")
        df = table.select(["date", *BAR_FIELDS]).to_pandas(date_as_object=False)
        df["date"] = pd.to_datetime(df["date"])
        for f in BAR_FIELDS:
            df[f] = df[f].astype(np.float64)
        return df

    def checked_bars(self, symbol: str) -> pd.DataFrame:
        df = self.bars(symbol)
        check_symbol(symbol, df)
        return df

    # -- many symbols ---------------------------------------------------
    def _fresh(self, symbols: list[str]) -> tuple[list[str], list[str]]:
        """Split symbols into those bars.parquet holds as-is and those to read one by one."""
        man = self.manifest()
        known = man.reindex(symbols)
        size = known["file_size"].to_numpy()
        mtime = known["mtime_ns"].to_numpy()
        fresh, stale = [], []
        for s, want_size, want_mtime in zip(symbols, size, mtime):
            try:
                st = os.stat(symbol_file(self.root, s))
            except (OSError, StoreError):
                stale.append(s)
                continue
            if st.st_size == want_size and st.st_mtime_ns == want_mtime:
                fresh.append(s)
            else:
                stale.append(s)
        return fresh, stale

    def long(self, symbols=None) -> pd.DataFrame:
        """Bars of ``symbols`` (default: all in the store) as one long frame, plus unreadable ones.

        Returns a frame with a ``symbol`` column; symbols whose files cannot be
        read are in ``frame.attrs['errors']``.
        """
        man = self.manifest()
        wanted = list(man.index) if symbols is None else list(symbols)
        fresh, stale = self._fresh(wanted)
        parts: list[pd.DataFrame] = []
        errors: dict[str, str] = {}
        if fresh:
            sub = man.loc[fresh]
            groups = sorted(sub["row_group"].unique().tolist())
            pf = pq.ParquetFile(self.root / "bars.parquet")
            table = pf.read_row_groups(groups) if len(groups) < pf.num_row_groups else pf.read()
            group_rows = man.groupby("row_group")["n_bars"].sum()
            base = dict(zip(groups, np.cumsum([0] + [int(group_rows[g]) for g in groups[:-1]])))
            start = np.array([base[g] for g in sub["row_group"]]) + sub["offset"].to_numpy()
            lens = sub["n_bars"].to_numpy()
            idx = ranges(start, lens)
            if len(idx) != table.num_rows or not np.array_equal(idx, np.arange(table.num_rows)):
                table = table.take(pa.array(idx))
            # hand Arrow's buffers to pandas column by column instead of holding both copies
            df = table.to_pandas(date_as_object=False, self_destruct=True, split_blocks=True)
            del table
            codes = np.repeat(np.arange(len(fresh)), lens)
            df.insert(0, "symbol", pd.Categorical.from_codes(codes, categories=pd.Index(fresh, dtype=object)))
            parts.append(df)
        for s in stale:
            try:
                df = self.bars(s)
            except SymbolDataError as exc:
                errors[s] = exc.reason
                continue
            if len(df) == 0:
                errors[s] = "no bars (empty file)"
                continue
            df.insert(0, "symbol", pd.Categorical([s] * len(df), categories=pd.Index([s], dtype=object)))
            parts.append(df)
        if len(parts) > 1:
            cats = pd.Index([c for p in parts for c in p["symbol"].cat.categories], dtype=object)
            for p in parts:
                p["symbol"] = p["symbol"].cat.set_categories(cats)
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            {"symbol": [], "date": pd.to_datetime([]), **{f: [] for f in BAR_FIELDS}})
        out["date"] = pd.to_datetime(out["date"])
        out.attrs["errors"] = errors
        return out

    def block(self, symbols=None) -> BarBlock:
        """Checked bars of ``symbols`` as one right-aligned ``(T, N)`` block."""
        df = self.long(symbols)
        order = list(self.manifest().index) if symbols is None else list(symbols)
        return BarBlock.from_long(df, order, errors=df.attrs.get("errors"))

    def snapshot(self, date=None) -> pd.DataFrame:
        """Every symbol's bar on one session (default: the store's last), one row each.

        The last session comes from ``snapshot.parquet`` (written with the store),
        with symbols whose own file changed since re-read from that file.
        """
        last = self.meta.get("last_session")
        day = np.datetime64(date or last, "D")
        path = self.root / "snapshot.parquet"
        if last is not None and day == np.datetime64(last, "D") and path.is_file():
            snap = pq.read_table(path).to_pandas(date_as_object=False)
            man = self.manifest()
            _, stale = self._fresh(list(man.index))
            if stale:
                snap = snap[~snap["symbol"].isin(stale)]
                df = self.long(stale)
            else:
                df = None
        else:
            snap, df = None, self.long()
        if df is not None and len(df):
            d = df[df["date"].to_numpy().astype("datetime64[D]") == day]
            d = d.drop_duplicates("symbol", keep="last").assign(symbol=lambda x: x["symbol"].astype(str))
            snap = d if snap is None else pd.concat([snap, d], ignore_index=True)
        if snap is None:
            snap = pd.DataFrame({"symbol": [], "date": pd.to_datetime([]), **{f: [] for f in BAR_FIELDS}})
        snap["date"] = pd.to_datetime(snap["date"])
        return snap.reset_index(drop=True)
