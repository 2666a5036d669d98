"""The time-major panel: a version's bars as ``(T, N)`` float64 arrays, memory-mapped.

The scan's engine works on ``(T, N)`` blocks (time on axis 0, symbols on
axis 1); the per-symbol files are symbol-major.  The panel is the same bars
laid out once, at commit time, the way the engine reads them, so a scan maps
a file and slices columns instead of reading Parquet into pandas and
pivoting it (issue 16).  It is two files of a version, named in its
manifest and written by the same commit as every other file of the version:

``v/N/panel.npy``
    one ``(5, T, N)`` little-endian float64 array (open, high, low, close,
    volume), C order: ``panel[f, t]`` is one contiguous row of N symbols.
    Column j is the store's j-th symbol (the order of the version's index),
    right-aligned by bar: its ``n_bars`` bars fill rows ``T - n_bars .. T-1``
    (row T-1 is every symbol's last bar, whatever its date), NaN above.  A
    symbol whose bars are bad (``validate.check_long``) has a column of NaN
    and an error.

``v/N/panel.parquet``
    one row per column: symbol, content version, bar count, first, previous
    and last date, whether its bars are consecutive sessions of the store's
    calendar (``aligned``), and for a bad symbol its error and the bar of its
    latest date (which the price rule still reads).  Its schema metadata
    holds the format, the shape and the calendar (every session of the
    version, in order).

Why ``.npy`` and not Arrow IPC / Feather v2 (both map without a copy, both
are uncompressed here): the panel is written column block by column block
into a memory-mapped file (``np.lib.format.open_memmap``), so a universe of
100,000 symbols is written with one block's bars in memory; Arrow's IPC
writer takes whole record batches, and a ``(T, N)`` field is one column of
``T * N`` values, so it would need the whole field in memory at once.  Read
costs are the same (a header, then ``mmap``): ``tools/measure_panel.py``.

``BarPanel.open`` checks the panel against the version's index before any
bar is used: the symbols, their order and their content versions must be
the index's, the file must be a whole ``(5, T, N)`` float64 array, and its
last row must hold the index's last bars.  Any difference (a panel carried
over from another version, a symbol added or removed behind its back, a
corrected bar, a truncated or foreign file) is a ``PanelProblem`` naming the
file and the cause; the store then reads ``bars.parquet`` instead.
"""

from __future__ import annotations

import json
import mmap
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numba import njit

from .schema import BAR_FIELDS

PANEL_FORMAT = 1
PANEL_FILE = "panel.npy"
PANEL_COLUMNS_FILE = "panel.parquet"
META_KEY = b"technic.panel"
DTYPE = np.dtype("<f8")
# Panels up to this size have every page mapped at once before a whole-universe read
# (``BarPanel.prefault``); larger ones page in what a scan touches, block by block
# (``BarPanel.release``).
POPULATE_MAX_BYTES = 1 << 30
MADV_POPULATE_READ = getattr(mmap, "MADV_POPULATE_READ", 22)  # Linux 5.14

PANEL_COLUMNS_SCHEMA = pa.schema(
    [
        ("symbol", pa.string()),
        ("content", pa.uint64()),
        ("n_bars", pa.int64()),
        ("first", pa.timestamp("ms")),
        ("prev", pa.timestamp("ms")),  # the date of the bar before the last (null with one bar)
        ("last", pa.timestamp("ms")),
        ("aligned", pa.bool_()),  # bars are consecutive sessions of the calendar
        ("error", pa.string()),  # null: the column holds the symbol's bars
        ("error_date", pa.timestamp("ms")),  # a bad symbol's latest date, and its bar on that date
        *[(f"error_{f}", pa.float64()) for f in BAR_FIELDS],
    ]
)


class PanelProblem(Exception):
    """The panel cannot be used for this version; ``str()`` names the file and the cause."""


