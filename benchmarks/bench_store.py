"""The store: the importer (vendor CSV files in, a checked store out) and the read path (``gate = True``).

The CSV files are written once from the generated store (one file a symbol,
as a vendor download would be) into ``$TECHNIC_ASV_DATA``; each timed import
writes a new store into a temporary directory made by ``setup`` and removed
by ``teardown`` (asv_runner runs them around every timed call).

``ImportPaths`` (``track_`` figures, not gated): Issue 14 measured a re-import of a file onto its own store at 28x a fresh
import of it (281 s against 10 s for a million rows): these keep the three
costs side by side.  The input is a long CSV of ``N_SYMBOLS`` generated
symbols (~240,000 rows), built once per commit in ``setup_cache``; each
measurement imports into a new temporary store, so the ``track_`` benchmarks
time themselves and report the median of ``REPEAT`` runs in seconds.
``tools/measure_import.py`` runs the same cases at 2,000 symbols (~1M rows).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from .common import HTTP_UNIVERSE, SMOKE, _locked, cache_dir, scan_symbols, store_path

IMPORT_SYMBOLS = 40
READ_SYMBOLS = HTTP_UNIVERSE
PER_SYMBOL_READS = 40
N_SYMBOLS = 500
N_BARS = 504
SEED = 11
REPEAT = 1 if SMOKE else 3


def _csv_dir(n: int) -> Path:
    """``n`` symbols of the generated store as vendor-style CSV files (made once)."""
    store = store_path(HTTP_UNIVERSE)
    root = cache_dir() / f"csv-{store.name}-{n}"
    if (root / ".complete").is_file():
        return root
    from technic_core.universe.store import Store

    with _locked(root):
        if not (root / ".complete").is_file():
            tmp = root.with_name(root.name + f".tmp{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            src = Store(store)
            for sym in scan_symbols(store, n):
                df = src.bars(sym)
                df = df.rename(columns=str.title)  # Date, Open, ...: a vendor's header
                df.to_csv(tmp / f"{sym}.csv", index=False)
            (tmp / ".complete").write_text("")
            shutil.rmtree(root, ignore_errors=True)
            os.replace(tmp, root)
    return root


class Import:
    """``technic data import`` of IMPORT_SYMBOLS CSV files into a new store."""

    timeout = 300
    gate = True

    def setup(self):
        try:
            from technic_core.universe.importer import import_store
        except ImportError as exc:
            raise NotImplementedError(f"no importer at this commit ({exc})") from None
        self.import_store = import_store
        self.files = sorted(str(p) for p in _csv_dir(IMPORT_SYMBOLS).glob("*.csv"))
        self.tmp = tempfile.mkdtemp(prefix="technic-asv-import-")

    def teardown(self):
        tmp = getattr(self, "tmp", None)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    def time_import_csv(self):
        self.import_store(self.files, Path(self.tmp) / "store", log=lambda *a: None)


class StoreRead:
    """The read path: the scan's ``(T, N)`` block of READ_SYMBOLS symbols, and per-symbol files."""

    timeout = 300
    gate = True

    def setup(self):
        from technic_core.universe.store import Store

        root = store_path(READ_SYMBOLS)
        self.store = Store(root)  # a new reader per call: nothing cached between calls
        self.symbols = self.store.universe()["symbol"].tolist()
        self.few = self.symbols[:PER_SYMBOL_READS]

    def time_block(self):
        self.store.block(self.symbols)

    def time_bars_per_symbol(self):
        for s in self.few:
            self.store.bars(s)


class ImportPaths:
    """Fresh import, re-import of the same file, a one-session feed: each timed by itself (median of REPEAT)."""

    timeout = 600

    def setup_cache(self):
        try:
            from technic_core.universe.generate import generate_universe
            from technic_core.universe.importer import import_store  # noqa: F401
        except ImportError as exc:
            raise NotImplementedError(f"no importer at this commit: {exc}") from None
        import pandas as pd

        long = generate_universe(N_SYMBOLS, N_BARS + 1, SEED).long_frame()
        last = long["date"] == long["date"].max()
        root = Path.cwd()  # asv's setup_cache directory, removed after the suite

        def write(df, name):
            out = pd.DataFrame(
                {
                    "Symbol": df["symbol"],
                    "Date": pd.to_datetime(df["date"]).dt.strftime("%Y-%m-%d"),
                    **{
                        c.title(): df[c].to_numpy()
                        for c in ("open", "high", "low", "close", "volume")
                    },
                }
            )
            out.to_csv(root / name, index=False)
            return str(root / name)

        return write(long[~last], "history.csv"), write(long[last], "feed.csv")

    def setup(self, files):
        from technic_core.universe.importer import import_store

        self.import_store = import_store
        self.history, self.feed = files

    def _runs(self, before, timed_file) -> float:
        runs = []
        for _ in range(REPEAT):
            tmp = Path(tempfile.mkdtemp(prefix="technic-asv-store-"))
            try:
                for f in before:
                    self.import_store([f], tmp / "s", log=lambda *a: None)
                t0 = time.perf_counter()
                self.import_store([timed_file], tmp / "s", log=lambda *a: None)
                runs.append(time.perf_counter() - t0)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return statistics.median(runs)

    def track_fresh(self, files):
        """~240,000 rows into an empty store."""
        return self._runs([], self.history)

    track_fresh.unit = "seconds"

    def track_reimport_same_file(self, files):
        """The same file again, onto the store it made: nothing changes."""
        return self._runs([self.history], self.history)

    track_reimport_same_file.unit = "seconds"

    def track_one_session_feed(self, files):
        """One new bar for every symbol (a daily feed file) onto the store."""
        return self._runs([self.history], self.feed)

    track_one_session_feed.unit = "seconds"
