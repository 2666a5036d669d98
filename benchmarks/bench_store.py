"""The store's writer through ``technic data import``: fresh, re-import, a one-session feed.

Issue 14 measured a re-import of a file onto its own store at 28x a fresh
import of it (281 s against 10 s for a million rows): these keep the three
costs side by side.  The input is a long CSV of ``N_SYMBOLS`` generated
symbols (~240,000 rows), built once per commit in ``setup_cache``; each
measurement imports into a new temporary store, so the ``track_`` benchmarks
time themselves and report the median of ``REPEAT`` runs in seconds.
``tools/measure_import.py`` runs the same cases at 2,000 symbols (~1M rows).
"""
from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

N_SYMBOLS = 500
N_BARS = 504
SEED = 11
REPEAT = 3


class Import:
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
        root = Path.cwd()          # asv's setup_cache directory, removed after the suite

        def write(df, name):
            out = pd.DataFrame({"Symbol": df["symbol"], "Date": pd.to_datetime(df["date"]).dt.strftime("%Y-%m-%d"),
                                **{c.title(): df[c].to_numpy() for c in ("open", "high", "low", "close", "volume")}})
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