# -- writing ---------------------------------------------------------------------
@dataclass
class PanelColumns:
    """What ``panel.parquet`` holds for every column (built by the writer)."""

    symbols: np.ndarray  # (N,) str
    content: np.ndarray  # (N,) uint64
    n_bars: np.ndarray  # (N,) int64
    first: np.ndarray  # (N,) int64 ms
    prev: np.ndarray  # (N,) int64 ms, INT64_MIN without a previous bar
    last: np.ndarray  # (N,) int64 ms
    aligned: np.ndarray  # (N,) bool
    errors: dict[str, str]
    error_bars: dict[str, tuple[int, np.ndarray]]  # bad symbol -> (date ms, (5,) bar)

    def table(self, rows: int, calendar: np.ndarray) -> pa.Table:
        n = len(self.symbols)
        err = np.array([self.errors.get(s) for s in self.symbols], dtype=object)
        eb = [self.error_bars.get(s) for s in self.symbols]
        edate = np.array([b[0] if b is not None else np.iinfo(np.int64).min for b in eb], np.int64)
        ebar = np.array(
            [b[1] if b is not None else np.full(5, np.nan) for b in eb], np.float64
        ).reshape(n, 5)

        def stamps(a):
            a = np.asarray(a, np.int64)
            return pa.array(
                a.astype("datetime64[ms]"),
                type=pa.timestamp("ms"),
                mask=a == np.iinfo(np.int64).min,
            )

        cols = [
            pa.array(self.symbols.astype(str), pa.string()),
            pa.array(self.content, pa.uint64()),
            pa.array(self.n_bars, pa.int64()),
            stamps(self.first),
            stamps(self.prev),
            stamps(self.last),
            pa.array(self.aligned, pa.bool_()),
            pa.array(err, pa.string()),
            stamps(edate),
            *[pa.array(ebar[:, q], pa.float64()) for q in range(5)],
        ]
        meta = {
            "format": PANEL_FORMAT,
            "rows": int(rows),
            "columns": int(n),
            "fields": list(BAR_FIELDS),
            "calendar_ms": [int(x) for x in calendar],
        }
        schema = PANEL_COLUMNS_SCHEMA.with_metadata({META_KEY: json.dumps(meta).encode()})
        return pa.Table.from_arrays(cols, schema=schema)


