"""The cache phase's decision rules on hand-made arrays: no Redis, no source."""

from __future__ import annotations

import numpy as np
import pandas as pd

from technic_core.scan.phases.cache_plan import (
    DAY_MS,
    CachedStates,
    CachedTails,
    Snapshot,
    bars_ok,
    plan_by_bars,
    plan_by_versions,
)
from technic_core.universe.fingerprint import extend, fingerprint_runs

MON = int(np.datetime64("2026-11-23", "D").astype(np.int64))  # a Monday, days since the epoch
BAR = np.array([10.0, 11.0, 9.0, 10.5, 1000.0])


def _history(m: int, first_day: int = MON, scale: float = 1.0):
    """m weekday bars from first_day: (dates ms, (5, m) columns)."""
    days = np.busday_offset(np.datetime64(first_day, "D"), np.arange(m)).astype(np.int64)
    cols = np.tile(BAR[:, None] * scale, (1, m)) + np.arange(m) * 0.01
    return days * DAY_MS, cols


def _fp(dates, cols) -> int:
    return int(fingerprint_runs(dates, cols, np.zeros(1, np.int64), np.array([dates.shape[0]]))[0])


def _tails(entries) -> CachedTails:
    """entries: None (nothing cached) or (dates, cols) of the cached bars."""
    t = CachedTails.empty(len(entries))
    for i, e in enumerate(entries):
        if e is None:
            continue
        d, c = e
        t.ok[i], t.n[i], t.fp[i], t.last_ms[i], t.bar[i] = (
            True,
            d.shape[0],
            _fp(d, c),
            d[-1],
            c[:, -1],
        )
    return t


