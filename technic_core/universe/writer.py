"""The one write path of a store: locked, staged beside the old files, committed by one rename.

Layout (format 3)::

    manifest.json                the commit point: store version, meta, the version's files
    writer.lock                  one writer at a time (``lock.StoreLock``)
    v/N/manifest.json            version N's manifest, kept while version N is retained
    v/N/universe.parquet         the universe table (docs/scan.md)
    v/N/index.parquet            per symbol: its file, content version, bar count, first and
                                 last date, last bar, place in bars.parquet
    v/N/bars.parquet             every symbol's bars in one long file, row groups on symbol
                                 boundaries, Parquet page checksums on
    v/N/snapshot.parquet         every symbol's bar on the last session
    v/N/panel.npy                the same bars time-major: (5, T, N) float64, memory-mapped
                                 by scans (``panel.py``)
    v/N/panel.parquet            the panel's columns: symbol, content version, dates, errors
    bars/SYMBOL@CONTENT.parquet  one symbol's bars, named by their content version

A symbol's content version is the fingerprint of its bars
(``fingerprint.py``): equal bars, equal name.  So a file is never rewritten
in place, a write only adds the files of symbols whose bars changed, and
re-importing unchanged data writes nothing.

A commit, under the lock:

1. every new file is written beside the old ones (per-symbol files through a
   temporary name and ``os.replace``, so a file at its final name is whole);
2. the version's own files go into ``v/N`` (N = the current version + 1);
3. ``manifest.json`` is replaced by the new one with one ``os.replace``: the
   commit.  A reader opens ``manifest.json`` once and reads only the files it
   names, so it sees version N-1 or version N, never a mix;
4. garbage collection: versions superseded more than ``keep_s`` ago (default
   10 minutes, ``$TECHNIC_STORE_KEEP_S``; the previous version is always
   kept) are removed with every file no retained version names, and so are
   a crashed writer's leftovers.

A crash anywhere before step 3 leaves version N-1 intact (its files are
untouched; the next writer collects the orphans); after it, version N.
Files are fsynced before the manifest that names them is switched
(``$TECHNIC_STORE_FSYNC=0`` turns that off, e.g. for throwaway test stores),
so a power cut cannot leave a manifest naming unwritten data.

Every writer goes through ``write_store``: ``technic data generate``,
``technic data import``, ``append_session``.  The panel is two more entries of
a version's ``files``, written in step 2, so it is committed, retained and
collected with its version and can never disagree with its manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import panel as P
from .fingerprint import long_fingerprints, ms
from .lock import DEFAULT_LOCK_TIMEOUT_S, StoreLock
from .schema import (
    BAR_FIELDS,
    BARS_SCHEMA,
    INDEX_SCHEMA,
    MANIFEST,
    STORE_FORMAT,
    UNIVERSE_COLUMNS,
    UNIVERSE_SCHEMA,
    VERSIONS_DIR,
    StoreError,
    symbol_name_problem,
)
from .validate import check_long

ROW_GROUP_SYMBOLS = 128
DEFAULT_KEEP_S = 600.0
# files of the format-2 layout, removed once a format-3 version is committed over it
LEGACY_FILES = (
    "meta.json",
    "manifest.parquet",
    "bars.parquet",
    "snapshot.parquet",
    "universe.parquet",
)


def _checkpoint(step: str) -> None:
    """A named point of the commit; the fault suite replaces this to crash a writer there."""


def keep_seconds() -> float:
    raw = os.environ.get("TECHNIC_STORE_KEEP_S")
    if not raw:
        return DEFAULT_KEEP_S
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise StoreError(f"TECHNIC_STORE_KEEP_S={raw!r} is not a number of seconds") from None


def _durable() -> bool:
    return os.environ.get("TECHNIC_STORE_FSYNC", "1") != "0"


def symbol_file_name(symbol: str, content: int) -> str:
    return f"bars/{symbol}@{int(content):016x}.parquet"


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_all(paths: list[Path]) -> None:
    """fsync many files at once: threads let the file system batch its journal commits
    (5,277 files: ~0.5 s here, against ~20 s one after another)."""
    if not paths:
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(32, len(paths))) as pool:
        list(pool.map(_fsync_path, paths))


def _replace_into(tmp: Path, final: Path, durable: bool) -> None:
    if durable:
        _fsync_path(tmp)
    os.replace(tmp, final)


def _tmp_beside(path: Path) -> Path:
    return path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")


def _write_parquet(table: pa.Table, path: Path, durable: bool, **kw) -> int:
    tmp = _tmp_beside(path)
    pq.write_table(table, tmp, write_page_checksum=True, **kw)
    size = tmp.stat().st_size
    _replace_into(tmp, path, durable)
    return size


def _write_json(doc: dict, path: Path, durable: bool) -> None:
    tmp = _tmp_beside(path)
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True, default=str))
    _replace_into(tmp, path, durable)


def read_manifest(root: Path, version: int | None = None) -> dict | None:
    """The current manifest (or version ``version``'s), None if there is none."""
    path = root / MANIFEST if version is None else root / VERSIONS_DIR / str(version) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path} is not a readable manifest: {exc}") from None


