"""The store: the importer (vendor CSV files in, a checked store out) and the read path (``gate = True``).

The CSV files are written once from the generated store (one file a symbol,
as a vendor download would be) into ``$TECHNIC_ASV_DATA``; each timed import
writes a new store into a temporary directory made by ``setup`` and removed
by ``teardown`` (asv_runner runs them around every timed call).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .common import HTTP_UNIVERSE, _locked, cache_dir, scan_symbols, store_path

IMPORT_SYMBOLS = 40
READ_SYMBOLS = HTTP_UNIVERSE
PER_SYMBOL_READS = 40


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
                df = df.rename(columns=str.title)   # Date, Open, ...: a vendor's header
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
        self.store = Store(root)      # a new reader per call: nothing cached between calls
        self.symbols = self.store.universe()["symbol"].tolist()
        self.few = self.symbols[:PER_SYMBOL_READS]

    def time_block(self):
        self.store.block(self.symbols)

    def time_bars_per_symbol(self):
        for s in self.few:
            self.store.bars(s)
