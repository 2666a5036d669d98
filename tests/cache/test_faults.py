"""Redis failing never changes the answer: unreachable at start, killed between blocks."""

import time
import warnings

import pandas as pd
import pytest

from technic_core.cache import Cache, EmbeddedRedis
from technic_core.scan import results_match, scan
from technic_core.scan.phases.cache_phase import CacheUnavailable
from technic_core.universe.append import append_session

PHASES = "vectorized,cache"


def killing(server, after_blocks: int, seen: list):
    """A hook between blocks that SIGKILLs the server once ``after_blocks`` blocks ran."""

    def wrap(chunks):
        for k, chunk in enumerate(chunks):
            if k == after_blocks:
                server.kill()
            seen.append(k)
            yield chunk

    return wrap


def run_warning_count(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fn()
    return res, [w for w in caught if issubclass(w.category, CacheUnavailable)]


@pytest.mark.parametrize("url", ["unix:///nonexistent/technic/redis.sock", "redis://127.0.0.1:1/0"])
def test_unreachable_at_start(store, url):
    ref = scan(store, phases="vectorized", backend="talib")
    t0 = time.perf_counter()
    res, warned = run_warning_count(lambda: scan(store, phases=PHASES, cache=Cache(url=url)))
    assert time.perf_counter() - t0 < 20
    assert len(warned) == 1
    info = res.info["cache"]
    assert info["failed"] and info["hits"] == 0 and info["misses"] == info["fetched"] > 0
    assert results_match(ref, res) == []


def test_server_killed_mid_warm_scan(store, tmp_path):
    ref = scan(store, phases="vectorized", backend="talib")
    with EmbeddedRedis(tmp_path / "r", persist=False) as srv:
        cache = Cache(url=srv.url)
        cold = scan(store, phases=PHASES, cache=cache, block_size=10)
        seen: list = []
        res, warned = run_warning_count(
            lambda: scan(
                store, phases=PHASES, cache=cache, block_size=10, progress=killing(srv, 3, seen)
            )
        )
    assert not srv.running
    assert len(seen) == res.info["blocks"] == 7  # every block ran
    assert len(warned) == 1
    info = res.info["cache"]
    assert info["failed"]
    assert info["hits"] > 0 and info["fetched"] > info["bad_data"]  # before and after the kill
    assert results_match(ref, res) == []
    pd.testing.assert_frame_equal(res.table, cold.table)


def test_server_killed_mid_incremental_rescan(store, tmp_path):
    with EmbeddedRedis(tmp_path / "r", persist=False) as srv:
        cache = Cache(url=srv.url)
        scan(store, phases=PHASES, cache=cache, block_size=10)
        append_session(store, seed=5)
        seen: list = []
        res, warned = run_warning_count(
            lambda: scan(
                store, phases=PHASES, cache=cache, block_size=10, progress=killing(srv, 2, seen)
            )
        )
    assert len(warned) == 1
    assert res.info["cache"]["incremental"] > 0 and res.info["cache"]["failed"]
    assert results_match(scan(store, phases="vectorized", backend="talib"), res) == []


def test_a_later_scan_uses_a_restarted_server(store, tmp_path):
    srv = EmbeddedRedis(tmp_path / "r", persist=True)
    with srv:
        cache = Cache(url=srv.url)
        scan(store, phases=PHASES, cache=cache)
    # stopped and saved: a new server on a new socket loads the same data
    with EmbeddedRedis(tmp_path / "r", persist=True) as again:
        res = scan(store, phases=PHASES, cache=Cache(url=again.url))
    assert res.info["cache"]["hits"] > 0 and "failed" not in res.info["cache"]
