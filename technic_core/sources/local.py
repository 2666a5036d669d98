"""The local Parquet store as a Source."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..universe.store import BarBlock, Store, default_store_dir
from .base import Source


class LocalSource(Source):
    """One version of a local store: the one current when the source was opened (or ``version``),
    so every read of a scan sees the same bars whatever a writer commits meanwhile.

    ``panel``: blocks and sessions from the version's time-major panel (default: yes, unless
    ``$TECHNIC_PANEL=0``); ``False`` reads them from the Parquet files."""

    name = "local"

    def __init__(
        self, root: Path | str | None = None, version: int | None = None, panel: bool | None = None
    ):
        super().__init__()
        self.store = Store(root or default_store_dir(), version=version, panel=panel)

    @property
    def store_version(self) -> int:
        return self.store.version

    def content_versions(self, symbols: list[str]) -> pd.DataFrame:
        """Each symbol's content version, bar count and last bar, from the store's index: what
        the cache phase checks its entries against without reading any bars."""
        return self.store.content_versions(symbols)

    def universe(self) -> pd.DataFrame:
        self.requests += 1
        return self.store.universe()

    def bars(self, symbol: str) -> pd.DataFrame:
        self.requests += 1
        return self.store.bars(symbol)

    def long(self, symbols: list[str]) -> pd.DataFrame:
        self.requests += 1
        return self.store.long(symbols)

    def block(self, symbols: list[str]) -> BarBlock:
        self.requests += 1
        return self.store.block(symbols)

    def block_done(self) -> None:
        """Called by the block engines after each block (see ``BarPanel.block_done``)."""
        panel = self.store._panel
        if panel is not None:
            panel.block_done()

    def snapshot(self, date=None) -> pd.DataFrame:
        self.requests += 1
        return self.store.snapshot(date)

    @property
    def frequency(self) -> str:
        return self.store.frequency

    def describe(self) -> str:
        return f"local store {self.store.root}"


def open_source(spec: str | Path | Source | None = None) -> Source:
    """A Source from a store path, an ``http://`` address, or a Source itself."""
    if isinstance(spec, Source):
        return spec
    if isinstance(spec, str) and spec.startswith(("http://", "https://")):
        from .http_client import HttpSource  # optional: aiohttp

        return HttpSource(spec)
    return LocalSource(spec)
