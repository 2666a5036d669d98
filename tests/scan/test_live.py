"""LiveScan (issue 16): a long-lived scan's table always equals a cold scan of the same store.

The store changes the ways a store changes (a new session for every symbol, a corrected past
bar, a symbol added and one removed, bad bars) and after each, the long-lived scan's table is
compared with a cold scan of that version (TA-Lib, the reference) and, bit for bit, with a
fresh LiveScan built from nothing (a state advanced bar by bar is the state built whole).
"""

import threading
import time

import numpy as np
import pandas as pd
import pytest

from technic_core.cli import main
from technic_core.scan import results_match, scan
from technic_core.scan.live import LiveScan
from technic_core.universe import Store
from technic_core.universe.append import append_session

from ..helpers import make_store, rows_of, update_store

SHORT = (1, 2, 13, 14, 15, 20, 26, 27, 34, 35, 50, 63, 64, 199, 200)


def _ragged(uni, long):
    """Histories of every warm-up length, so new sessions carry symbols across each boundary;
    one bad bar."""
    syms = uni["symbol"].tolist()
    drop = []
    for s, m in zip(syms, SHORT):
        drop.extend(rows_of(long, s)[:-m])
    long = long.drop(index=drop).reset_index(drop=True)
    bad = syms[-1]
    long.loc[rows_of(long, bad)[30], "close"] = -1.0
    return uni, long


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("TECHNIC_STORE_FSYNC", "0")
    return make_store(tmp_path / "s", 48, 262, seed=41, edit=_ragged)


def cold(root):
    return scan(root, phases="vectorized", backend="talib")


def assert_equals_cold(live_result, root):
    assert results_match(cold(root), live_result) == []
    fresh = LiveScan(root).refresh()
    pd.testing.assert_frame_equal(live_result.table, fresh.table)  # bit for bit
    assert live_result.rejections == fresh.rejections
    pd.testing.assert_frame_equal(live_result.errors, fresh.errors)


def test_a_cold_live_scan_equals_a_cold_scan(store):
    live = LiveScan(store)
    res = live.refresh()
    assert results_match(cold(store), res) == []
    assert live.last_counts["built"] == 46 and res.info["store_version"] == Store(store).version
    assert live.refresh() is res  # nothing changed: nothing recomputed


def test_new_sessions_advance_every_symbol_and_equal_a_cold_scan(store):
    live = LiveScan(store)
    live.refresh()
    for k in range(3):  # crossing every warm-up boundary of the short histories
        append_session(store, seed=k)
        res = live.refresh()
        # the symbol with one bar (too short: an error) has two now, and is built
        want = (
            {"unchanged": 0, "advanced": 46, "built": 1}
            if k == 0
            else {"unchanged": 0, "advanced": 47, "built": 0}
        )
        assert live.last_counts == {**want, "dropped": 0}
        assert_equals_cold(res, store)


def _change_everything(uni, long):
    syms = list(dict.fromkeys(long["symbol"]))
    i = rows_of(long, syms[20])[-40]
    long.loc[i, ["close", "high"]] = long.loc[i, "high"] * 1.03  # a corrected past bar
    long = long[long["symbol"] != syms[21]]  # a symbol removed
    uni = uni[uni["symbol"] != syms[21]]
    new = long[long["symbol"] == syms[22]].assign(symbol="ZNEW")  # a symbol added
    uni = pd.concat([uni, uni[uni["symbol"] == syms[22]].assign(symbol="ZNEW")], ignore_index=True)
    long = pd.concat([long, new], ignore_index=True)
    j = rows_of(long, syms[23])[-1]
    long.loc[j, "high"] = long.loc[j, "low"] * 0.5  # now a bad bar
    return uni, long.reset_index(drop=True)


def test_corrections_additions_and_removals_rebuild_only_those(store):
    live = LiveScan(store)
    live.refresh()
    now_bad = list(Store(store).index().index)[23]
    update_store(store, _change_everything)
    res = live.refresh()
    # the corrected and the new symbol are built; the removed one and the now-bad one dropped
    assert live.last_counts == {"unchanged": 43, "advanced": 0, "built": 2, "dropped": 2}
    assert "high < low" in Store(store).block([now_bad]).errors[now_bad]
    assert now_bad not in set(res.table["symbol"]) and "ZNEW" in set(live.symbols)
    assert_equals_cold(res, store)
    append_session(store, seed=9)
    assert_equals_cold(live.refresh(), store)


def test_a_universe_change_alone_is_seen(store):
    """The universe is parsed again only when its file's bytes change: a flag flipped with
    no bar changed must still reach the table."""
    live = LiveScan(store)
    first = live.refresh()
    target = first.table["symbol"].iloc[0]

    def leveraged(uni, long):
        uni = uni.copy()
        uni.loc[uni["symbol"] == target, "is_leveraged"] = True
        return uni, long

    update_store(store, leveraged)
    res = live.refresh()
    assert live.last_counts["unchanged"] == 46  # no bar changed
    assert target not in set(res.table["symbol"]) and res.rejections["leveraged"] == 1
    assert_equals_cold(res, store)
    append_session(store, seed=5)  # the same universe bytes again: reused, still right
    assert_equals_cold(live.refresh(), store)


def test_without_a_panel_it_builds_from_the_parquet_files(store, monkeypatch):
    monkeypatch.setenv("TECHNIC_PANEL", "0")
    live = LiveScan(store)
    live.refresh()
    append_session(store, seed=3)
    res = live.refresh()
    assert live.last_counts["built"] == 47  # no panel: no last row to advance by
    assert results_match(cold(store), res) == []


def test_watch_rescans_when_the_version_changes(store):
    live = LiveScan(store)
    seen = []

    def writer():
        while not seen:
            time.sleep(0.02)
        append_session(store, seed=5)

    t = threading.Thread(target=writer)
    t.start()
    last = live.watch(interval_s=0.05, on_result=seen.append, max_results=2)
    t.join()
    assert len(seen) == 2 and seen[1].info["store_version"] == seen[0].info["store_version"] + 1
    assert last is seen[1] and live.last_counts["advanced"] == 46 and live.last_counts["built"] == 1
    assert results_match(cold(store), last) == []


def test_cli_watch_prints_each_new_table(store, capsys):
    code = main(["scan", "--universe", str(store), "--watch", "--watch-count", "1", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "store version" in out and "rank" in out, out
    top = cold(store).table["symbol"].iloc[0]
    assert top in out


def test_bad_arguments_are_named(store):
    with pytest.raises(ValueError, match="memory' or 'redis"):
        LiveScan(store, state="disk")
    assert np.isfinite(LiveScan(store).refresh().table["tech_rating"]).all()
