"""The recycled result arrays (technic_core/indicators/outputs.py): reuse, and never two live owners."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from technic_core import indicators as ind
from technic_core.indicators import outputs

SHAPE = (300, 1000)  # 2.4 MB: above outputs.MIN_BYTES


@pytest.fixture(autouse=True)
def fresh_pool():
    outputs.set_cap(64)
    yield
    outputs.set_cap(outputs._cap_bytes() / (1 << 20))


def _addr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_a_dropped_array_is_handed_out_again():
    a = outputs.empty(SHAPE)
    assert a.shape == SHAPE and a.dtype == np.float64 and a.flags.c_contiguous
    assert a.flags.writeable
    where = _addr(a)
    del a
    assert outputs.held_bytes() == 8 * SHAPE[0] * SHAPE[1]
    b = outputs.empty(SHAPE)
    assert _addr(b) == where
    assert outputs.held_bytes() == 0


def test_a_live_view_keeps_its_memory_out_of_the_pool():
    a = outputs.empty(SHAPE)
    a[:] = 1.0
    view = a[10:20, 5:]
    del a
    gc.collect()
    assert outputs.held_bytes() == 0
    b = outputs.empty(SHAPE)
    b[:] = 2.0
    assert not np.shares_memory(b, view)
    assert (view == 1.0).all()
    del view
    assert outputs.held_bytes() == 8 * SHAPE[0] * SHAPE[1]


def test_small_arrays_and_a_zero_cap_are_not_pooled():
    small = outputs.empty((10, 10))
    del small
    assert outputs.held_bytes() == 0
    outputs.set_cap(0)
    a = outputs.empty(SHAPE)
    del a
    assert outputs.held_bytes() == 0


def test_the_pool_keeps_no_more_than_its_cap():
    outputs.set_cap(5)  # two 2.4 MB buffers fit, a third does not
    arrays = [outputs.empty(SHAPE) for _ in range(4)]
    del arrays
    assert outputs.held_bytes() == 2 * 8 * SHAPE[0] * SHAPE[1]
    outputs.trim()
    assert outputs.held_bytes() == 0


def test_threads_never_share_a_live_buffer():
    # Every array gets its own mark; threads drop arrays at random and check that
    # each array they still hold carries its own mark: a buffer handed out while
    # another array still used it would carry the other array's mark.
    errors: list[str] = []

    def work(thread: int) -> None:
        rng = np.random.default_rng(thread)
        live: list[tuple[float, np.ndarray]] = []
        for i in range(60):
            mark = thread * 1000.0 + i
            a = outputs.empty(SHAPE)
            a[::50, ::50] = mark
            live.append((mark, a))
            if len(live) > 3:
                live.pop(int(rng.integers(len(live))))
            for m, x in live:
                if not (x[::50, ::50] == m).all():
                    errors.append(f"thread {thread}: a live array was overwritten")
                    return

    threads = [threading.Thread(target=work, args=(k + 1,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]


def test_indicators_on_recycled_outputs_are_unchanged():
    rng = np.random.default_rng(3)
    close = 100 + np.cumsum(rng.normal(size=(300, 1000)), axis=0)
    close[:40, :100] = np.nan  # late listings: their leading rows must come out NaN again
    first = ind.rsi(close, 14, backend="numba")
    want = first.copy()
    first[:] = 7.0  # stale values the next result must not show
    where = _addr(first)
    del first
    again = ind.rsi(close, 14, backend="numba")
    assert _addr(again) == where
    np.testing.assert_array_equal(again, want)