def _base_files(root: Path, manifest: dict | None) -> pd.DataFrame | None:
    """file -> size of the current version's per-symbol files (what a write may reuse)."""
    if manifest is None:
        return None
    try:
        t = pq.read_table(
            root / manifest["files"]["index"], columns=["symbol", "file", "file_size"]
        )
    except Exception:  # noqa: BLE001 - an unreadable index reuses nothing; everything is rewritten
        return None
    return t.to_pandas().set_index("symbol")


def write_store(
    root: Path | str,
    universe: pd.DataFrame,
    long_bars: pd.DataFrame,
    meta: dict | None = None,
    *,
    carry: pd.DataFrame | None = None,
    lock: StoreLock | None = None,
    lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT_S,
    purpose: str = "write_store",
    log=None,
) -> Path:
    """Commit a new version: ``universe`` and ``long_bars`` (symbol, date, OHLCV; a symbol's rows
    contiguous and in order) are the whole store.

    Writes what it is given (bad bars included: the scan reports them); the
    importer is where bars are checked on the way in.  ``carry``: index rows
    of the current version to keep as they are without reading them (symbols
    whose bars could not be read); ``lock``: a ``StoreLock`` the caller holds
    (a read-modify-write must hold it from its read), else one is taken here.
    """
    root = Path(root)
    if lock is not None:
        if not lock.held or lock.root.resolve() != root.resolve():
            raise StoreError(
                f"write_store({root}) was handed a lock it does not hold on this store"
            )
        return _commit(root, universe, long_bars, meta or {}, carry)
    with StoreLock(root, purpose=purpose, timeout=lock_timeout, log=log):
        return _commit(root, universe, long_bars, meta or {}, carry)


def write_store_blocks(
    root: Path | str,
    universe,
    parts,
    meta: dict | None = None,
    *,
    rows: int,
    columns: int | None = None,
    lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT_S,
    purpose: str = "write_store_blocks",
    log=None,
    progress=None,
) -> Path:
    """``write_store`` for a store larger than memory: ``parts`` yields long frames of
    consecutive symbols (a symbol's rows in one part, the parts together every symbol of
    ``universe``, in its order), written as they come; ``rows``: the panel's rows (at least
    the longest history).  ``universe``: a frame, or a function that returns it once the
    parts are written.  Memory holds one part's bars, not the store's."""
    root = Path(root)
    with StoreLock(root, purpose=purpose, timeout=lock_timeout, log=log):
        return _commit(
            root,
            universe,
            parts,
            meta or {},
            None,
            rows=rows,
            columns=columns if columns is not None else len(universe),
            progress=progress,
        )


