"""The read side of the Parquet bar store: one symbol at a time, or every symbol as ``(T, N)`` blocks.

A store is a sequence of versions (layout and commit: ``writer``).  ``Store``
opens one: the current ``manifest.json`` (or a retained older version) and
then only the files it names, so a reader sees one consistent version
whatever a writer is doing, and trusts it: no per-file ``stat``.

Every symbol's bars are held twice: in its own file (what a per-symbol API
serves; named by its content version) and in the version's ``bars.parquet``
(fast whole-universe reads).  Either copy serves when the other is damaged:
a truncated or corrupt ``bars.parquet`` sends whole-universe reads to the
per-symbol files, a damaged or hand-edited per-symbol file (its content is
checked against its content version) sends that symbol's read to
``bars.parquet``; each time with a ``StoreDamaged`` warning that names the
file and its problem.  Only a symbol unreadable in both is an error, the
same one in every phase.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .panel import BarPanel, PanelProblem, gather
from .schema import BAR_FIELDS, MANIFEST, STORE_FORMAT, UNIVERSE_COLUMNS, VERSIONS_DIR, StoreError
from .validate import SymbolDataError, check_long, check_symbol, group_bounds, missing_columns

LAST_COLUMNS = tuple(f"last_{f}" for f in BAR_FIELDS)


class StoreDamaged(UserWarning):
    """A store file could not be used and another copy of the same bars was read instead."""


def _problem(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


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


def panel_enabled() -> bool:
    """Whether stores read their panel (``$TECHNIC_PANEL=0`` turns it off: every block and
    session then comes from the Parquet files, as before issue 16)."""
    return os.environ.get("TECHNIC_PANEL", "1") != "0"


def is_store(root: Path | str) -> bool:
    """Whether ``root`` holds a store of this format (a committed manifest)."""
    return (Path(root) / MANIFEST).is_file()


@dataclass
class BarBlock:
    """Bars of many symbols as ``(T, N)`` arrays, right-aligned by bar.

    Column j is symbol j's own bar sequence, left-padded with NaN; row T-1 is
    every symbol's last bar, whatever its date.
    """

    symbols: np.ndarray  # (N,) str
    fields: dict[str, np.ndarray]  # open, high, low, close, volume: (T, N) float64
    lengths: np.ndarray  # (N,) bars each symbol has
    last_date: np.ndarray  # (N,) datetime64[D]
    errors: dict[str, str] = field(default_factory=dict)  # requested symbols that are bad
    # Close of the latest-dated bar of bad symbols that had rows: the price rule
    # outranks bad data (see scan.filters), so it must be known for them too.
    error_latest_close: dict[str, float] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.fields["close"].shape

    @property
    def starts(self) -> np.ndarray:
        """Each column's first row (``T - lengths``): what kernels that take ``starts=`` need,
        without scanning the block for NaN."""
        return (self.shape[0] - self.lengths).astype(np.int64)

    @classmethod
    def from_long(
        cls,
        df: pd.DataFrame,
        symbols=None,
        n_rows: int | None = None,
        errors: dict[str, str] | None = None,
    ) -> BarBlock:
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
            d = dates[starts[k] : starts[k] + lengths[k]]
            ok = ~np.isnat(d)
            if ok.any():
                i = int(np.flatnonzero(d == d[ok].max())[-1])
                bad_latest[s] = float(close[starts[k] + i])
        return cls(
            np.asarray(names[keep] if n else [], dtype=object),
            fields,
            lens.astype(np.int64),
            last,
            errors,
            bad_latest,
        )


def _identity(path: Path) -> tuple:
    st = os.stat(path)
    return (str(path), st.st_ino, st.st_size, st.st_mtime_ns)


class _Opened:
    """Version files this process has already read, by file identity (path, inode, size,
    mtime): a committed version's files never change (a writer only adds files), so a
    long-lived process reads and checks each once, and a file replaced or edited in place
    behind the writer's back has another identity and is read again."""

    def __init__(self, size: int = 12):
        self.size = size
        self.items: OrderedDict[tuple, object] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, paths: tuple[Path, ...], load):
        try:
            key = tuple(_identity(p) for p in paths)
        except OSError:
            return load()  # missing: the loader says so
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = load()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


