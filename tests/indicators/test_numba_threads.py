"""The Numba backend's thread pool: results independent of the split, and
usable in a forked child (whose inherited pool has no threads)."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

try:  # tests/ as a package or as plain directories
    from .ohlcv_cases import make_ohlcv
except ImportError:
    from ohlcv_cases import make_ohlcv

nb = pytest.importorskip("technic_core.indicators.backends.numba_backend")


def test_chunking_does_not_change_results(monkeypatch):
    d = make_ohlcv(80, 600, seed=2, ragged=0.2)
    args = (d["high"], d["low"], d["close"], d["volume"])
    whole = nb.mfi(*args, 14)
    wholef = nb.fused_indicators(d["open"], *args)
    monkeypatch.setattr(nb, "THREADS", 3)
    monkeypatch.setattr(nb, "CHUNKS_PER_THREAD", 5)
    monkeypatch.setattr(nb, "MIN_CHUNK", 7)
    np.testing.assert_array_equal(nb.mfi(*args, 14), whole)
    split = nb.fused_indicators(d["open"], *args)
    for key in wholef:
        np.testing.assert_array_equal(split[key], wholef[key])


def _child(q):
    d = make_ohlcv(60, 800, seed=3, ragged=0.0)
    q.put(float(np.nansum(nb.rsi(d["close"], 14))))


def test_usable_after_fork():
    d = make_ohlcv(60, 800, seed=3, ragged=0.0)
    want = float(np.nansum(nb.rsi(d["close"], 14)))  # parent's pool now has threads
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    p.join(timeout=120)
    if p.is_alive():
        p.kill()
        pytest.fail("the forked child hung on the inherited thread pool")
    assert p.exitcode == 0
    assert q.get(timeout=5) == want


def test_numba_set_num_threads_limits_the_pool(monkeypatch):
    """``numba.set_num_threads(1)`` keeps the work on the calling thread (a Ray task given one
    CPU, the gate timing the same code on one thread and on all)."""
    numba = pytest.importorskip("numba")
    if nb.THREADS < 2:
        monkeypatch.setattr(nb, "THREADS", 2)
    d = make_ohlcv(60, 800, seed=3, ragged=0.0)
    want = nb.rsi(d["close"], 14)
    used = []
    from technic_core.indicators import threads  # the pool lives there since issue 20

    real = threads.executor
    monkeypatch.setattr(threads, "executor", lambda: used.append(1) or real())
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        np.testing.assert_array_equal(nb.rsi(d["close"], 14), want)
        assert used == []
    finally:
        numba.set_num_threads(before)
    if before > 1:
        np.testing.assert_array_equal(nb.rsi(d["close"], 14), want)
        assert used, "with more than one thread allowed the pool takes the chunks"