class _Panel:
    """The version's panel as its parts arrive: columns in the index's order."""

    def __init__(self, vdir: Path, rows: int | None, columns: int | None):
        self.vdir, self.rows, self.columns = vdir, rows, columns
        self.arr = None
        self.col = 0
        self.parts: list[dict] = []
        self.calendar = np.zeros(0, np.int64)

    def add(self, bars: pd.DataFrame, names, starts, lengths, content) -> None:
        n = len(names)
        bad = check_long(bars) if len(bars) else {}
        good = np.array([s not in bad for s in names], dtype=bool)
        if self.arr is None:
            rows = (
                self.rows
                if self.rows is not None
                else (int(lengths[good].max()) if good.any() else 0)
            )
            self.arr = P.open_for_write(
                self.vdir / P.PANEL_FILE, rows, self.columns if self.columns is not None else n
            )
        if self.col + n > self.arr.shape[2]:
            raise StoreError(
                f"the panel has {self.arr.shape[2]} columns; the parts hold more symbols"
            )
        dates = ms(bars["date"].to_numpy()) if len(bars) else np.zeros(0, np.int64)
        cal, consecutive = P.calendar_and_alignment(dates, starts, lengths, good)
        self.calendar = np.union1d(self.calendar, cal)
        if self.arr.shape[1]:
            self.arr[:, :, self.col : self.col + n] = np.nan
            P.fill_from_long(
                self.arr,
                self.col,
                {f: bars[f].to_numpy(np.float64) for f in BAR_FIELDS},
                starts,
                lengths,
                good,
            )
            if self.columns is not None:
                # a store written in parts: each part's pages go to the file and leave this
                # process's resident set (a 100,000-symbol panel is 2 GB)
                self.arr.flush()
                P.drop_pages(self.arr)
        nat = np.iinfo(np.int64).min
        ends = starts + lengths - 1
        prev = np.where(
            lengths >= 2, dates[np.maximum(ends - 1, 0)] if n else np.zeros(0, np.int64), nat
        )
        error_bars: dict[str, tuple[int, np.ndarray]] = {}
        for k in np.flatnonzero(~good):
            d = dates[starts[k] : starts[k] + lengths[k]]
            ok = d != nat
            if ok.any():
                i = int(np.flatnonzero(d == d[ok].max())[-1])  # the latest date's last bar
                error_bars[str(names[k])] = (
                    int(d[i]),
                    np.array([bars[f].to_numpy(np.float64)[starts[k] + i] for f in BAR_FIELDS]),
                )
        self.parts.append(
            {
                "names": np.asarray(names, dtype=object),
                "content": np.asarray(content, np.uint64),
                "n_bars": np.asarray(lengths, np.int64),
                "first": dates[starts] if n else dates,
                "prev": prev.astype(np.int64),
                "last": dates[ends] if n else dates,
                "consecutive": consecutive,
                "errors": {str(k): v for k, v in bad.items()},
                "error_bars": error_bars,
            }
        )
        self.col += n

    def finish(self) -> None:
        if self.arr is None:
            self.arr = P.open_for_write(self.vdir / P.PANEL_FILE, 0, 0)
        if self.col != self.arr.shape[2]:
            raise StoreError(
                f"the panel was opened for {self.arr.shape[2]} symbols; the parts held {self.col}"
            )
        self.arr.flush()
        rows = self.arr.shape[1]
        del self.arr
        cat = {
            k: np.concatenate([p[k] for p in self.parts]) if self.parts else np.zeros(0)
            for k in ("names", "content", "n_bars", "first", "prev", "last", "consecutive")
        }
        errors = {k: v for p in self.parts for k, v in p["errors"].items()}
        error_bars = {k: v for p in self.parts for k, v in p["error_bars"].items()}
        # consecutive sessions of its part's calendar, and as many sessions of the whole
        # calendar from its first to its last bar as it has bars: consecutive in the store's
        cal = self.calendar
        span = (
            (
                np.searchsorted(cal, cat["last"].astype(np.int64))
                - np.searchsorted(cal, cat["first"].astype(np.int64))
                + 1
            )
            if len(cal)
            else np.zeros(len(cat["names"]), np.int64)
        )
        aligned = cat["consecutive"].astype(bool) & (span == cat["n_bars"])
        columns = P.PanelColumns(
            cat["names"].astype(object),
            cat["content"].astype(np.uint64),
            cat["n_bars"].astype(np.int64),
            cat["first"].astype(np.int64),
            cat["prev"].astype(np.int64),
            cat["last"].astype(np.int64),
            aligned,
            errors,
            error_bars,
        )
        P.write_columns(self.vdir / P.PANEL_COLUMNS_FILE, columns, rows, cal)
        _checkpoint("panel")