OPENED = _Opened()


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


def _empty_long() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": pd.Categorical([]),
            "date": pd.to_datetime([]),
            **{f: np.zeros(0) for f in BAR_FIELDS},
        }
    )


class Store:
    """One committed version of a store directory; opening it checks that it is one.

    ``version``: open that retained older version instead of the current one
    (a scan pins the version it started on; Ray workers open the driver's).
    ``panel``: read blocks and sessions from the version's time-major panel
    (default: yes, unless ``$TECHNIC_PANEL=0``); without one, or with one that
    fails its checks, they come from ``bars.parquet`` (one warning says why).
    """

    def __init__(self, root: Path | str, version: int | None = None, panel: bool | None = None):
        self.root = Path(root)
        self.use_panel = panel_enabled() if panel is None else bool(panel)
        if not self.root.is_dir():
            raise StoreError(
                f"no store at {self.root}: run `technic data generate --out {self.root}` "
                "or `technic data import ... --out` first"
            )
        path = (
            self.root / MANIFEST
            if version is None
            else self.root / VERSIONS_DIR / str(version) / MANIFEST
        )
        try:
            man = json.loads(path.read_text())
        except FileNotFoundError:
            if version is not None:
                raise StoreError(
                    f"{self.root}: version {version} is not retained (no {path.relative_to(self.root)}); "
                    "versions are kept $TECHNIC_STORE_KEEP_S seconds after a newer one"
                ) from None
            if (self.root / "meta.json").is_file():
                raise StoreError(
                    f"{self.root}: store format 2 (meta.json), this version reads {STORE_FORMAT}: "
                    f"rebuild it (`technic data generate --force --out {self.root}`, or "
                    "`technic data import` from the original files into a new --out)"
                ) from None
            raise StoreError(f"{self.root} is not a technic store (no {MANIFEST})") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path} is not valid JSON: {exc}") from None
        if man.get("format") != STORE_FORMAT:
            raise StoreError(
                f"{self.root}: store format {man.get('format')!r}, this version reads {STORE_FORMAT}"
            )
        try:
            self.version = int(man["version"])
            self.files = {k: self.root / v for k, v in man["files"].items()}
            self.meta = {**man["meta"], "format": STORE_FORMAT, "version": self.version}
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{path}: manifest lacks {exc}") from None
        for name in ("universe", "index", "bars", "snapshot"):
            if name not in self.files:
                raise StoreError(f"{path}: manifest names no {name} file; the store is incomplete")
        self._universe: pd.DataFrame | None = None
        self._index: pd.DataFrame | None = None
        self._consolidated_problem: str | None = None
        self._panel: BarPanel | None = None
        self.panel_problem: str | None = None if self.use_panel else "turned off ($TECHNIC_PANEL=0)"
        self._warned: set[str] = set()

    def describe(self) -> str:
        return f"{self.root} (version {self.version})"

    def file(self, name: str) -> Path:
        """Path of one of this version's files: universe, index, bars, snapshot."""
        try:
            return self.files[name]
        except KeyError:
            raise StoreError(f"{self.root}: version {self.version} has no {name} file") from None

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, StoreDamaged, stacklevel=3)

    # -- universe and index -------------------------------------------------
    def universe(self) -> pd.DataFrame:
        if self._universe is None:
            path = self.file("universe")

            def load():
                try:
                    table = pq.read_table(path, page_checksum_verification=True)
                except Exception as exc:
                    self._still_retained()
                    raise StoreError(f"{path}: unreadable universe ({_problem(exc)})") from None
                return _universe_frame(table, path)

            self._universe = OPENED.get((path,), load)
        return self._universe.copy()

    @property
    def frequency(self) -> str:
        return str(self.meta.get("frequency", "daily"))

    def index(self) -> pd.DataFrame:
        """Per symbol (the frame's index): file, content version, n_bars, last bar, place in bars.parquet."""
        if self._index is None:
            path = self.file("index")

            def load():
                try:
                    df = pq.read_table(path, page_checksum_verification=True).to_pandas()
                except Exception as exc:
                    self._still_retained()
                    raise StoreError(
                        f"{path}: unreadable store index ({_problem(exc)}); "
                        "the store cannot be read without it"
                    ) from None
                return df.set_index("symbol")

            self._index = OPENED.get((path,), load)
        return self._index

    def bar_file(self, symbol: str) -> Path:
        """The per-symbol file this version names for ``symbol``."""
        try:
            return self.root / self.index().at[symbol, "file"]
        except KeyError:
            raise StoreError(
                f"{self.root}: version {self.version} holds no bars for {symbol!r}"
            ) from None

    def content_versions(self, symbols) -> dict[str, np.ndarray]:
        """Each symbol's content version (fingerprint), bar count and last bar, from the index
        alone: arrays ``found``, ``content`` (uint64), ``n_bars``, ``last`` (int64 ms) and
        ``last_bar`` ((m, 5) open..volume); zeros and NaN where the store holds no bars."""
        idx = self.index()
        pos = idx.index.get_indexer(list(symbols))
        found = pos >= 0
        take = np.where(found, pos, 0)

        def col(name, dtype, fill):
            a = idx[name].to_numpy() if len(idx) else np.zeros(0, dtype)
            out = np.full(len(pos), fill, dtype=dtype)
            out[found] = a[take[found]].astype(dtype)
            return out

        last = np.full(len(pos), 0, np.int64)
        if len(idx):
            stamps = idx["last"].to_numpy().astype("datetime64[ms]").astype(np.int64)
            last[found] = stamps[take[found]]
        return {
            "found": found,
            "content": col("content", np.uint64, 0),
            "n_bars": col("n_bars", np.int64, 0),
            "last": last,
            "last_bar": np.column_stack([col(c, np.float64, np.nan) for c in LAST_COLUMNS])
            if len(pos)
            else np.zeros((0, 5)),
        }

    # -- one symbol -----------------------------------------------------
    def _symbol_file_rows(self, symbol: str, row) -> tuple[pd.DataFrame | None, str | None]:
        """(bars, None) from the symbol's own file if it holds its content version, else (None, why)."""
        path = self.root / row["file"]
        try:
            size = path.stat().st_size
        except OSError:
            self._still_retained()
            return None, f"no bars file ({path.name} is missing)"
        if size == 0:
            return None, f"empty bars file ({path.name} has 0 bytes)"
        try:
            table = pq.read_table(path, page_checksum_verification=True)
        except Exception as exc:
            return None, f"unreadable bars file {path.name}: {_problem(exc)}"
        miss = missing_columns(table.column_names)
        if miss:
            return None, f"bars file {path.name} lacks columns: {', '.join(miss)}"
        df = table.select(["date", *BAR_FIELDS]).to_pandas(date_as_object=False)
        df["date"] = pd.to_datetime(df["date"])
        for f in BAR_FIELDS:
            df[f] = df[f].astype(np.float64)
        from .fingerprint import long_fingerprints

        fp = long_fingerprints(df.assign(symbol=symbol))[3] if len(df) else np.zeros(0, np.uint64)
        want = np.uint64(row["content"])
        if len(df) != int(row["n_bars"]) or len(fp) != 1 or fp[0] != want:
            return None, (
                f"{path} does not hold the bars the store's version {self.version} names for "
                f"{symbol} (content {int(want):016x}; changed outside the store's writer?)"
            )
        return df, None

    def bars(self, symbol: str) -> pd.DataFrame:
        """One symbol's bars (date, OHLCV) from its own file; SymbolDataError if unusable.

        A damaged own file falls back to the symbol's rows in bars.parquet, and then to its
        column of the panel, with a warning.
        """
        idx = self.index()
        if symbol not in idx.index:
            raise SymbolDataError(symbol, "no bars (the store holds none for it)")
        row = idx.loc[symbol]
        df, why = self._symbol_file_rows(symbol, row)
        if df is not None:
            return df
        if int(row["row_group"]) >= 0 and self._consolidated_problem is None:
            try:
                df = self._consolidated_rows([symbol]).drop(columns="symbol")
            except Exception as exc:  # noqa: BLE001 - any failure to read is damage
                self._consolidated_damaged(exc)
            else:
                self._warn(
                    f"file:{symbol}",
                    f"{why.rstrip('.')}; read {symbol}'s bars from {self.file('bars')} instead",
                )
                return df
        df = self._panel_bars(symbol, why)
        if df is not None:
            return df
        # the same reason whichever path read it (the damaged bars.parquet has its own warning)
        raise SymbolDataError(symbol, why)

    def _panel_bars(self, symbol: str, why: str) -> pd.DataFrame | None:
        """The third copy: ``symbol``'s bars from the panel, where its column holds them and its
        dates are consecutive sessions of the calendar (so the dates are known); else None."""
        panel = self.panel()
        if panel is None:
            return None
        c = int(panel.columns_of([symbol])[0])
        if c < 0 or not panel.good[c] or not panel.aligned[c]:
            return None
        n = int(panel.n_bars[c])
        t = panel.data.shape[1]
        end = int(np.searchsorted(panel.calendar, panel.last[c])) + 1
        dates = panel.calendar[end - n : end].astype("datetime64[ms]")
        df = pd.DataFrame(
            {
                "date": pd.to_datetime(dates),
                **{f: np.array(panel.data[q, t - n :, c]) for q, f in enumerate(BAR_FIELDS)},
            }
        )
        self._warn(
            f"file:{symbol}", f"{why.rstrip('.')}; read {symbol}'s bars from {panel.path} instead"
        )
        return df

    def checked_bars(self, symbol: str) -> pd.DataFrame:
        df = self.bars(symbol)
        check_symbol(symbol, df)
        return df

    # -- many symbols ---------------------------------------------------
    def _still_retained(self) -> None:
        """StoreError if this version was garbage-collected while we read it (its files are
        gone because it is no longer kept, not because they are damaged)."""
        if not (self.root / VERSIONS_DIR / str(self.version) / MANIFEST).is_file():
            raise StoreError(
                f"{self.root}: version {self.version}, which this reader opened, has been "
                "removed (superseded longer than $TECHNIC_STORE_KEEP_S ago); open the store again"
            )

    def _consolidated_damaged(self, exc: BaseException) -> None:
        self._still_retained()
        path = self.file("bars")
        self._consolidated_problem = _problem(exc)
        self._warn(
            "consolidated",
            f"{path} is damaged ({self._consolidated_problem}); reading the "
            "per-symbol files instead (same bars, slower)",
        )

    def _consolidated_rows(self, symbols: list[str]) -> pd.DataFrame:
        """``symbols``' rows of bars.parquet (all must be in it), with a categorical symbol column."""
        idx = self.index()
        sub = idx.loc[symbols]
        groups = sorted(sub["row_group"].unique().tolist())
        path = self.file("bars")
        pf = pq.ParquetFile(path, page_checksum_verification=True)
        in_file = idx[idx["row_group"] >= 0]
        group_rows = in_file.groupby("row_group")["n_bars"].sum()
        if pf.num_row_groups != len(group_rows):
            raise StoreError(
                f"{pf.num_row_groups} row groups where the index says {len(group_rows)}"
            )
        for g in groups:
            have = pf.metadata.row_group(g).num_rows
            if have != int(group_rows[g]):
                raise StoreError(
                    f"row group {g} holds {have} rows where the index says {int(group_rows[g])}"
                )
        table = pf.read_row_groups(groups) if len(groups) < pf.num_row_groups else pf.read()
        base = dict(zip(groups, np.cumsum([0] + [int(group_rows[g]) for g in groups[:-1]])))
        start = np.array([base[g] for g in sub["row_group"]]) + sub["offset"].to_numpy()
        lens = sub["n_bars"].to_numpy()
        take = ranges(start, lens)
        if len(take) != table.num_rows or not np.array_equal(take, np.arange(table.num_rows)):
            table = table.take(pa.array(take))
        # hand Arrow's buffers to pandas column by column instead of holding both copies
        df = table.to_pandas(date_as_object=False, self_destruct=True, split_blocks=True)
        del table
        codes = np.repeat(np.arange(len(symbols)), lens)
        df.insert(
            0,
            "symbol",
            pd.Categorical.from_codes(codes, categories=pd.Index(symbols, dtype=object)),
        )
        return df

    def long(self, symbols=None) -> pd.DataFrame:
        """Bars of ``symbols`` (default: all in the store) as one long frame, plus unreadable ones.

        Returns a frame with a ``symbol`` column; symbols that cannot be read
        (or that the store does not hold) are in ``frame.attrs['errors']``.
        """
        idx = self.index()
        wanted = list(idx.index) if symbols is None else list(dict.fromkeys(symbols))
        errors: dict[str, str] = {}
        known = [s for s in wanted if s in idx.index]
        for s in wanted:
            if s not in idx.index:
                errors[s] = "no bars (the store holds none for it)"
        in_file = [s for s in known if idx.at[s, "row_group"] >= 0]
        own = [s for s in known if idx.at[s, "row_group"] < 0]
        parts: list[pd.DataFrame] = []
        if in_file and self._consolidated_problem is None:
            try:
                parts.append(self._consolidated_rows(in_file))
            except Exception as exc:  # noqa: BLE001 - any failure to read is damage
                self._consolidated_damaged(exc)
                own = in_file + own
        elif in_file:
            own = in_file + own
        for s in own:
            df, why = self._symbol_file_rows(s, idx.loc[s])
            if df is None and idx.at[s, "row_group"] >= 0:
                df = self._panel_bars(s, why)
            if df is None:
                errors[s] = why
                continue
            if len(df) == 0:
                errors[s] = "no bars (empty file)"
                continue
            df.insert(
                0, "symbol", pd.Categorical([s] * len(df), categories=pd.Index([s], dtype=object))
            )
            parts.append(df)
        if len(parts) > 1:
            cats = pd.Index([c for p in parts for c in p["symbol"].cat.categories], dtype=object)
            for p in parts:
                p["symbol"] = p["symbol"].cat.set_categories(cats)
        out = pd.concat(parts, ignore_index=True) if parts else _empty_long()
        out["date"] = pd.to_datetime(out["date"])
        out.attrs["errors"] = errors
        return out

    # -- the time-major panel ---------------------------------------------
    def panel(self) -> BarPanel | None:
        """This version's panel, checked against its index; None (after one warning naming the
        cause) when there is none or it cannot be trusted: the caller reads the Parquet files."""
        if self._panel is not None or self.panel_problem is not None:
            return self._panel
        if "panel" not in self.files or "panel_columns" not in self.files:
            self.panel_problem = (
                f"version {self.version} has no panel (written by a writer that predates "
                "it); `technic data panel` adds one"
            )
        else:
            files = (self.files["panel"], self.files["panel_columns"], self.file("index"))
            try:
                self._panel = OPENED.get(files, lambda: BarPanel.open(*files[:2], self.index()))
            except PanelProblem as exc:
                self._still_retained()
                self.panel_problem = str(exc)
        if self.panel_problem is not None:
            self._warn(
                "panel",
                f"{self.root}: not using the panel: {self.panel_problem}; reading "
                f"{self.file('bars').name} instead (same bars, slower)",
            )
        return self._panel

    def _panel_block(self, panel: BarPanel, order: list[str]) -> BarBlock | None:
        """``order``'s bars as column slices of the panel (None: a symbol needs its own file)."""
        idx = self.index()
        cols = panel.columns_of(order)
        if (cols < 0).any():
            known = idx.index.get_indexer([s for s, c in zip(order, cols) if c < 0])
            if (known >= 0).any():
                return None  # a symbol kept as it was (unreadable at import): its own file
        errors: dict[str, str] = {}
        bad_latest: dict[str, float] = {}
        keep: list[int] = []
        seen: set[str] = set()
        good = panel.good
        for s, c in zip(order, cols.tolist()):
            if s in seen:
                continue
            seen.add(s)
            if c < 0:
                errors[s] = "no bars (the store holds none for it)"
            elif not good[c]:
                errors[s] = panel.errors[s]
                bar = panel.error_bars.get(s)
                if bar is not None:
                    bad_latest[s] = float(bar[1][3])
            else:
                keep.append(c)
        k = np.asarray(keep, dtype=np.int64)
        lens = panel.n_bars[k]
        t = int(lens.max()) if k.size else 0
        big_t = panel.data.shape[1]
        r0 = big_t - t
        if panel.large:
            # past a gigabyte the columns are read, not mapped (see BarPanel.read_block)
            got = panel.read_block(r0, k)
            fields = {f: got[q] for q, f in enumerate(BAR_FIELDS)}
        elif k.size and np.array_equal(k, np.arange(k[0], k[0] + k.size)):
            # consecutive columns: views of the mapped file, nothing copied
            fields = {
                f: np.asarray(panel.data[q, r0:, k[0] : k[0] + k.size])
                for q, f in enumerate(BAR_FIELDS)
            }
        else:
            got = gather(panel.data, r0, k)
            fields = {f: got[q] for q, f in enumerate(BAR_FIELDS)}
        last = panel.last[k].astype("datetime64[ms]").astype("datetime64[D]")
        return BarBlock(panel.symbols[k], fields, lens.astype(np.int64), last, errors, bad_latest)

    def block(self, symbols=None) -> BarBlock:
        """Checked bars of ``symbols`` as one right-aligned ``(T, N)`` block: column slices of
        the panel, or (without a usable panel) read from bars.parquet and laid out."""
        order = list(self.index().index) if symbols is None else list(symbols)
        panel = self.panel()
        if panel is not None:
            panel.prefault()
            out = self._panel_block(panel, order)
            if out is not None:
                return out
        df = self.long(symbols)
        return BarBlock.from_long(df, order, errors=df.attrs.get("errors"))

    def session_rows(self, date) -> pd.DataFrame | None:
        """Every symbol's bar on session ``date`` from the panel's rows (None: no usable panel).

        A column whose bars are consecutive sessions of the calendar has its bar of a
        session at a known row; a bad symbol's is its latest bar; the few other symbols
        (gaps in their sessions) are read from their bars.
        """
        if self.frequency != "daily":
            return None  # sessions of intraday bars are not rows of their calendar
        panel = self.panel()
        if panel is None:
            return None
        day = np.datetime64(date, "D").astype("datetime64[ms]").astype(np.int64)
        idx = self.index()
        t = panel.data.shape[1]
        cal = panel.calendar
        at = int(np.searchsorted(cal, day))
        good = panel.good
        regular = good & panel.aligned
        back = np.searchsorted(cal, panel.last) - at  # sessions from the day to the last bar
        in_calendar = at < len(cal) and cal[at] == day
        has = regular & (back >= 0) & (back < panel.n_bars) & in_calendar
        cols = np.flatnonzero(has)
        rows = (t - 1 - back[cols]).astype(np.int64)
        if panel.large and len(rows):
            # the few rows the day is in, read (a large panel is not mapped page by page)
            values = {f: np.empty(len(rows)) for f in BAR_FIELDS}
            for r in np.unique(rows):
                on = rows == r
                got = panel.read_rows(int(r), int(r) + 1)[:, 0, :]
                for q, f in enumerate(BAR_FIELDS):
                    values[f][on] = got[q][cols[on]]
        else:
            values = {f: panel.data[q][rows, cols] for q, f in enumerate(BAR_FIELDS)}
        parts = [pd.DataFrame({"symbol": panel.symbols[cols], **values, "_k": cols})]
        last_session = self.meta.get("last_session")
        is_last = last_session is not None and np.datetime64(last_session, "D") == np.datetime64(
            date, "D"
        )
        irregular = [str(s) for s in panel.symbols[good & ~panel.aligned]]
        bad_day, bad_other = [], []
        for s, (d, bar) in panel.error_bars.items():
            if d == day:
                bad_day.append((s, bar))
            elif d > day:
                bad_other.append(s)  # may hold the day further back
        if bad_day:
            k = panel.columns_of([s for s, _ in bad_day])
            parts.append(
                pd.DataFrame(
                    {
                        "symbol": [s for s, _ in bad_day],
                        **{f: [b[q] for _, b in bad_day] for q, f in enumerate(BAR_FIELDS)},
                        "_k": k,
                    }
                )
            )
        # the last session's snapshot never held symbols kept from an unreadable file
        carried = [] if is_last else [s for s in idx.index[idx["row_group"] < 0]]
        others = irregular + bad_other + carried
        if others:
            long = self.long(others)
            d = long[long["date"].to_numpy().astype("datetime64[D]") == np.datetime64(date, "D")]
            d = d.drop_duplicates("symbol", keep="last")
            if len(d):
                sym = d["symbol"].astype(str).to_numpy()
                parts.append(
                    pd.DataFrame(
                        {
                            "symbol": sym,
                            **{f: d[f].to_numpy(np.float64) for f in BAR_FIELDS},
                            "_k": idx.index.get_indexer(sym),
                        }
                    )
                )
        out = pd.concat(parts, ignore_index=True).sort_values("_k", kind="stable")
        out.insert(1, "date", pd.to_datetime(np.full(len(out), day).astype("datetime64[ms]")))
        return out.drop(columns="_k").reset_index(drop=True)

    def snapshot(self, date=None) -> pd.DataFrame:
        """Every symbol's bar on one session (default: the store's last), one row each.

        From the panel's rows (``session_rows``); without a usable panel the last
        session comes from the version's ``snapshot.parquet`` and other sessions (or a
        damaged snapshot file) from the bars themselves.
        """
        last = self.meta.get("last_session")
        day = np.datetime64(date or last, "D")
        if last is not None:
            rows = self.session_rows(day)
            if rows is not None:
                return rows
        snap = None
        if last is not None and day == np.datetime64(last, "D"):
            path = self.file("snapshot")
            try:
                snap = pq.read_table(path, page_checksum_verification=True).to_pandas(
                    date_as_object=False
                )
                miss = [c for c in ("symbol", "date", *BAR_FIELDS) if c not in snap.columns]
                if miss:
                    raise StoreError(f"lacks columns {', '.join(miss)}")
            except Exception as exc:  # noqa: BLE001 - any failure to read is damage
                self._warn(
                    "snapshot",
                    f"{path} (the snapshot) is damaged ({_problem(exc)}); "
                    "taking the last session's bars from the bars instead",
                )
                snap = None
        if snap is None:
            df = self.long()
            d = df[df["date"].to_numpy().astype("datetime64[D]") == day]
            snap = d.drop_duplicates("symbol", keep="last").assign(
                symbol=lambda x: x["symbol"].astype(str)
            )
            snap = snap[["symbol", "date", *BAR_FIELDS]]
        snap["date"] = pd.to_datetime(snap["date"])
        return snap.reset_index(drop=True)


def __getattr__(name: str):
    # write_store lived here before the writer had its own module
    if name == "write_store":
        from .writer import write_store

        return write_store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