def calendar_and_alignment(
    dates_ms: np.ndarray, starts: np.ndarray, lengths: np.ndarray, good: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(the sessions of the good symbols' bars, in order; whether each symbol's bars are
    consecutive sessions of it).  ``dates_ms``: a long frame's dates, symbol runs
    ``starts``/``lengths``."""
    keep = np.repeat(good, lengths)
    cal = np.unique(dates_ms[keep]) if keep.any() else np.zeros(0, np.int64)
    aligned = np.zeros(len(starts), bool)
    if len(cal):
        pos = np.searchsorted(cal, dates_ms)
        step = np.ones(len(dates_ms), np.int64)
        step[1:] = np.diff(pos)
        ok = step == 1
        ok[starts[lengths > 0]] = True  # a run's first bar starts it anywhere
        bad_runs = np.add.reduceat(~ok, starts[lengths > 0]) if (lengths > 0).any() else np.zeros(0)
        aligned[lengths > 0] = bad_runs == 0
        aligned &= good
    return cal, aligned


def open_for_write(path: Path, rows: int, columns: int) -> np.ndarray:
    """A new ``(5, rows, columns)`` panel file mapped for writing (zeros: the writer sets every
    column, NaN where a symbol has no bar)."""
    return np.lib.format.open_memmap(
        path, mode="w+", dtype=DTYPE, shape=(len(BAR_FIELDS), rows, columns)
    )


def fill_from_long(
    arr: np.ndarray,
    col0: int,
    values: dict[str, np.ndarray],
    starts: np.ndarray,
    lengths: np.ndarray,
    good: np.ndarray,
) -> None:
    """Put runs of a long frame's columns into panel columns ``col0 ..``, right-aligned
    (run g -> column ``col0 + g``; bad runs stay NaN)."""
    from .store import ranges

    t = arr.shape[1]
    g = np.flatnonzero(good)
    if not g.size:
        return
    lens = lengths[g]
    if (lens > t).any():
        raise ValueError(f"a symbol has {int(lens.max())} bars, the panel {t} rows")
    src = ranges(starts[g], lens)
    rows = ranges(t - lens, lens)
    cols = np.repeat(col0 + g, lens)
    for q, f in enumerate(BAR_FIELDS):
        arr[q][rows, cols] = values[f][src]


def write_columns(path: Path, columns: PanelColumns, rows: int, calendar: np.ndarray) -> None:
    pq.write_table(columns.table(rows, calendar), path, write_page_checksum=True)


# -- reading ---------------------------------------------------------------------
class BarPanel:
    """One version's panel, mapped read-only and checked against the version's index."""

    def __init__(self, path: Path, data: np.ndarray, cols: pd.DataFrame, calendar: np.ndarray):
        self.path = path
        self.data = data  # (5, T, N) read-only memmap
        self.symbols = cols["symbol"].to_numpy(dtype=object)
        self._column: dict[str, int] | None = None  # symbol -> column, built on first use
        self.n_bars = cols["n_bars"].to_numpy(np.int64)
        self.content = cols["content"].to_numpy(np.uint64)
        self.last = _ms(cols["last"])
        self.prev = _ms(cols["prev"])
        self.first = _ms(cols["first"])
        self.aligned = cols["aligned"].to_numpy(bool)
        err = cols["error"].to_numpy(dtype=object)
        bad = np.flatnonzero(pd.notna(err))
        self.errors: dict[str, str] = {str(self.symbols[i]): str(err[i]) for i in bad}
        edate = _ms(cols["error_date"])
        ebars = np.column_stack([cols[f"error_{f}"].to_numpy(np.float64) for f in BAR_FIELDS])
        self.error_bars: dict[str, tuple[int, np.ndarray]] = {
            str(self.symbols[i]): (int(edate[i]), ebars[i]) for i in bad if edate[i] != _NAT
        }
        self.good = np.ones(len(self.symbols), bool)
        self.good[bad] = False
        self.calendar = calendar  # (S,) int64 ms
        self.prefaulted = False
        self.offset = 0  # where the array starts in the file

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape[1], self.data.shape[2]

    def field(self, name: str) -> np.ndarray:
        return self.data[BAR_FIELDS.index(name)]

    @classmethod
    def open(cls, path: Path, columns_path: Path, index: pd.DataFrame) -> BarPanel:
        """Map ``path`` and check it and ``columns_path`` against ``index`` (the version's
        index, symbol as its index); PanelProblem says what is wrong."""
        try:
            table = pq.read_table(columns_path, page_checksum_verification=True)
        except FileNotFoundError:
            raise PanelProblem(f"{columns_path} is missing") from None
        except Exception as exc:  # noqa: BLE001 - any failure to read is damage
            raise PanelProblem(f"{columns_path} is unreadable ({_first_line(exc)})") from None
        raw = (table.schema.metadata or {}).get(META_KEY)
        if raw is None:
            raise PanelProblem(
                f"{columns_path} is not a technic panel's column table (no {META_KEY.decode()} "
                "metadata)"
            )
        try:
            meta = json.loads(raw)
            rows, ncols, fmt = int(meta["rows"]), int(meta["columns"]), int(meta["format"])
            calendar = np.asarray(meta["calendar_ms"], dtype=np.int64)
        except (ValueError, KeyError, TypeError) as exc:
            raise PanelProblem(f"{columns_path}: malformed panel metadata ({exc})") from None
        if fmt != PANEL_FORMAT:
            raise PanelProblem(
                f"{columns_path}: panel format {fmt}, this version reads {PANEL_FORMAT}"
            )
        missing = [c for c in PANEL_COLUMNS_SCHEMA.names if c not in table.column_names]
        if missing or table.num_rows != ncols:
            raise PanelProblem(
                f"{columns_path}: {'lacks ' + ', '.join(missing) if missing else ''}"
                f"{'; ' if missing and table.num_rows != ncols else ''}"
                f"{f'{table.num_rows} rows for {ncols} columns' if table.num_rows != ncols else ''}"
            )
        cols = table.to_pandas(date_as_object=False)
        data = _map(path, (len(BAR_FIELDS), rows, ncols))
        panel = cls(path, data, cols, calendar)
        panel.offset = _data_offset(path) if data.size else 0
        panel._check_against(index)
        return panel

    def _check_against(self, index: pd.DataFrame) -> None:
        """The panel is of exactly the index's bars, or PanelProblem naming the difference."""
        where = f"{self.path}"
        in_file = index
        if "row_group" in index.columns and (index["row_group"].to_numpy() < 0).any():
            in_file = index[index["row_group"].to_numpy() >= 0]
        stored = in_file.index.to_numpy(dtype=object)
        if len(stored) != len(self.symbols) or not np.array_equal(stored, self.symbols):
            have, want = set(self.symbols.tolist()), set(stored.tolist())
            added, removed = sorted(want - have), sorted(have - want)
            if added or removed:
                parts = []
                if added:
                    parts.append(
                        f"{len(added)} symbol(s) the store holds are not in it (e.g. {added[0]})"
                    )
                if removed:
                    parts.append(
                        f"{len(removed)} symbol(s) it holds are no longer in the store "
                        f"(e.g. {removed[0]})"
                    )
                raise PanelProblem(f"{where} is older than the store's files: {'; '.join(parts)}")
            raise PanelProblem(f"{where} lists the store's symbols in another order than its index")
        content = in_file["content"].to_numpy(np.uint64)
        differ = np.flatnonzero(content != self.content)
        if differ.size:
            s = self.symbols[differ[0]]
            raise PanelProblem(
                f"{where} is older than the store's files: {differ.size} symbol(s) have other "
                f"bars in the store (e.g. {s}: content {int(content[differ[0]]):016x}, "
                f"the panel's {int(self.content[differ[0]]):016x})"
            )
        n = in_file["n_bars"].to_numpy(np.int64)
        t = self.data.shape[1]
        good = self.good
        if not np.array_equal(n, self.n_bars) or (n[good] > t).any():
            raise PanelProblem(f"{where}: bar counts differ from the store's index")
        cols = np.flatnonzero(good)
        if cols.size:
            last_rows = self._last_row()[:, cols]
            want = np.column_stack(
                [in_file[f"last_{f}"].to_numpy(np.float64)[cols] for f in BAR_FIELDS]
            ).T
            same = (last_rows == want) | (np.isnan(last_rows) & np.isnan(want))
            if not same.all():
                j = cols[np.flatnonzero(~same.all(axis=0))[0]]
                raise PanelProblem(
                    f"{where}: its last row does not hold the store's last bars "
                    f"(e.g. {self.symbols[j]}); a foreign or damaged file"
                )
            start = t - n[cols]
            above = np.flatnonzero(start > 0)
            above = (
                above[np.linspace(0, above.size - 1, min(above.size, 512)).astype(np.int64)]
                if above.size
                else above
            )  # a sample: each one touches its own page
            if above.size and not np.isnan(self._cells(3, start[above] - 1, cols[above])).all():
                raise PanelProblem(
                    f"{where}: bars above a column's first row; a foreign or damaged file"
                )

    def prefault(self) -> None:
        """Map every page at once (``MADV_POPULATE_READ``), when the panel is small enough: a scan
        that reads every column otherwise takes one page fault per 4 KiB touched (~80 ms for the
        default universe's 106 MB on a busy machine, against ~10 ms for one call).  A rescan,
        which reads one row, does not call it."""
        if self.prefaulted:
            return
        self.prefaulted = True
        mm = _mmap_of(self.data)
        if mm is None or self.data.nbytes > POPULATE_MAX_BYTES:
            return
        try:
            mm.madvise(MADV_POPULATE_READ)
        except (OSError, ValueError):
            pass  # an older kernel: pages fault in as they are read

    def block_done(self) -> None:
        """A scan has finished one block: a panel too large to prefault gives its pages back
        (``release``), so a scan's resident memory stays one block's, whatever the universe."""
        if self.data.nbytes > POPULATE_MAX_BYTES:
            self.release()

    def _last_row(self) -> np.ndarray:
        """Row T-1 of every field, ``(5, N)``: through the map, or read when the panel is large."""
        t = self.data.shape[1]
        if not self.large:
            return np.asarray(self.data[:, t - 1, :])
        return self.read_rows(t - 1, t)[:, 0, :]

    def _cells(self, field: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        if not self.large:
            return self.data[field][rows, cols]
        _, t_all, n = self.data.shape
        out = np.empty(len(rows), dtype=np.float64)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist())):
                out[i : i + 1] = np.frombuffer(
                    os.pread(fd, 8, self.offset + ((field * t_all + r) * n + c) * 8), dtype=DTYPE
                )
        finally:
            os.close(fd)
        return out

    def read_rows(self, r0: int, r1: int | None = None) -> np.ndarray:
        """Rows ``r0:r1`` of every column and field, read from the file: ``(5, r1 - r0, N)``."""
        n = self.data.shape[2]
        r1 = self.data.shape[1] if r1 is None else r1
        return (
            self.read_block(r0, np.arange(n, dtype=np.int64), r1)
            if n
            else np.empty((self.data.shape[0], r1 - r0, 0))
        )

    @property
    def large(self) -> bool:
        return self.data.nbytes > POPULATE_MAX_BYTES

    def read_block(self, r0: int, cols: np.ndarray, r1: int | None = None) -> np.ndarray:
        """Rows ``r0:r1`` (default: to the last) of columns ``cols`` (ascending) of every field,
        ``(5, r1 - r0, len(cols))``, read from the file with one ``pread`` per field and row,
        not through the map.

        For a panel too large to prefault: on a file system with large folios (ext4 on
        Linux 6.x) a fault maps a whole folio, so touching one block's columns of each row
        through the map made every row's folio resident: 2.1 GB for one block of a
        100,000-symbol panel (tools/scale_run.py), where reading them takes the block's bytes.
        """
        fields, t_all, n = self.data.shape
        r1 = t_all if r1 is None else r1
        cols = np.asarray(cols, dtype=np.int64)
        out = np.empty((fields, r1 - r0, cols.size), dtype=np.float64)
        if not out.size:
            return out
        c0, c1 = int(cols[0]), int(cols[-1]) + 1
        span = np.empty((r1 - r0, c1 - c0), dtype=np.float64)
        width = (c1 - c0) * DTYPE.itemsize
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for f in range(fields):
                base = self.offset + ((f * t_all + r0) * n + c0) * DTYPE.itemsize
                step = n * DTYPE.itemsize
                for t in range(r1 - r0):
                    if os.preadv(fd, [span[t]], base + t * step) != width:
                        raise PanelProblem(
                            f"{self.path}: short read (the file changed under the reader)"
                        )
                out[f] = span if c1 - c0 == cols.size else span[:, cols - c0]
        finally:
            os.close(fd)
        return out

    def release(self) -> None:
        """Drop the mapped pages this process has touched from its resident set (they stay in
        the page cache): a scan of a universe larger than memory calls it after each block,
        so its resident memory is one block's bars, not the universe's."""
        mm = _mmap_of(self.data)
        if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            mm.madvise(mmap.MADV_DONTNEED)

    def columns_of(self, symbols) -> np.ndarray:
        """Each symbol's column, -1 where the panel has none."""
        if self._column is None:  # a plain dict: pandas' text indexes cost ms per block
            self._column = {str(s): j for j, s in enumerate(self.symbols)}
        get = self._column.get
        return (
            np.fromiter((get(s, -1) for s in symbols), dtype=np.int64, count=len(symbols))
            if hasattr(symbols, "__len__")
            else np.array([get(s, -1) for s in symbols], dtype=np.int64)
        )