def _commit(
    root: Path,
    universe: pd.DataFrame,
    parts,
    meta: dict,
    carry: pd.DataFrame | None,
    rows: int | None = None,
    columns: int | None = None,
    progress=None,
) -> Path:
    """Commit a new version from ``parts``: a long frame, or an iterable of long frames of
    consecutive symbols (see ``write_store_blocks``)."""
    durable = _durable()
    base = read_manifest(root)
    if base is not None and base.get("format") != STORE_FORMAT:
        raise StoreError(
            f"{root}: store format {base.get('format')!r}, this version writes {STORE_FORMAT}"
        )
    version = int(base["version"]) + 1 if base is not None else 1
    if isinstance(parts, pd.DataFrame):
        parts = [parts]
    carry = carry if carry is not None and len(carry) else None
    if carry is not None:
        bad = {str(s): p for s in carry.index if (p := symbol_name_problem(str(s)))}
        if bad:
            s, p = next(iter(bad.items()))
            raise StoreError(f"{len(bad)} symbol name(s) cannot be stored, e.g. {s!r}: {p}")

    vdir = root / VERSIONS_DIR / str(version)
    if vdir.exists():  # a crashed writer's staging: nothing names it
        shutil.rmtree(vdir)
    vdir.mkdir(parents=True)
    (root / "bars").mkdir(exist_ok=True)
    reuse = _base_files(root, base)
    consolidated = vdir / "bars.parquet"
    writer = pq.ParquetWriter(consolidated, BARS_SCHEMA, write_page_checksum=True)
    panel = _Panel(vdir, rows, columns)
    index_parts: list[pd.DataFrame] = []
    snap_parts: list[pd.DataFrame] = []
    written: list[Path] = []
    groups = 0  # bars.parquet's row groups so far
    last_day = None
    try:
        for part in progress(parts) if progress else parts:
            bars = part.reset_index(drop=True)
            if len(bars):
                bars = bars.assign(symbol=bars["symbol"].astype(str))
            names, starts, lengths, content = (
                long_fingerprints(bars)
                if len(bars)
                else (
                    np.array([], object),
                    np.array([], np.int64),
                    np.array([], np.int64),
                    np.array([], np.uint64),
                )
            )
            bad = {s: p for s in names if (p := symbol_name_problem(str(s)))}
            if bad:
                s, p = next(iter(bad.items()))
                raise StoreError(f"{len(bad)} symbol name(s) cannot be stored, e.g. {s!r}: {p}")

            # 1. per-symbol files, named by content: only changed symbols are written
            table = pa.Table.from_pandas(
                bars[["date", *BAR_FIELDS]], schema=BARS_SCHEMA, preserve_index=False
            )
            files = [symbol_file_name(s, c) for s, c in zip(names, content)]
            sizes = np.zeros(len(names), np.int64)
            for k, (s, a, m, f) in enumerate(zip(names, starts, lengths, files)):
                path = root / f
                if reuse is not None and s in reuse.index and reuse.at[s, "file"] == f:
                    want = int(reuse.at[s, "file_size"])
                    try:
                        if path.stat().st_size == want:
                            sizes[k] = want
                            continue
                    except OSError:
                        pass  # gone or damaged: written again below
                sizes[k] = _write_parquet(
                    table.slice(a, m), path, durable=False
                )  # synced together below
                written.append(path)
                if len(written) == 1:
                    _checkpoint("symbol-file")

            # 2. this part's rows of the version's own files
            group_of = np.arange(len(names)) // ROW_GROUP_SYMBOLS
            group_start = {}
            for g in range(int(group_of.max()) + 1 if len(names) else 0):
                idx = np.flatnonzero(group_of == g)
                a = starts[idx[0]]
                b = starts[idx[-1]] + lengths[idx[-1]]
                writer.write_table(table.slice(a, b - a), row_group_size=b - a)
                group_start[g] = a
            ends = starts + lengths - 1
            dates = (
                bars["date"].to_numpy().astype("datetime64[ms]")
                if len(bars)
                else np.array([], "datetime64[ms]")
            )
            index_parts.append(
                pd.DataFrame(
                    {
                        "symbol": names.astype(str),
                        "file": files,
                        "content": content.astype(np.uint64),
                        "file_size": sizes,
                        "n_bars": lengths.astype(np.int64),
                        "row_group": (group_of + groups).astype(np.int32),
                        "offset": np.array(
                            [a - group_start[g] for a, g in zip(starts, group_of)], dtype=np.int64
                        ),
                        "first": dates[starts] if len(names) else dates,
                        "last": dates[ends] if len(names) else dates,
                        **{
                            f"last_{f}": bars[f].to_numpy(np.float64)[ends]
                            if len(names)
                            else np.zeros(0)
                            for f in BAR_FIELDS
                        },
                    }
                )
            )
            groups += int(group_of.max()) + 1 if len(names) else 0
            day = dates.astype("datetime64[D]")
            if len(day):
                top = day.max()
                if last_day is None or top >= last_day:
                    if last_day is not None and top > last_day:
                        snap_parts.clear()
                    last_day = top
                    snap_parts.append(bars[day == top])
            panel.add(bars, names, starts, lengths, content)
            del bars, table
        writer.close()
    except BaseException:
        writer.close()
        raise
    if durable:
        _fsync_all(written)
    _checkpoint("symbol-files")
    panel.finish()
    if callable(universe):  # a universe made with its parts (``write_store_blocks``)
        universe = universe()

    index = (
        pd.concat(index_parts, ignore_index=True)
        if index_parts
        else pd.DataFrame(
            {
                c: pd.Series(dtype=t.to_pandas_dtype())
                for c, t in zip(INDEX_SCHEMA.names, INDEX_SCHEMA.types)
            }
        )
    )
    if carry is not None:
        kept = carry.reset_index().reindex(columns=index.columns)
        kept["row_group"] = -1  # not in this version's bars.parquet: read from its own file
        kept["offset"] = 0
        index = pd.concat([index, kept], ignore_index=True)
    if index["symbol"].duplicated().any():
        raise StoreError(
            f"symbol {index['symbol'][index['symbol'].duplicated()].iloc[0]!r} is given twice"
        )
    index_size = _write_parquet(
        pa.Table.from_pandas(index, schema=INDEX_SCHEMA, preserve_index=False),
        vdir / "index.parquet",
        durable,
    )
    uni = pa.Table.from_pandas(
        universe[list(UNIVERSE_COLUMNS)], schema=UNIVERSE_SCHEMA, preserve_index=False
    )
    _write_parquet(uni, vdir / "universe.parquet", durable)
    if carry is not None and carry["last"].notna().any():
        carried_last = np.datetime64(carry["last"].max(), "D")
        if last_day is None or carried_last > last_day:
            snap_parts = []
            last_day = carried_last
    snap = (
        pd.concat(snap_parts, ignore_index=True)
        if snap_parts
        else pd.DataFrame(
            {
                "symbol": pd.Series(dtype=str),
                "date": pd.Series(dtype="datetime64[ms]"),
                **{f: pd.Series(dtype=np.float64) for f in BAR_FIELDS},
            }
        )
    )
    snap = snap.drop_duplicates("symbol", keep="last")
    _write_parquet(
        pa.Table.from_pandas(
            snap[["symbol", "date", *BAR_FIELDS]].reset_index(drop=True), preserve_index=False
        ),
        vdir / "snapshot.parquet",
        durable,
    )
    if durable:
        _fsync_all([consolidated, vdir / P.PANEL_FILE, vdir / P.PANEL_COLUMNS_FILE])
        for d in (root / "bars", vdir):
            _fsync_path(d)
    _checkpoint("artifacts")

    # 3. the commit: one manifest names this version's files
    rel = vdir.relative_to(root)
    manifest = {
        "format": STORE_FORMAT,
        "version": version,
        "committed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "committed_at_s": time.time(),
        "files": {
            "universe": f"{rel}/universe.parquet",
            "index": f"{rel}/index.parquet",
            "bars": f"{rel}/bars.parquet",
            "snapshot": f"{rel}/snapshot.parquet",
            "panel": f"{rel}/{P.PANEL_FILE}",
            "panel_columns": f"{rel}/{P.PANEL_COLUMNS_FILE}",
        },
        "sizes": {"index": index_size},
        "meta": {
            "n_symbols": int(len(universe)),
            "n_bar_symbols": int(len(index)),
            "max_bars": int(index["n_bars"].max()) if len(index) else 0,
            "last_session": str(last_day) if last_day is not None else None,
            "frequency": "daily",
            **{k: v for k, v in meta.items() if k not in ("format", "version")},
        },
    }
    _write_json(manifest, vdir / MANIFEST, durable)
    tmp = _tmp_beside(root / MANIFEST)
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str))
    if durable:
        _fsync_path(tmp)
    _checkpoint("manifest-staged")
    os.replace(tmp, root / MANIFEST)
    if durable:
        _fsync_path(root)
    _checkpoint("committed")

    # 4. what no retained version names
    collect_garbage(root)
    _checkpoint("collected")
    return root


