"""A fixed, stratified sample of the universe for the per-symbol steps of the ladder.

The per-symbol steps (baseline, +prefetch, +prescreen) cost ~15-60 ms a
symbol, minutes for the whole universe; their time is a sum over symbols, so
a few hundred symbols that have the universe's mix give it to a few percent.
What drives a symbol's cost, measured on the default universe (per-symbol
loop time, `docs/harness.md`):

* its pre-screening fate: a symbol the universe rules or the last session's
  price drop costs nothing in +prescreen but a full computation in the other
  two steps;
* its history length: pandas on a recent listing's 20-259 bars costs ~30%
  less than on a full history; fewer than 20 bars, less again.

Those two make the strata.  Inside a stratum the symbols are ordered by
sector, price class and symbol, and the sample takes evenly spaced ones, so
it also has the universe's sector and price mix.  Nothing is random: the same
universe gives the same sample on every run and every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..scan import filters

DEFAULT_SAMPLE = 200
FULL_HISTORY = 260  # docs/scan.md: SMA 200 and its warm-up
PRICE_CLASSES = (1.0, 5.0, 20.0, 100.0)  # $ bounds: penny, low, mid, high, very high


@dataclass
class Sample:
    symbols: list[str]  # the sample, in universe order
    stratum: dict[str, str]  # every universe symbol -> its stratum
    population: dict[str, int]  # symbols per stratum in the universe
    taken: dict[str, int]  # symbols per stratum in the sample
    dimensions: tuple[str, ...]  # what the strata are made of
    ordered_by: tuple[str, ...] = field(default=("sector", "price class", "symbol"))

    @property
    def size(self) -> int:
        return len(self.symbols)

    @property
    def universe_size(self) -> int:
        return sum(self.population.values())

    def describe(self) -> str:
        parts = [f"{k} {self.taken[k]}/{self.population[k]:,}" for k in self.population]
        return (
            f"{self.size} of {self.universe_size:,} symbols, stratified by "
            f"{' x '.join(self.dimensions)} ({'; '.join(parts)}), evenly spaced within "
            f"each stratum by {', '.join(self.ordered_by)}"
        )

    def to_json(self) -> dict:
        return {
            "size": self.size,
            "universe_size": self.universe_size,
            "dimensions": list(self.dimensions),
            "ordered_by": list(self.ordered_by),
            "population": self.population,
            "taken": self.taken,
            "symbols": self.symbols,
        }


def prescreen_fate(universe: pd.DataFrame, snapshot: pd.DataFrame | None) -> np.ndarray:
    """What pre-screening does with each symbol: 'universe rule', 'price < $1' or 'kept'."""
    fails = filters.universe_failures(universe)
    out = np.where(fails.astype(bool), "universe rule", "kept").astype(object)
    if snapshot is not None and len(snapshot):
        close = dict(zip(snapshot["symbol"].astype(str), snapshot["close"].to_numpy(np.float64)))
        price = np.array([close.get(s, np.nan) for s in universe["symbol"].astype(str)])
        with np.errstate(invalid="ignore"):
            cheap = np.array(
                [filters.price_fails(p) if p == p else False for p in price], dtype=bool
            )
        out[(out == "kept") & cheap] = "price < $1"
    return out


def history_class(lengths: np.ndarray) -> np.ndarray:
    n = np.asarray(lengths, dtype=float)
    return np.where(
        n >= FULL_HISTORY,
        f">={FULL_HISTORY} bars",
        np.where(
            n >= filters.MIN_BARS,
            f"{filters.MIN_BARS}-{FULL_HISTORY - 1} bars",
            f"<{filters.MIN_BARS} bars",
        ),
    ).astype(object)


def allocate(population: dict[str, int], n: int) -> dict[str, int]:
    """Proportional allocation by largest remainder, at least one per non-empty stratum."""
    total = sum(population.values())
    if n >= total:
        return dict(population)
    keys = [k for k, v in population.items() if v > 0]
    n = max(n, len(keys))
    exact = {k: n * population[k] / total for k in keys}
    take = {k: max(1, int(exact[k])) for k in keys}
    # hand out what is left to the largest remainders, or take back from the largest strata
    while sum(take.values()) < n:
        k = max((k for k in keys if take[k] < population[k]), key=lambda k: exact[k] - take[k])
        take[k] += 1
    while sum(take.values()) > n:
        k = max((k for k in keys if take[k] > 1), key=lambda k: take[k] - exact[k])
        take[k] -= 1
    return {k: take.get(k, 0) for k in population}


def stratified_sample(
    universe: pd.DataFrame,
    n: int,
    snapshot: pd.DataFrame | None = None,
    lengths: pd.Series | None = None,
) -> Sample:
    """``n`` symbols of ``universe`` with its mix of pre-screening fate and history length.

    ``snapshot``: the last session's bars (for the price rule and price class);
    ``lengths``: bars per symbol, indexed by symbol (None: the source cannot say
    cheaply, and history length is left out of the strata).
    """
    if n < 1:
        raise ValueError(f"the sample needs at least 1 symbol, got {n}")
    uni = universe.reset_index(drop=True)
    symbols = uni["symbol"].astype(str).to_numpy()
    dims = ["pre-screening fate"]
    keys = prescreen_fate(uni, snapshot)
    if lengths is not None:
        dims.append("history length")
        n_bars = lengths.reindex(symbols).to_numpy(dtype=float)
        keys = np.array(
            [f"{a}, {b}" for a, b in zip(keys, history_class(np.nan_to_num(n_bars, nan=0)))],
            dtype=object,
        )
    price = np.full(len(uni), np.nan)
    if snapshot is not None and len(snapshot):
        close = dict(zip(snapshot["symbol"].astype(str), snapshot["close"].to_numpy(np.float64)))
        price = np.array([close.get(s, np.nan) for s in symbols])
    price_class = np.searchsorted(PRICE_CLASSES, np.nan_to_num(price, nan=0.0), side="right")
    sector = uni["sector"].astype(str).to_numpy() if "sector" in uni else np.full(len(uni), "")
    frame = pd.DataFrame(
        {
            "symbol": symbols,
            "key": keys,
            "sector": sector,
            "price_class": price_class,
            "pos": np.arange(len(uni)),
        }
    )
    population = {
        str(k): int(v) for k, v in frame["key"].value_counts(sort=False).sort_index().items()
    }
    take = allocate(population, n)
    chosen: list[int] = []
    for key, group in frame.groupby("key", sort=True):
        k = take[str(key)]
        g = group.sort_values(["sector", "price_class", "symbol"], kind="stable")
        size = len(g)
        # evenly spaced, centred in each interval: deterministic, no clustering at an end
        picks = np.minimum(((np.arange(k) + 0.5) * size / k).astype(int), size - 1) if k else []
        chosen.extend(g["pos"].to_numpy()[picks].tolist())
    chosen.sort()
    return Sample(
        symbols=[symbols[i] for i in chosen],
        stratum=dict(zip(symbols, (str(k) for k in keys))),
        population=population,
        taken={k: take[k] for k in population},
        dimensions=tuple(dims),
    )


def sample_source(src, n: int, symbols: list[str] | None = None) -> Sample:
    """The stratified sample of a Source's universe (or of ``symbols`` in it)."""
    uni = src.universe()
    if symbols is not None:
        uni = uni[uni["symbol"].isin(set(symbols))]
    try:
        snap = src.snapshot()
    except Exception:  # a source without a usable last session: strata without the price rule
        snap = None
    return stratified_sample(uni, n, snap, history_lengths(src))


def history_lengths(src) -> pd.Series | None:
    """Bars per symbol when the source knows them without reading the bars (a local store's index)."""
    store = getattr(src, "store", None)
    if store is None or not hasattr(store, "index"):
        return None
    return store.index()["n_bars"]