_NAT = np.iinfo(np.int64).min


def _ms(col: pd.Series) -> np.ndarray:
    a = col.to_numpy()
    if np.issubdtype(a.dtype, np.datetime64):
        return a.astype("datetime64[ms]").astype(np.int64)
    return np.asarray(pd.to_datetime(col), dtype="datetime64[ms]").astype(np.int64)


def drop_pages(arr: np.ndarray) -> None:
    """Unmap the pages of a memory-mapped array from this process (they stay in the page cache
    and the file): after ``flush``, a written part of a panel costs no resident memory."""
    mm = _mmap_of(arr)
    if mm is None:
        mm = getattr(arr, "_mmap", None)
    if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        mm.madvise(mmap.MADV_DONTNEED)


def _mmap_of(arr: np.ndarray):
    base = arr
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
        if isinstance(base, memoryview):
            base = base.obj
    return base


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def _map(path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    """The panel array, memory-mapped read-only; PanelProblem if it is not a whole one of ``shape``."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise PanelProblem(f"{path} is missing") from None
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            hdr = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )(fh)
            offset = fh.tell()
    except Exception as exc:  # noqa: BLE001 - not an .npy file at all
        raise PanelProblem(
            f"{path} is not a panel ({_first_line(exc)}): a foreign or damaged file"
        ) from None
    got_shape, fortran, dtype = hdr
    if dtype != DTYPE or fortran or tuple(got_shape) != shape:
        raise PanelProblem(
            f"{path} holds a {'Fortran-order ' if fortran else ''}{dtype} array of shape "
            f"{tuple(got_shape)}, not the {shape} float64 panel its column table describes"
        )
    count = int(np.prod(shape))
    want = offset + count * DTYPE.itemsize
    if size != want:
        raise PanelProblem(
            f"{path} is {size:,} bytes, a whole panel of shape {shape} is {want:,}: "
            f"{'truncated' if size < want else 'longer than its header says'}"
        )
    if count == 0:
        return np.zeros(shape, DTYPE)
    with open(path, "rb") as fh:
        mm = mmap.mmap(fh.fileno(), 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    return np.frombuffer(mm, dtype=DTYPE, count=count, offset=offset).reshape(shape)


def _data_offset(path: Path) -> int:
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )(fh)
        return fh.tell()


@njit(cache=True)
def _gather(src, r0, cols, out):
    """``out[f, t, c] = src[f, r0 + t, cols[c]]``: the rows of the block, the columns asked for,
    reading no other page of the map (numpy's fancy indexing and ``take`` on a map copy every
    row whole: 2 GB of page faults for one block of a 100,000-symbol panel)."""
    for f in range(src.shape[0]):
        for t in range(out.shape[1]):
            row = src[f, r0 + t]
            for c in range(cols.shape[0]):
                out[f, t, c] = row[cols[c]]


def gather(data: np.ndarray, r0: int, cols: np.ndarray) -> np.ndarray:
    """Rows ``r0:`` of columns ``cols`` of every field: a ``(5, T - r0, len(cols))`` copy."""
    out = np.empty((data.shape[0], data.shape[1] - r0, len(cols)), dtype=np.float64)
    if out.size:
        _gather(data, r0, np.ascontiguousarray(cols, dtype=np.int64), out)
    return out