def _states(entries) -> CachedStates:
    """entries: None or (dates, cols) the state was computed from."""
    ok = np.array([e is not None for e in entries])
    got = [e for e in entries if e is not None]
    return CachedStates.from_decoded(
        ok,
        [d.shape[0] for d, _ in got],
        [d[-1] // DAY_MS for d, _ in got],
        np.array([_fp(d, c) for d, c in got], np.uint64),
        np.zeros((len(got), 4)),
    )


def _versions(entries):
    """What a versioned store's index says: None (no bars) or (dates, cols) it holds."""
    m = len(entries)
    out = {
        "found": np.zeros(m, bool),
        "content": np.zeros(m, np.uint64),
        "n_bars": np.zeros(m, np.int64),
        "last": np.zeros(m, np.int64),
        "last_bar": np.full((m, 5), np.nan),
    }
    for i, e in enumerate(entries):
        if e is None:
            continue
        d, c = e
        out["found"][i], out["content"][i], out["n_bars"][i] = True, _fp(d, c), d.shape[0]
        out["last"][i], out["last_bar"][i] = d[-1], c[:, -1]
    return out


def _snapshot(rows) -> Snapshot:
    """rows: (symbol, day, (5,) bar)."""
    return Snapshot(
        pd.DataFrame(
            {
                "symbol": [r[0] for r in rows],
                "date": np.array([r[1] for r in rows], "datetime64[D]").astype("datetime64[ns]"),
                **{
                    f: [float(r[2][q]) for r in rows]
                    for q, f in enumerate(["open", "high", "low", "close", "volume"])
                },
            }
        )
    )


def test_fingerprint_helpers_agree_with_extend():
    d, c = _history(6)
    assert _fp(d, c) == int(
        extend(np.array([_fp(d[:5], c[:, :5])], np.uint64), np.array([5]), d[5:6], c[:, 5:6])[0]
    )


def test_versions_each_case():
    full = _history(6)
    before = (full[0][:5], full[1][:, :5])
    other = _history(6, scale=2.0)  # a corrected history: same dates, other bars
    store = [full, full, full, full, full, None]
    tails = _tails([full, before, full, other, None, full])
    states = _states([full, before, None, other, None, None])
    plan = plan_by_versions(tails, states, _versions(store))
    assert plan.hits == [0]
    assert plan.advance == [1]
    assert plan.new_bar.keys() == {1}
    stamp, bar = plan.new_bar[1]
    assert stamp == full[0][-1] and np.array_equal(bar, full[1][:, -1])
    assert plan.rebuild == [2]  # the bars are the store's, the state is missing
    assert plan.fetch == [3, 4, 5]  # other bars / nothing cached / the store has none
    assert plan.changed == 1  # symbol 3's cached bars are not the store's
    assert plan.stale == 0


def test_versions_state_of_other_bars_is_stale_and_rebuilt():
    full = _history(6)
    plan = plan_by_versions(_tails([full]), _states([_history(6, scale=3.0)]), _versions([full]))
    assert (plan.hits, plan.advance, plan.rebuild, plan.fetch) == ([], [], [0], [])
    assert plan.stale == 1


def test_versions_bad_last_bar_is_never_appended():
    d, c = _history(6)
    c[3, -1] = np.nan  # the store's new bar is bad data
    before = (d[:5], c[:, :5])
    plan = plan_by_versions(_tails([before]), _states([before]), _versions([(d, c)]))
    assert plan.advance == [] and plan.fetch == [0]


def test_bars_each_case():
    d, c = _history(5)  # Mon..Fri
    last_day = int(d[-1] // DAY_MS)
    next_day = int(np.busday_offset(np.datetime64(last_day, "D"), 1).astype(np.int64))
    skip_day = int(np.busday_offset(np.datetime64(last_day, "D"), 2).astype(np.int64))
    new = BAR * 1.01
    syms = ["HIT", "NEW", "CHG", "GAP", "BAD", "GONE", "NONE", "OLD"]
    cached = (d, c)
    tails = _tails([cached, cached, cached, cached, cached, cached, None, cached])
    states = _states([cached, cached, cached, cached, cached, cached, None, None])
    bad = new.copy()
    bad[1] = bad[2] - 1  # high below low
    latest = _snapshot(
        [
            ("HIT", last_day, c[:, -1]),
            ("NEW", next_day, new),
            ("CHG", last_day, c[:, -1] * 1.1),
            ("GAP", skip_day, new),
            ("BAD", next_day, bad),
            ("NONE", last_day, new),
            ("OLD", last_day, c[:, -1]),
        ]
    )
    plan = plan_by_bars(syms, tails, states, latest, previous=None)
    assert plan.hits == [0, 5]  # GONE: not in the snapshot, the cache is current
    assert plan.advance == [1]
    assert plan.new_bar[1][0] == next_day * DAY_MS and np.array_equal(plan.new_bar[1][1], new)
    assert plan.rebuild == [7]  # bars current, no state
    assert plan.fetch == [2, 3, 4, 6]
    assert plan.changed == 1


def test_bars_previous_session_verified():
    d, c = _history(5)
    last_day = int(d[-1] // DAY_MS)
    next_day = int(np.busday_offset(np.datetime64(last_day, "D"), 1).astype(np.int64))
    cached = (d, c)
    tails, states = _tails([cached, cached, cached]), _states([cached, cached, cached])
    latest = _snapshot([(s, next_day, BAR) for s in ("SAME", "SPLIT", "MISSING")])
    asked = []

    def previous(day):
        asked.append(day)
        return _snapshot([("SAME", last_day, c[:, -1]), ("SPLIT", last_day, c[:, -1] / 2)])

    plan = plan_by_bars(["SAME", "SPLIT", "MISSING"], tails, states, latest, previous)
    assert asked == [last_day]
    assert plan.advance == [0]
    assert plan.fetch == [1, 2]
    assert plan.changed == 2
    # a source that cannot say: nothing is appended unverified
    plan = plan_by_bars(["SAME", "SPLIT", "MISSING"], tails, states, latest, lambda day: None)
    assert plan.advance == [] and plan.fetch == [0, 1, 2]


def test_bars_ok_rules():
    rows = np.array(
        [
            BAR,
            [1, 1, 1, 1, 0],
            [0, 1, 1, 1, 1],
            [1, 1, 2, 1, 1],
            [1, 1, 1, 1, -1],
            [np.inf, 1, 1, 1, 1],
        ],
        float,
    )
    assert bars_ok(rows).tolist() == [True, True, False, False, False, False]
