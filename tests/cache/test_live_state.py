"""A long-lived scan's state in a real Redis (issue 16): slot rows, written back by what changed."""

import warnings

import numpy as np
import pandas as pd
import pytest

from technic_core.cache import Cache
from technic_core.cache.live import LiveStateStore, changed_rows
from technic_core.indicators.kernels.state_step import rotate_rings
from technic_core.scan import results_match, scan
from technic_core.scan.live import LiveScan
from technic_core.scan.phases.cache_phase import CacheUnavailable
from technic_core.universe.append import append_session


@pytest.fixture(autouse=True)
def _no_fsync(monkeypatch):
    monkeypatch.setenv("TECHNIC_STORE_FSYNC", "0")


def cold(store):
    return scan(store, phases="vectorized", backend="talib")


def _spy_writes(monkeypatch):
    calls = []
    real = LiveStateStore.write

    def write(self, st, rows, bar):
        calls.append((None if rows is None else np.asarray(rows).copy(), bar))
        return real(self, st, rows, bar)

    monkeypatch.setattr(LiveStateStore, "write", write)
    return calls


def test_the_state_lives_in_redis_and_a_new_session_writes_only_what_changed(
    store, cache, monkeypatch
):
    calls = _spy_writes(monkeypatch)
    a = LiveScan(store, state="redis", cache=cache)
    first = a.refresh()
    assert results_match(cold(store), first) == []
    assert calls[-1][0] is None  # a cold state is written whole
    # another process (another LiveScan) finds it there: nothing to compute
    b = LiveScan(store, state="redis", cache=cache)
    res = b.refresh()
    assert b.last_counts == {"unchanged": len(a.symbols), "advanced": 0, "built": 0, "dropped": 0}
    pd.testing.assert_frame_equal(res.table, first.table)
    append_session(store, seed=2)
    b.refresh()  # (the one-bar symbol has two now: a new column, a whole write)
    append_session(store, seed=3)
    res = b.refresh()
    assert b.last_counts == {"unchanged": 0, "advanced": len(b.symbols), "built": 0, "dropped": 0}
    rows, bar = calls[-1]
    width = b.state.slots.shape[0]
    # rings turned to session order: the new bar lands in one row of each ring, whatever
    # each symbol's bar count (the store's histories start on many different days)
    assert rows is not None and 0 < len(rows) < width / 2, (len(rows), width)
    assert len(set(b.n_bars % 200)) > 5
    assert bar is not None and np.isfinite(bar[3][~np.isnan(bar[3])]).all()
    assert results_match(cold(store), res) == []
    # what Redis holds is exactly the advanced state
    got = LiveStateStore(cache, f"local store {store.resolve()}", b.params.ident(), width).read()
    assert got is not None and list(got.symbols) == list(b.symbols)
    rows_back = got.slots.copy()
    rotate_rings(rows_back, b.state.layout.ring_slots, got.shift, -1)
    assert np.array_equal(rows_back.view(np.uint64), b.state.slots.view(np.uint64))
    # and a third process advancing from it gives the same table, bit for bit
    c = LiveScan(store, state="redis", cache=cache).refresh()
    pd.testing.assert_frame_equal(c.table, res.table)


def test_a_corrupt_or_foreign_state_in_redis_is_rebuilt(store, cache):
    a = LiveScan(store, state="redis", cache=cache)
    want = a.refresh()
    client = cache.client()
    key = a.redis.slot_keys[5]
    blob = bytearray(client.get(key))
    blob[-3] ^= 0xFF
    client.set(key, bytes(blob))
    b = LiveScan(store, state="redis", cache=cache)
    res = b.refresh()
    assert b.last_counts["built"] == len(a.symbols)
    pd.testing.assert_frame_equal(res.table, want.table)
    client.set(a.redis.meta_key, b"garbage")
    c = LiveScan(store, state="redis", cache=cache)
    pd.testing.assert_frame_equal(c.refresh().table, want.table)
    assert c.last_counts["built"] == len(a.symbols)


def test_a_writer_that_lost_the_race_does_not_overwrite(store, cache):
    a = LiveScan(store, state="redis", cache=cache)
    a.refresh()
    b = LiveScan(store, state="redis", cache=cache)
    b.refresh()
    append_session(store, seed=4)
    c = LiveScan(store, state="redis", cache=cache)
    c.refresh()  # advances and writes first
    b._load_from_redis = lambda: None  # b keeps the state it read before c wrote
    res = b.refresh()
    assert b.redis.lost_races == 1 and res.info["redis_lost_races"] == 1
    assert results_match(cold(store), res) == []


def test_redis_going_away_costs_speed_never_the_answer(store, tmp_path):
    from technic_core.cache import EmbeddedRedis

    srv = EmbeddedRedis(tmp_path / "r", persist=False).start()
    live = LiveScan(store, state="redis", cache=Cache(url=srv.url))
    live.refresh()
    srv.stop()
    append_session(store, seed=6)
    with pytest.warns(CacheUnavailable, match="the answer is the same"):
        res = live.refresh()
    assert res.info["redis_failed"] and results_match(cold(store), res) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheUnavailable)  # said once
        append_session(store, seed=7)
        assert results_match(cold(store), live.refresh()) == []


def test_changed_rows_compares_bits():
    a = np.array([[1.0, np.nan], [2.0, 3.0], [0.0, 1.0]])
    b = a.copy()
    b[1, 1] = 4.0
    b[2, 0] = -0.0
    assert list(changed_rows(a, b)) == [1, 2]


def test_turning_rings_and_back_is_the_identity():
    from technic_core.indicators.state import StateParams, layout_for

    lay = layout_for(StateParams())
    rng = np.random.default_rng(1)
    slots = rng.normal(size=(lay.width, 37))
    shift = rng.integers(-500, 500, 37)
    turned = slots.copy()
    rotate_rings(turned, lay.ring_slots, shift, 1)
    assert not np.array_equal(turned, slots)
    o, r = lay.ring_slots[0]
    j = 3
    assert turned[o + (5 + shift[j]) % r, j] == slots[o + 5, j]
    rotate_rings(turned, lay.ring_slots, shift, -1)
    assert np.array_equal(turned, slots)
