"""The one write path of a store: locked, staged beside the old files, committed by one rename.

Layout (format 3)::

    manifest.json                the commit point: store version, meta, the version's files
    writer.lock                  one writer at a time (``lock.StoreLock``)
    v/N/manifest.json            version N's manifest, kept while version N is retained
    v/N/universe.parquet         SPEC's universe table
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
LEGACY_FILES = ("meta.json", "manifest.parquet", "bars.parquet", "snapshot.parquet", "universe.parquet")


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
        t = pq.read_table(root / manifest["files"]["index"], columns=["symbol", "file", "file_size"])
    except Exception:  # noqa: BLE001 - an unreadable index reuses nothing; everything is rewritten
        return None
    return t.to_pandas().set_index("symbol")


def write_store(root: Path | str, universe: pd.DataFrame, long_bars: pd.DataFrame,
                meta: dict | None = None, *, carry: pd.DataFrame | None = None,
                lock: StoreLock | None = None, lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT_S,
                purpose: str = "write_store", log=None) -> Path:
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
            raise StoreError(f"write_store({root}) was handed a lock it does not hold on this store")
        return _commit(root, universe, long_bars, meta or {}, carry)
    with StoreLock(root, purpose=purpose, timeout=lock_timeout, log=log):
        return _commit(root, universe, long_bars, meta or {}, carry)


def _commit(root: Path, universe: pd.DataFrame, long_bars: pd.DataFrame, meta: dict,
            carry: pd.DataFrame | None) -> Path:
    durable = _durable()
    base = read_manifest(root)
    if base is not None and base.get("format") != STORE_FORMAT:
        raise StoreError(f"{root}: store format {base.get('format')!r}, this version writes {STORE_FORMAT}")
    version = int(base["version"]) + 1 if base is not None else 1
    bars = long_bars.reset_index(drop=True)
    if len(bars):
        bars = bars.assign(symbol=bars["symbol"].astype(str))
    names, starts, lengths, content = long_fingerprints(bars) if len(bars) else (
        np.array([], object), np.array([], np.int64), np.array([], np.int64), np.array([], np.uint64))
    carry = carry if carry is not None and len(carry) else None
    bad = {s: p for s in [*names, *([] if carry is None else carry.index)]
           if (p := symbol_name_problem(str(s)))}
    if bad:
        s, p = next(iter(bad.items()))
        raise StoreError(f"{len(bad)} symbol name(s) cannot be stored, e.g. {s!r}: {p}")

    vdir = root / VERSIONS_DIR / str(version)
    if vdir.exists():          # a crashed writer's staging: nothing names it
        shutil.rmtree(vdir)
    vdir.mkdir(parents=True)
    (root / "bars").mkdir(exist_ok=True)

    # 1. per-symbol files, named by content: only changed symbols are written
    table = pa.Table.from_pandas(bars[["date", *BAR_FIELDS]], schema=BARS_SCHEMA, preserve_index=False)
    reuse = _base_files(root, base)
    files = [symbol_file_name(s, c) for s, c in zip(names, content)]
    sizes = np.zeros(len(names), np.int64)
    written: list[Path] = []
    for k, (s, a, m, f) in enumerate(zip(names, starts, lengths, files)):
        path = root / f
        if reuse is not None and s in reuse.index and reuse.at[s, "file"] == f:
            want = int(reuse.at[s, "file_size"])
            try:
                if path.stat().st_size == want:
                    sizes[k] = want
                    continue
            except OSError:
                pass                # gone or damaged: written again below
        sizes[k] = _write_parquet(table.slice(a, m), path, durable=False)   # synced together below
        written.append(path)
        if len(written) == 1:
            _checkpoint("symbol-file")
    if durable:
        _fsync_all(written)
    _checkpoint("symbol-files")

    # 2. the version's own files
    group_of = np.arange(len(names)) // ROW_GROUP_SYMBOLS
    consolidated = vdir / "bars.parquet"
    with pq.ParquetWriter(consolidated, BARS_SCHEMA, write_page_checksum=True) as writer:
        for g in range(int(group_of.max()) + 1 if len(names) else 0):
            idx = np.flatnonzero(group_of == g)
            a = starts[idx[0]]
            b = starts[idx[-1]] + lengths[idx[-1]]
            writer.write_table(table.slice(a, b - a), row_group_size=b - a)
    group_start = {g: starts[np.flatnonzero(group_of == g)[0]] for g in np.unique(group_of)}
    ends = starts + lengths - 1
    dates = bars["date"].to_numpy().astype("datetime64[ms]") if len(bars) else np.array([], "datetime64[ms]")
    index = pd.DataFrame({
        "symbol": names.astype(str),
        "file": files,
        "content": content.astype(np.uint64),
        "file_size": sizes,
        "n_bars": lengths.astype(np.int64),
        "row_group": group_of.astype(np.int32),
        "offset": np.array([a - group_start[g] for a, g in zip(starts, group_of)], dtype=np.int64),
        "first": dates[starts] if len(names) else dates,
        "last": dates[ends] if len(names) else dates,
        **{f"last_{f}": bars[f].to_numpy(np.float64)[ends] if len(names) else np.zeros(0) for f in BAR_FIELDS},
    })
    if carry is not None:
        kept = carry.reset_index().reindex(columns=index.columns)
        kept["row_group"] = -1          # not in this version's bars.parquet: read from its own file
        kept["offset"] = 0
        index = pd.concat([index, kept], ignore_index=True)
    if index["symbol"].duplicated().any():
        raise StoreError(f"symbol {index['symbol'][index['symbol'].duplicated()].iloc[0]!r} is given twice")
    index_size = _write_parquet(pa.Table.from_pandas(index, schema=INDEX_SCHEMA, preserve_index=False),
                                vdir / "index.parquet", durable)
    uni = pa.Table.from_pandas(universe[list(UNIVERSE_COLUMNS)], schema=UNIVERSE_SCHEMA, preserve_index=False)
    _write_parquet(uni, vdir / "universe.parquet", durable)
    day = dates.astype("datetime64[D]")
    last_day = day.max() if len(day) else None
    if carry is not None and carry["last"].notna().any():
        carried_last = np.datetime64(carry["last"].max(), "D")
        last_day = carried_last if last_day is None else max(last_day, carried_last)
    snap = bars[day == last_day] if last_day is not None else bars.iloc[:0]
    snap = snap.drop_duplicates("symbol", keep="last")
    _write_parquet(pa.Table.from_pandas(snap[["symbol", "date", *BAR_FIELDS]].reset_index(drop=True),
                                        preserve_index=False), vdir / "snapshot.parquet", durable)
    write_panel(vdir, bars, names, starts, lengths, content)
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
        "files": {"universe": f"{rel}/universe.parquet", "index": f"{rel}/index.parquet",
                  "bars": f"{rel}/bars.parquet", "snapshot": f"{rel}/snapshot.parquet",
                  "panel": f"{rel}/{P.PANEL_FILE}", "panel_columns": f"{rel}/{P.PANEL_COLUMNS_FILE}"},
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


def write_panel(vdir: Path, bars: pd.DataFrame, names: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                content: np.ndarray) -> None:
    """The version's time-major panel (``universe.panel``): one column per symbol of ``bars``, in
    its order (the index's), each symbol's bad-data reason checked once here, not by every scan."""
    n = len(names)
    bad = check_long(bars) if len(bars) else {}
    good = np.array([s not in bad for s in names], dtype=bool)
    rows = int(lengths[good].max()) if good.any() else 0
    dates = ms(bars["date"].to_numpy()) if len(bars) else np.zeros(0, np.int64)
    calendar, aligned = P.calendar_and_alignment(dates, starts, lengths, good)
    arr = P.open_for_write(vdir / P.PANEL_FILE, rows, n)
    if rows:
        P.fill_from_long(arr, 0, {f: bars[f].to_numpy(np.float64) for f in BAR_FIELDS}, starts, lengths, good)
    arr.flush()
    del arr
    nat = np.iinfo(np.int64).min
    ends = starts + lengths - 1
    prev = np.where(lengths >= 2, dates[np.maximum(ends - 1, 0)] if n else np.zeros(0, np.int64), nat)
    error_bars: dict[str, tuple[int, np.ndarray]] = {}
    cols = np.column_stack([bars[f].to_numpy(np.float64) for f in BAR_FIELDS]) if len(bars) else None
    for k in np.flatnonzero(~good):
        d = dates[starts[k]:starts[k] + lengths[k]]
        ok = d != nat
        if ok.any():
            i = int(np.flatnonzero(d == d[ok].max())[-1])    # the latest date's last bar
            error_bars[str(names[k])] = (int(d[i]), cols[starts[k] + i].copy())
    columns = P.PanelColumns(np.asarray(names, dtype=object), np.asarray(content, np.uint64),
                             np.asarray(lengths, np.int64), dates[starts] if n else dates,
                             prev.astype(np.int64), dates[ends] if n else dates, aligned,
                             {str(k): v for k, v in bad.items()}, error_bars)
    P.write_columns(vdir / P.PANEL_COLUMNS_FILE, columns, rows, calendar)
    _checkpoint("panel")


def rebuild_panel(root: Path | str, lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT_S, log=None) -> int:
    """Commit the current version's bars again, with a fresh panel (``technic data panel``).
    Per-symbol files are reused (their names are their content); symbols no copy of which can
    be read are kept as they are.  Returns the new version."""
    from .store import Store
    root = Path(root)
    with StoreLock(root, purpose="technic data panel", timeout=lock_timeout, log=log):
        store = Store(root, panel=False)
        long = store.long()
        errors = long.attrs.get("errors", {})
        carry = store.index().loc[[s for s in errors if s in store.index().index]] if errors else None
        long = long.assign(symbol=long["symbol"].astype(str))
        meta = {k: v for k, v in store.meta.items()
                if k not in ("format", "version", "n_symbols", "n_bar_symbols", "max_bars", "last_session",
                             "frequency")}
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


def retained_versions(root: Path, keep_s: float | None = None, now: float | None = None) -> list[int]:
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
            live.update(pq.read_table(root / man["files"]["index"], columns=["file"])["file"].to_pylist())
        except Exception as exc:  # noqa: BLE001
            # an unreadable index of a retained version: keep every file rather than guess
            raise StoreError(f"{root}: version {v}'s index cannot be read ({exc}); "
                             "not collecting garbage") from None
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
        out.extend(d for d in sorted(vroot.iterdir()) if not (d.name.isdigit() and int(d.name) in keep))
    bars_dir = root / "bars"
    legacy = _legacy(root)
    if bars_dir.is_dir():
        for p in sorted(bars_dir.iterdir()):
            name = f"bars/{p.name}"
            ours = "@" in p.name or p.name.startswith(".tmp-") or (legacy and p.suffix == ".parquet")
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