def rebuild_panel(
    root: Path | str, lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT_S, log=None
) -> int:
    """Commit the current version's bars again, with a fresh panel (``technic data panel``).
    Per-symbol files are reused (their names are their content); symbols no copy of which can
    be read are kept as they are.  Returns the new version."""
    from .store import Store

    root = Path(root)
    with StoreLock(root, purpose="technic data panel", timeout=lock_timeout, log=log):
        store = Store(root, panel=False)
        long = store.long()
        errors = long.attrs.get("errors", {})
        carry = (
            store.index().loc[[s for s in errors if s in store.index().index]] if errors else None
        )
        long = long.assign(symbol=long["symbol"].astype(str))
        meta = {
            k: v
            for k, v in store.meta.items()
            if k
            not in (
                "format",
                "version",
                "n_symbols",
                "n_bar_symbols",
                "max_bars",
                "last_session",
                "frequency",
            )
        }
        _commit(root, store.universe(), long, meta, carry)
        return int(read_manifest(root)["version"])


# -- garbage collection ---------------------------------------------------------
def _versions(root: Path) -> dict[int, dict | None]:
    """Every version directory: its manifest, or None where a writer died before writing it."""
    out: dict[int, dict | None] = {}
    vroot = root / VERSIONS_DIR
    if not vroot.is_dir():
        return out
    for d in vroot.iterdir():
        if d.name.isdigit():
            try:
                out[int(d.name)] = read_manifest(root, int(d.name))
            except StoreError:
                out[int(d.name)] = None
    return out


