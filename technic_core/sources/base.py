"""The one interface every bar source offers the scan."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pandas as pd

from ..universe.store import BarBlock


class Source(ABC):
    """Universe, per-symbol bars, batches of bars, and one-session snapshots.

    ``bars`` raises ``SymbolDataError`` for one unusable symbol; ``long``
    returns the usable symbols' rows and puts the others' reasons in
    ``frame.attrs['errors']``.  ``requests`` counts round trips (file reads for
    the store, HTTP requests for the API) so phases can be compared on I/O.
    """

    name = "source"

    def __init__(self) -> None:
        self.requests = 0

    @abstractmethod
    def universe(self) -> pd.DataFrame: ...

    @abstractmethod
    def bars(self, symbol: str) -> pd.DataFrame: ...

    @abstractmethod
    def long(self, symbols: list[str]) -> pd.DataFrame: ...

    @abstractmethod
    def snapshot(self, date=None) -> pd.DataFrame: ...

    @property
    def frequency(self) -> str:
        return "daily"

    def block(self, symbols: list[str]) -> BarBlock:
        df = self.long(symbols)
        return BarBlock.from_long(df, symbols, errors=df.attrs.get("errors"))

    def describe(self) -> str:
        return self.name

    def close(self) -> None:  # noqa: B027 (optional hook, not abstract)
        """Release connections; the default holds none."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
