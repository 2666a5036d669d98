"""The cache phase against a real Redis: hits, incremental rescans, invalidation, corruption."""

import warnings

import numpy as np
import pandas as pd
import pytest

from technic_core.cache import Cache, codec
from technic_core.scan import parse_phases, results_match, scan
from technic_core.scan.compare import table_differences
from technic_core.scan.phases.cache_phase import SCAN_STATE, CacheUnavailable, run_cached
from technic_core.scan.phases.vectorized import run_blocks
from technic_core.sources import LocalSource
from technic_core.universe import Store
from technic_core.universe.append import append_session

from ..helpers import update_store

PHASES = "vectorized,cache"


def reference(store):
    """The answer without any cache: TA-Lib over every symbol's full history."""
    return scan(store, phases="vectorized", backend="talib")


def computed_reference(store):
    """Every scanned value of every symbol (rejected ones too), TA-Lib full recompute."""
    src = LocalSource(store)
    syms = src.universe()["symbol"].tolist()
    return run_blocks(src, syms, "talib", True).computed()


def computed_cached(store, cache, **kw):
    src = LocalSource(store)
    syms = src.universe()["symbol"].tolist()
    out = run_cached(src, syms, cache, **kw)
    return out, out.computed()


def assert_same_values(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a = a.sort_index()
    b = b.sort_index()[a.columns]
    assert list(a.index) == list(b.index)
    diffs = table_differences(a.reset_index(), b.reset_index())
    assert diffs == []


def test_cold_then_warm(store, cache):
    ref = reference(store)
    cold = scan(store, phases=PHASES, cache=cache)
    c = cold.info["cache"]
    assert c["hits"] == 0 and c["fetched"] == c["misses"] > 0 and c["corrupt"] == 0
    assert cold.backend == "numba-state"
    assert results_match(ref, cold) == []
    warm = scan(store, phases=PHASES, cache=cache)
    w = warm.info["cache"]
    assert w["hits"] == c["fetched"] - c["bad_data"]
    assert w["fetched"] == w["bad_data"] == c["bad_data"] == 3  # bad data is never cached
    # the universe and the bad symbols' bars: no bars of good symbols, and no snapshot (the
    # store's index gives each symbol's content version)
    assert warm.info["requests"] == 2
    pd.testing.assert_frame_equal(warm.table, cold.table)  # bit for bit
    assert results_match(ref, warm) == []


def test_scan_with_prescreen_reuses_its_snapshot(store, cache):
    scan(store, phases="prescreen," + PHASES, cache=cache)
    warm = scan(store, phases="prescreen," + PHASES, cache=cache)
    assert warm.info["cache"]["hits"] > 0
    assert warm.info["requests"] == 3  # universe, snapshot (shared), bad symbols
    assert results_match(scan(store, phases="prescreen,vectorized", backend="talib"), warm) == []


def test_rescans_after_new_sessions_compute_only_the_new_bar(store, cache):
    """Ragged histories cross every lookback while sessions are appended one by one."""
    out, _ = computed_cached(store, cache)
    cached = out.cache_info["fetched"] - out.cache_info["bad_data"]
    for k in range(4):
        append_session(store, seed=k)
        out, got = computed_cached(store, cache)
        info = out.cache_info
        # the one-bar symbol became valid after the first session: fetched, then cached
        assert info["incremental"] == cached, info
        assert info["rebuilt"] == 0 and info["corrupt"] == 0
        assert_same_values(computed_reference(store), got)
        cached = info["incremental"] + info["fetched"] - info["bad_data"]
    res = scan(store, phases=PHASES, cache=cache)
    assert results_match(reference(store), res) == []


def test_incremental_equals_a_cold_cache_bit_for_bit(store, cache, tmp_path):
    scan(store, phases=PHASES, cache=cache)
    append_session(store, seed=3)
    inc = scan(store, phases=PHASES, cache=cache)
    assert inc.info["cache"]["incremental"] > 0
    cold = scan(store, phases=PHASES, cache=Cache(url=cache.url, namespace="fresh"))
    assert cold.info["cache"]["hits"] == cold.info["cache"]["incremental"] == 0
    pd.testing.assert_frame_equal(inc.table, cold.table)


def _edit_bar(store, symbol, row, **values):
    """Correct one bar in the store, as a data vendor's correction would, through the writer."""

    def edit(uni, long):
        r = long.index[long["symbol"] == symbol][row]
        for k, v in values.items():
            long.loc[r, k] = v
        return uni, long

    update_store(store, edit)


def _good_symbol(store):
    res = reference(store)
    return res.table["symbol"].iloc[0]


def test_a_corrected_last_bar_is_seen_at_once(store, cache):
    scan(store, phases=PHASES, cache=cache)
    sym = _good_symbol(store)
    df = Store(store).bars(sym)
    _edit_bar(store, sym, -1, close=float(df["high"].iloc[-1]))  # the vendor's late print
    res = scan(store, phases=PHASES, cache=cache)
    assert res.info["cache"]["changed"] == 1
    assert results_match(reference(store), res) == []


def test_a_split_adjusted_history_is_seen_when_the_next_session_comes(store, cache):
    scan(store, phases=PHASES, cache=cache)
    sym = _good_symbol(store)

    def split(uni, long):
        r = long["symbol"] == sym
        for f in ("open", "high", "low", "close"):
            long.loc[r, f] = np.round(long.loc[r, f] / 2, 4)  # a 2:1 split, adjusted backwards
        long.loc[r, "volume"] = long.loc[r, "volume"] * 2
        return uni, long

    update_store(store, split)
    append_session(store, seed=9)
    res = scan(store, phases=PHASES, cache=cache)
    info = res.info["cache"]
    assert info["changed"] == 1 and info["incremental"] > 0
    assert results_match(reference(store), res) == []


def test_a_corrected_old_bar_is_recomputed_at_once(store, cache):
    """A bar far in the past corrected: its content version changes, so the next scan refetches
    that symbol (the old cache saw it only when its bars expired)."""
    scan(store, phases=PHASES, cache=cache)
    sym = _good_symbol(store)
    df = Store(store).bars(sym)
    _edit_bar(
        store,
        sym,
        100,
        close=float(df["close"].iloc[100]) * 1.01,
        high=float(df["high"].iloc[100]) * 1.01,
    )
    res = scan(store, phases=PHASES, cache=cache)
    info = res.info["cache"]
    assert info["changed"] == 1 and info["fetched"] == info["bad_data"] + 1
    assert results_match(reference(store), res) == []


def test_a_state_of_other_bars_is_never_served(store, cache):
    """State is tied to the exact bars it came from: when the cached bars are refreshed with a
    corrected past bar by a scan with other parameters, this scan's state no longer matches
    them and is rebuilt from them."""
    scan(store, phases=PHASES, cache=cache)
    sym = _good_symbol(store)
    df = Store(store).bars(sym)
    _edit_bar(
        store,
        sym,
        100,
        close=float(df["close"].iloc[100]) * 1.01,
        high=float(df["high"].iloc[100]) * 1.01,
    )
    other = SCAN_STATE.__class__(**{**SCAN_STATE.__dict__, "ema": (10,)})
    computed_cached(store, cache, params=other)  # refetches sym's bars, writes its own states
    res = scan(store, phases=PHASES, cache=cache)
    info = res.info["cache"]
    assert info["stale"] == 1 and info["rebuilt"] == 1 and info["fetched"] == info["bad_data"]
    assert results_match(reference(store), res) == []


def test_a_parameter_change_never_reads_another_parameters_state(store, cache):
    scan(store, phases=PHASES, cache=cache)
    other = SCAN_STATE.__class__(**{**SCAN_STATE.__dict__, "ema": (10,)})
    assert other.ident() != SCAN_STATE.ident()
    a = cache.for_source("x", SCAN_STATE.ident())
    b = cache.for_source("x", other.ident())
    assert a.state_key("AAA") != b.state_key("AAA") and a.bars_key("AAA") == b.bars_key("AAA")
    out, got = computed_cached(store, cache, params=other)
    info = out.cache_info
    # the bars are shared, the state is not: recomputed from cached bars, no source fetch
    assert info["hits"] == 0 and info["rebuilt"] > 0 and info["fetched"] == info["bad_data"]
    assert_same_values(computed_reference(store), got)
    # a state entry copied under the other parameters' key is foreign, never served
    sym = _good_symbol(store)
    client = cache.client()
    desc = LocalSource(store).describe()
    mine = cache.for_source(desc, SCAN_STATE.ident())
    theirs = cache.for_source(desc, other.ident())
    client.set(theirs.state_key(sym), client.get(mine.state_key(sym)))
    out, got = computed_cached(store, cache, params=other)
    assert out.cache_info["corrupt"] == 1 and out.cache_info["corrupt_reasons"] == {
        "state foreign": 1
    }
    assert_same_values(computed_reference(store), got)


def test_corrupt_entries_are_counted_and_recomputed(store, cache):
    scan(store, phases=PHASES, cache=cache)
    res = reference(store)
    syms = res.table["symbol"].tolist()[:7]
    st = cache.for_source(LocalSource(store).describe(), SCAN_STATE.ident())
    client = cache.client()
    blob = client.get(st.state_key(syms[0]))
    client.set(
        st.state_key(syms[0]), blob[:100] + bytes([blob[100] ^ 0x10]) + blob[101:]
    )  # bit flip
    client.set(st.state_key(syms[1]), blob[: len(blob) // 2])  # truncated
    client.set(st.state_key(syms[2]), b"\x80\x04\x95garbage that looks like a pickle")  # foreign
    tail = client.lindex(st.bars_key(syms[3]), -1)
    client.lset(st.bars_key(syms[3]), -1, tail[:-1] + bytes([tail[-1] ^ 1]))  # bars tail
    head = client.lindex(st.bars_key(syms[4]), 0)
    client.lset(st.bars_key(syms[4]), 0, head[:-3])  # bars history
    client.delete(st.state_key(syms[4]))  # so that the history must be read
    client.lset(st.bars_key(syms[5]), 0, client.lindex(st.bars_key(syms[5]), -1))  # wrong chain
    client.delete(st.state_key(syms[5]))
    # a well-formed segment (valid checksum) whose bars are not the ones the tail vouches for
    payload = codec.decode(client.lindex(st.bars_key(syms[6]), 0), codec.KIND_BARS, 0)
    n0, _, f0, f1 = codec.segment_meta(payload)
    d, c = codec.segment_arrays(payload)
    c[3, 5] *= 1.01
    client.lset(st.bars_key(syms[6]), 0, codec.encode_segment(n0, f0, f1, d, c))
    client.delete(st.state_key(syms[6]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheUnavailable)
        got = scan(store, phases=PHASES, cache=cache)
    info = got.info["cache"]
    assert info["corrupt"] == 7, info
    assert info["corrupt_reasons"] == {
        "state corrupt": 2,
        "state foreign": 1,
        "bars corrupt": 3,
        "bars fingerprint mismatch": 1,
    }
    assert results_match(res, got) == []
    again = scan(store, phases=PHASES, cache=cache)  # the damage was repaired
    assert again.info["cache"]["corrupt"] == 0 and again.info["cache"]["fetched"] == 3
    pd.testing.assert_frame_equal(again.table, got.table)


def test_two_scans_cannot_append_the_same_bar_twice(store, cache):
    scan(store, phases=PHASES, cache=cache)
    append_session(store, seed=1)
    st = cache.for_source(LocalSource(store).describe(), SCAN_STATE.ident())
    sym = _good_symbol(store)
    client = cache.client()
    before = client.llen(st.bars_key(sym))
    scan(store, phases=PHASES, cache=cache)
    assert client.llen(st.bars_key(sym)) == before + 1
    # a second appender that read the old tail finds it changed and appends nothing
    st.write({}, {sym: (b"\x00" * 24, b"new segment")}, {})
    assert client.llen(st.bars_key(sym)) == before + 1


def test_the_cache_phase_requires_the_vectorised_engine():
    with pytest.raises(ValueError, match="runs on the vectorised engine"):
        parse_phases("cache")
    assert parse_phases("cache,vectorized") == ("vectorized", "cache")