def retained_versions(
    root: Path, keep_s: float | None = None, now: float | None = None
) -> list[int]:
    """Versions a reader may still be reading: the current one, the one before, and those
    superseded less than ``keep_s`` seconds ago."""
    current = read_manifest(root)
    if current is None:
        return []
    cur = int(current["version"])
    keep_s = keep_seconds() if keep_s is None else keep_s
    now = time.time() if now is None else now
    found = _versions(root)
    keep = {cur}
    for v, man in found.items():
        if man is None or v > cur:
            continue
        nxt = found.get(v + 1)
        superseded = nxt.get("committed_at_s") if nxt else None
        if v == cur - 1 or (superseded is not None and now - float(superseded) < keep_s):
            keep.add(v)
    return sorted(keep)


def _live_files(root: Path, versions: list[int]) -> set[str]:
    live: set[str] = set()
    for v in versions:
        man = read_manifest(root, v)
        if man is None:
            continue
        live.update(man["files"].values())
        try:
            live.update(
                pq.read_table(root / man["files"]["index"], columns=["file"])["file"].to_pylist()
            )
        except Exception as exc:  # noqa: BLE001
            # an unreadable index of a retained version: keep every file rather than guess
            raise StoreError(
                f"{root}: version {v}'s index cannot be read ({exc}); not collecting garbage"
            ) from None
    return live


def unreferenced_files(root: Path | str, keep_s: float | None = None) -> list[Path]:
    """Files and version directories that garbage collection would remove now."""
    root = Path(root)
    keep = retained_versions(root, keep_s)
    if not keep:
        return []
    live = _live_files(root, keep)
    out: list[Path] = []
    vroot = root / VERSIONS_DIR
    if vroot.is_dir():
        out.extend(
            d for d in sorted(vroot.iterdir()) if not (d.name.isdigit() and int(d.name) in keep)
        )
    bars_dir = root / "bars"
    legacy = _legacy(root)
    if bars_dir.is_dir():
        for p in sorted(bars_dir.iterdir()):
            name = f"bars/{p.name}"
            ours = (
                "@" in p.name or p.name.startswith(".tmp-") or (legacy and p.suffix == ".parquet")
            )
            if ours and name not in live:
                out.append(p)
    out.extend(sorted(root.glob(".tmp-*")))
    if legacy:
        out.extend(root / f for f in LEGACY_FILES if (root / f).exists())
    return out


def _legacy(root: Path) -> bool:
    """A format-2 store's files lie beside this format-3 store (it was written over one)."""
    try:
        return json.loads((root / "meta.json").read_text()).get("format") == 2
    except (OSError, ValueError, AttributeError):
        return False


def collect_garbage(root: Path | str, keep_s: float | None = None) -> list[Path]:
    """Remove what no retained version names (call with the writer lock held)."""
    gone = unreferenced_files(root, keep_s)
    for p in gone:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            try:
                p.unlink()
            except FileNotFoundError:
                pass
    return gone
