"""The cache phase's decision: for each symbol, hit, advance by one bar, rebuild, or fetch.

Pure: what Redis held (``CachedTails``, ``CachedStates``, decoded by
``cache_phase``) and what the source says (its snapshot rows, or a versioned
store's index) in; a ``Plan`` out.  Nothing here talks to Redis or to a
source, so every rule can be tested on hand-made arrays
(``tests/scan/test_cache_plan.py``); ``cache_phase`` carries the plan out.

The rules are in ``cache_phase``'s docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...universe.fingerprint import ms, retract
from ...universe.schema import BAR_FIELDS

DAY_MS = 86_400_000


def bars_ok(bars: np.ndarray) -> np.ndarray:
    """The bad-data rules (universe.validate.check_long) on single bars: (m, 5) open..volume."""
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(bars).all(axis=1)
            & (bars[:, :4] > 0).all(axis=1)
            & (bars[:, 4] >= 0)
            & (bars[:, 1] >= bars[:, 2])
        )


@dataclass
class CachedTails:
    """Each symbol's cached bar list, as its tail segment tells it (one entry per symbol)."""

    ok: np.ndarray  # bool: a readable tail segment
    n: np.ndarray  # int64: bars in the list
    fp: np.ndarray  # uint64: fingerprint of those bars
    last_ms: np.ndarray  # int64: the last bar's timestamp (ms)
    bar: np.ndarray  # (m, 5) float64: the last bar, open..volume; NaN where not ok
    head: list = field(default_factory=list)  # the tail blob's header (bytes) or None

    @classmethod
    def empty(cls, m: int) -> CachedTails:
        return cls(
            np.zeros(m, bool),
            np.zeros(m, np.int64),
            np.zeros(m, np.uint64),
            np.zeros(m, np.int64),
            np.full((m, 5), np.nan),
            [None] * m,
        )

    @property
    def day(self) -> np.ndarray:
        """The last bar's session, in days since the epoch."""
        return self.last_ms // DAY_MS


