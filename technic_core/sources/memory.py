"""Frames in memory as a Source: scan a long DataFrame or a dict of per-symbol frames directly.

The frames are checked once, as ``technic data import`` checks files
(``universe.frames.check_frames``), and kept: a symbol the importer would
refuse outright (a name the store cannot hold, a session given twice) is an
error with the importer's reason; a symbol with bad bars keeps them, so the
scan's own rules report it exactly as a scan of a store holding those bars
does (and the price rule still outranks bad data).  The universe is the one
given (SPEC's columns; the importer's defaults fill what it lacks, and symbols
with bars but not listed are added with defaults) or, without one, every
symbol of the frames with the defaults.

Phases: every phase that reads blocks runs from memory (prefetch, prescreen,
vectorized, ray, gpu).  The cache phase keeps indicator state in Redis tied
to a store's content versions: frames in memory have none, so it is refused
in one line.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..universe.frames import CheckedBars, check_frames
from ..universe.readers import SESSION_TZ, complete_universe
from ..universe.schema import BAR_FIELDS, UNIVERSE_COLUMNS
from ..universe.store import ranges
from ..universe.validate import SymbolDataError, group_bounds
from .base import Source

# Phases a memory source cannot serve, and why (the pipeline says so before scanning).
REFUSED_PHASES = {
    "cache": "the Redis cache keeps indicator state per store version and symbol content "
    "version; frames in memory have neither: import them (technic data import) to "
    "rescan incrementally, or drop the cache phase",
}


def is_frames(obj) -> bool:
    """Whether ``obj`` is bars in memory: a pandas/polars DataFrame or a dict of them."""

    def frame(x):
        return (
            isinstance(x, pd.DataFrame)
            or type(x).__module__.split(".")[0] == "polars"
            and type(x).__name__ == "DataFrame"
        )

    if isinstance(obj, Mapping):
        return bool(obj) and all(frame(v) for v in obj.values())
    return frame(obj)


class MemorySource(Source):
    """Bars of frames in memory (see the module docstring); ``checked`` holds the import checks."""

    name = "memory"
    refused_phases = REFUSED_PHASES

    def __init__(
        self,
        bars,
        universe: pd.DataFrame | None = None,
        *,
        adjusted: bool = False,
        session_tz: str = SESSION_TZ,
    ):
        super().__init__()
        self.checked: CheckedBars = (
            bars
            if isinstance(bars, CheckedBars)
            else check_frames(bars, adjusted=adjusted, session_tz=session_tz)
        )
        long = self.checked.long
        names = pd.unique(long["symbol"]).tolist() if len(long) else []
        # the symbol as a category, as the store gives it (the block layout groups on its codes)
        self._long = long.assign(
            symbol=pd.Categorical(long["symbol"], categories=pd.Index(names, dtype=object))
        )
        if len(long):
            starts, lengths, groups, _ = group_bounds(self._long["symbol"])
            self._at = {str(s): (int(a), int(n)) for s, a, n in zip(groups, starts, lengths)}
        else:
            self._at = {}
        self._refused = {s: self.checked.errors[s] for s in self.checked.dropped}
        self._universe = self._make_universe(universe)

    def _make_universe(self, listing) -> pd.DataFrame:
        have = self.checked.symbols
        if listing is None:
            uni, _ = complete_universe(pd.DataFrame({"symbol": have}))
        else:
            listing = (
                listing.to_pandas()
                if type(listing).__module__.split(".")[0] == "polars"
                else listing
            )
            if "symbol" not in listing.columns and "ticker" in listing.columns:
                listing = listing.rename(columns={"ticker": "symbol"})
            if "symbol" not in listing.columns:
                raise ValueError(
                    "the universe needs a symbol column (SPEC: symbol, name, sector, "
                    "industry, market_cap, is_etf, is_leveraged)"
                )
            uni, _ = complete_universe(listing)
            listed = set(uni["symbol"])
            extra = [s for s in have if s not in listed]
            if extra:  # bars without a listing get the importer's defaults, as an import does
                more, _ = complete_universe(pd.DataFrame({"symbol": extra}))
                uni = pd.concat([uni, more], ignore_index=True)
        return uni[list(UNIVERSE_COLUMNS)].reset_index(drop=True)

    # -- the Source interface -------------------------------------------------
    def universe(self) -> pd.DataFrame:
        self.requests += 1
        return self._universe.copy()

    def _missing(self, symbol: str) -> str:
        return self._refused.get(symbol, "no bars (the frames hold none for it)")

    def bars(self, symbol: str) -> pd.DataFrame:
        self.requests += 1
        at = self._at.get(symbol)
        if at is None:
            raise SymbolDataError(symbol, self._missing(symbol))
        a, n = at
        part = self.checked.long.iloc[a : a + n]
        return part.drop(columns="symbol").reset_index(drop=True)

    def long(self, symbols: list[str]) -> pd.DataFrame:
        self.requests += 1
        wanted = list(dict.fromkeys(symbols))
        have = [s for s in wanted if s in self._at]
        errors = {s: self._missing(s) for s in wanted if s not in self._at}
        if have:
            starts = np.array([self._at[s][0] for s in have], dtype=np.int64)
            lengths = np.array([self._at[s][1] for s in have], dtype=np.int64)
            out = self._long.take(ranges(starts, lengths)).reset_index(drop=True)
        else:
            out = self._long.iloc[:0].reset_index(drop=True)
        out.attrs["errors"] = errors
        return out

    def snapshot(self, date=None) -> pd.DataFrame:
        """Every symbol's bar on one session (default: the latest session of the frames)."""
        self.requests += 1
        long = self.checked.long
        dates = long["date"].to_numpy().astype("datetime64[D]")
        if not len(long):
            return pd.DataFrame(columns=["symbol", "date", *BAR_FIELDS])
        day = np.datetime64(date, "D") if date is not None else dates[~np.isnat(dates)].max()
        d = long[dates == day].drop_duplicates("symbol", keep="last")
        d = d.assign(symbol=d["symbol"].astype(str))[["symbol", "date", *BAR_FIELDS]]
        return d.reset_index(drop=True)

    @property
    def frequency(self) -> str:
        return self.checked.frequency

    def describe(self) -> str:
        return f"frames in memory ({len(self._at)} symbols with bars)"
