"""The data path (issue 16): reading bars from the time-major panel against the Parquet files.

On the default universe (5,277 symbols x 504 sessions, ``common.store_path``):

* loading all OHLCV as ``(T, N)`` arrays ready for the engine, every value touched:
  from the panel (map, slice) and from ``bars.parquet`` (read, pivot), the two
  sources interleaved in one process (``source`` parameter);
* the full local scan ``prefetch,prescreen,vectorized`` in a warm process, from
  each source;
* the cold CLI scan: ``technic scan`` in a new process (import, JIT cache load,
  read, compute, print), median of ``REPEAT``;
* the store's size on disk: the panel against the per-symbol Parquet files and
  against ``bars.parquet``.

A commit without a panel skips the panel side (``NotImplementedError`` in setup).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from .common import FULL, SMOKE, store_path

SOURCES = ("panel", "parquet")
PHASES = "prefetch,prescreen,vectorized"
REPEAT = 1 if SMOKE else 3


def _store(source: str):
    """A Store of the default universe reading blocks from ``source``."""
    try:
        from technic_core.universe.store import Store
    except ImportError as exc:
        raise NotImplementedError(f"no store at this commit: {exc}") from None
    root = store_path(FULL)
    if source == "parquet":
        try:
            return Store(root, panel=False)
        except TypeError:
            return Store(root)  # before panels every store read Parquet
    try:
        store = Store(root, panel=True)
    except TypeError:
        raise NotImplementedError("no panel at this commit") from None
    if store.panel() is None:
        raise NotImplementedError(f"the store has no usable panel: {store.panel_problem}")
    return store


class LoadAll:
    """All OHLCV of every symbol as ``(T, N)`` float64 blocks, every value read."""

    params = [list(SOURCES)]
    param_names = ["source"]
    timeout = 600

    def setup(self, source):
        self.store = _store(source)
        self.symbols = self.store.universe()["symbol"].tolist()
        self.store.block(self.symbols)  # warm: the index and the page cache

    def time_load_all_ohlcv(self, source):
        from technic_core.universe.store import OPENED, Store

        # a fresh reader each time (nothing kept from the last call but the OS's page cache)
        OPENED.clear()
        store = Store(self.store.root, panel=(source == "panel"))
        block = store.block(self.symbols)
        for a in block.fields.values():
            a.sum()


class FullScan:
    """``technic scan --phases prefetch,prescreen,vectorized`` in a warm process."""

    params = [list(SOURCES)]
    param_names = ["source"]
    timeout = 600

    def setup(self, source):
        _store(source)
        from technic_core.scan import scan
        from technic_core.sources import LocalSource

        self.scan, self.LocalSource = scan, LocalSource
        self.root = store_path(FULL)
        self.time_full_scan(source)  # compile and warm outside the timing

    def time_full_scan(self, source):
        src = self.LocalSource(self.root, panel=(source == "panel"))
        self.scan(src, phases=PHASES)


class ColdCli:
    """A new process: ``technic scan --phases prefetch,prescreen,vectorized`` (compiled code cached)."""

    timeout = 900

    def setup(self):
        _store("panel")
        self.root = str(store_path(FULL))
        self._run()  # the JIT cache is filled outside the timing

    def _run(self) -> float:
        env = {**os.environ, "TECHNIC_DATA": self.root}
        t0 = time.perf_counter()
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "technic_core",
                "scan",
                "--phases",
                PHASES,
                "--quiet",
                "--top",
                "5",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        seconds = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"technic scan failed: {p.stderr[-500:]}")
        return seconds

    def track_cold_cli_scan(self):
        return statistics.median(self._run() for _ in range(REPEAT))

    track_cold_cli_scan.unit = "seconds"


class StoreSize:
    """The store's bytes on disk: the panel, the per-symbol Parquet files, bars.parquet."""

    def setup(self):
        self.store = _store("panel")

    def track_panel_mb(self):
        return sum(self.store.file(k).stat().st_size for k in ("panel", "panel_columns")) / 1e6

    track_panel_mb.unit = "MB"

    def track_symbol_files_mb(self):
        return float(self.store.index()["file_size"].sum()) / 1e6

    track_symbol_files_mb.unit = "MB"

    def track_bars_parquet_mb(self):
        return self.store.file("bars").stat().st_size / 1e6

    track_bars_parquet_mb.unit = "MB"