@dataclass
class CachedStates:
    """The cached indicator states that decoded (``k`` of them) and where each symbol's is."""

    pos: np.ndarray  # int64 (m,): row of the symbol's state in ``rows``, -1 when none
    n: np.ndarray  # int64 (k,): bars the state has seen
    day: np.ndarray  # int64 (k,): its last bar's session (days)
    fp: np.ndarray  # uint64 (k,): fingerprint of those bars
    rows: np.ndarray  # (k, width) float64: the states

    @classmethod
    def from_decoded(cls, ok: np.ndarray, n, day, fp, rows) -> CachedStates:
        pos = np.full(ok.shape[0], -1, np.int64)
        pos[ok] = np.arange(int(ok.sum()))
        return cls(
            pos, np.asarray(n, np.int64), np.asarray(day, np.int64), np.asarray(fp, np.uint64), rows
        )

    def per_symbol(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(has a state, its n, its day, its fingerprint), one entry per symbol (0 where none)."""
        has = self.pos >= 0
        if not len(self.n):
            m = self.pos.shape[0]
            return has, np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m, np.uint64)
        j = np.where(has, self.pos, 0)
        return has, self.n[j], self.day[j], self.fp[j]


@dataclass
class Plan:
    """What to do for each symbol of a block (indices into the block's symbols)."""

    hits: list[int]
    advance: list[int]
    rebuild: list[int]
    fetch: list[int]
    new_bar: dict[int, tuple[int, np.ndarray]]  # i -> (timestamp ms, (5,) bar) to append
    changed: int = 0  # cached bars the source has since changed
    stale: int = 0  # usable bars whose state did not match them


class Snapshot:
    """The source's bars of one session, looked up by symbol."""

    def __init__(self, frame: pd.DataFrame | None):
        if frame is None or not len(frame):
            self.index = pd.Index([], dtype=object)
            self.days = np.zeros(0, np.int64)
            self.bars = np.zeros((0, 5))
            return
        frame = frame.assign(symbol=frame["symbol"].astype(str)).drop_duplicates(
            "symbol", keep="last"
        )
        self.index = pd.Index(frame["symbol"].to_numpy(), dtype=object)
        self.days = ms(frame["date"].to_numpy()) // DAY_MS
        self.bars = np.column_stack([frame[f].to_numpy(np.float64) for f in BAR_FIELDS])

    def lookup(self, symbols: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(found, day, (m, 5) bar) of each symbol; day -1 and NaN bars where absent."""
        pos = self.index.get_indexer(symbols)
        found = pos >= 0
        days = np.where(found, self.days[pos] if len(self.days) else -1, -1)
        bars = np.full((len(symbols), 5), np.nan)
        bars[found] = self.bars[pos[found]]
        return found, days, bars


def plan_by_bars(
    symbols: list[str],
    tails: CachedTails,
    states: CachedStates,
    latest: Snapshot,
    previous: Callable[[int], Snapshot | None] | None,
) -> Plan:
    """The plan for a source without content versions, checked by its bars.

    ``latest``: the source's latest session.  ``previous(day)``: the source's
    bars of an earlier session, or None when it cannot say; pass
    ``previous=None`` to skip verifying the previous bar before an append.
    """
    found, sd, sbar = latest.lookup(symbols)
    t_day = tails.day
    ok = tails.ok & found
    same = ok & (sd == t_day)
    changed = same & ~(sbar == tails.bar).all(axis=1)
    older = ok & (sd < t_day)
    newer = ok & (sd > t_day)
    append = newer & bars_ok(sbar)
    if append.any():
        gap = np.busday_count(
            (t_day[append] + 1).astype("datetime64[D]"), sd[append].astype("datetime64[D]")
        )
        append[np.flatnonzero(append)[gap != 0]] = False
    n_changed = int(changed.sum() + older.sum())
    if append.any() and previous is not None:
        for day in np.unique(t_day[append]):
            sel = np.flatnonzero(append & (t_day == day))
            prev = previous(int(day))
            if prev is None:  # cannot verify: fetch them
                append[sel] = False
                continue
            pf, pd_, pbar = prev.lookup([symbols[i] for i in sel])
            same_prev = pf & (pd_ == day) & (pbar == tails.bar[sel]).all(axis=1)
            append[sel[~same_prev]] = False
            n_changed += int((~same_prev).sum())
    current = (tails.ok & ~found) | (same & ~changed)
    usable = current | append
    has, s_n, s_day, s_fp = states.per_symbol()
    matches = has & (s_n == tails.n) & (s_day == t_day) & (s_fp == tails.fp)
    new_bar = {int(i): (int(sd[i]) * DAY_MS, sbar[i]) for i in np.flatnonzero(append)}
    return Plan(
        np.flatnonzero(current & matches).tolist(),
        np.flatnonzero(append & matches).tolist(),
        np.flatnonzero(usable & ~matches).tolist(),
        np.flatnonzero(~usable).tolist(),
        new_bar,
        changed=n_changed,
        stale=int((usable & has & ~matches).sum()),
    )


def plan_by_versions(tails: CachedTails, states: CachedStates, versions: dict) -> Plan:
    """The plan against a versioned store's index: exact, and no bars read.

    ``versions``: ``LocalSource.content_versions`` of the block (found,
    content, n_bars, last, last_bar).  A cached entry is of the store's bars
    when its fingerprint is the symbol's content version; of the bars but the
    last when it equals the content version with the last bar retracted.
    """
    found, content, n = versions["found"], versions["content"], versions["n_bars"]
    last_ms, last_bar = versions["last"], versions["last_bar"]
    prev = n - 1
    head = np.zeros(found.shape[0], np.uint64)
    step = found & (n >= 2)
    if step.any():
        head[step] = retract(content[step], prev[step], last_ms[step], last_bar[step].T)
    appendable = step & bars_ok(last_bar)
    has, s_n, _, s_fp = states.per_symbol()
    state_now = found & has & (s_n == n) & (s_fp == content)
    state_prev = appendable & has & (s_n == prev) & (s_fp == head)
    tail_now = found & tails.ok & (tails.n == n) & (tails.fp == content)
    tail_prev = appendable & tails.ok & (tails.n == prev) & (tails.fp == head)
    hits = state_now & tail_now
    advance = state_prev & tail_prev
    usable = tail_now | tail_prev
    new_bar = {int(i): (int(last_ms[i]), last_bar[i]) for i in np.flatnonzero(tail_prev)}
    return Plan(
        np.flatnonzero(hits).tolist(),
        np.flatnonzero(advance).tolist(),
        np.flatnonzero(usable & ~hits & ~advance).tolist(),
        np.flatnonzero(~usable).tolist(),
        new_bar,
        changed=int((found & tails.ok & ~usable).sum()),
        stale=int((usable & has & ~hits & ~advance).sum()),
    )
