"""Ragged columns inside the kernels: each column's recurrence begins at its own start.

Hypothesis draws panels whose columns start anywhere, including in the last
few rows and never (all-NaN columns), and the Numba kernels are cut into
narrow column blocks so that blocks mix full columns, late ones and empty
ones, several late columns seed at once, and some blocks start late as a
whole.  The Numba backend must equal TA-Lib bit for bit (it follows TA-Lib's
arithmetic step by step); every backend within 1e-9 with NaN in the same
places; the fused pass equal to the last row of the separate kernels.  And
no shifted copy is made: a call allocates its outputs and nothing of the
input's size besides.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import technic_core.indicators as ind
from technic_core.indicators import Panel
from technic_core.indicators.backends import _fused

from .ohlcv_cases import make_ohlcv
from .test_backends_vs_talib import CASES, assert_close, scale_of, talib_columns

nb = pytest.importorskip("technic_core.indicators.backends.numba_backend")
talib = pytest.importorskip("talib")

BACKENDS = [b for b in ind.available_backends() if b != "talib"]


@st.composite
def ragged_panels(draw):
    t = draw(st.integers(1, 90))
    n = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**31))
    d = make_ohlcv(t, n, seed, ragged=0.0)
    kinds = draw(
        st.lists(st.sampled_from(["full", "late", "last_rows", "empty"]), min_size=n, max_size=n)
    )
    for j, kind in enumerate(kinds):
        if kind == "full":
            continue
        s = {
            "late": draw(st.integers(0, t)),
            "last_rows": max(0, t - draw(st.integers(1, 4))),
            "empty": t,
        }[kind]
        for a in d.values():
            a[:s, j] = np.nan
    if draw(st.booleans()):  # some flat stretches (halts): TA-Lib's zero tests
        j = draw(st.integers(0, n - 1))
        rows = np.arange(t // 2, t)
        rows = rows[~np.isnan(d["close"][rows, j])]
        for k in ("open", "high", "low", "close"):
            d[k][rows, j] = d["close"][-1, j]
        d["volume"][rows, j] = 0.0
    return {k: np.ascontiguousarray(v) for k, v in d.items()}


@pytest.fixture
def narrow_blocks(monkeypatch):
    # blocks of 5 columns, chunks of 7 on 3 threads: every block mixes column kinds
    monkeypatch.setattr(nb, "MAX_WIDTH", 5)
    monkeypatch.setattr(nb, "FUSED_MAX_WIDTH", 5)
    monkeypatch.setattr(nb, "THREADS", 3)
    monkeypatch.setattr(nb, "MIN_CHUNK", 7)


def _talib(case, d):
    name, fn, inputs, params, kind = case
    return talib_columns(fn, d, inputs, params)


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(d=ragged_panels(), case=st.sampled_from(CASES))
def test_numba_is_talib_bit_for_bit_on_ragged_panels(narrow_blocks, d, case):
    name, fn, inputs, params, kind = case
    ref = _talib(case, d)
    got = getattr(nb, name)(*(d[k] for k in inputs), **params, starts=Panel(**d).starts)
    got = got if isinstance(got, tuple) else (got,)
    for g, r in zip(got, ref):
        np.testing.assert_array_equal(g, r, err_msg=f"{name}{params}")
    # without starts the backend finds them itself: the same answer
    again = getattr(nb, name)(*(d[k] for k in inputs), **params)
    again = again if isinstance(again, tuple) else (again,)
    for g, r in zip(again, ref):
        np.testing.assert_array_equal(g, r, err_msg=f"{name}{params} (starts found)")


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=ragged_panels(), case=st.sampled_from(CASES))
def test_every_backend_equals_talib_on_ragged_panels(d, case):
    name, fn, inputs, params, kind = case
    ref = _talib(case, d)
    p = Panel(**d)
    for backend in BACKENDS:
        for got in (
            getattr(ind, name)(*(d[k] for k in inputs), **params, backend=backend),
            getattr(ind, name)(p, **params, backend=backend),
        ):
            got = got if isinstance(got, tuple) else (got,)
            for k, (g, r) in enumerate(zip(got, ref)):
                assert_close(g, r, scale_of(kind, d), f"{backend} {name}{params}[{k}]")


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(d=ragged_panels())
def test_fused_is_the_last_row_bit_for_bit_on_ragged_panels(narrow_blocks, d):
    starts = Panel(**d).starts
    fused = nb.fused_indicators(
        d["open"], d["high"], d["low"], d["close"], d["volume"], starts=starts
    )
    for key, (fname, params, k) in _fused.FUSED.items():
        full = getattr(nb, fname)(*(d[a] for a in _fused.INPUTS[fname]), **params, starts=starts)
        full = full if isinstance(full, tuple) else (full,)
        want = full[k][-1] if d["close"].shape[0] else np.full(d["close"].shape[1], np.nan)
        np.testing.assert_array_equal(fused[key], want, err_msg=key)


def test_a_block_that_starts_late_as_a_whole():
    # every column of the universe lists on the same late row, plus a later one and an empty one
    d = make_ohlcv(120, 9, 4, ragged=0.0)
    for a in d.values():
        a[:70, :] = np.nan
        a[:100, 4] = np.nan
        a[:, 7] = np.nan
    for case in CASES:
        name, fn, inputs, params, kind = case
        got = getattr(nb, name)(*(d[k] for k in inputs), **params)
        got = got if isinstance(got, tuple) else (got,)
        for g, r in zip(got, _talib(case, d)):
            np.testing.assert_array_equal(g, r, err_msg=f"{name}{params}")


@pytest.mark.parametrize("name", ["rsi", "macd", "stoch", "mfi", "cci"])
def test_a_call_allocates_its_outputs_and_no_copy_of_the_input(name):
    # the old path shifted late columns into a copy, computed twice and shifted back
    d = make_ohlcv(300, 2000, 5, ragged=0.3)
    params = {c[0]: c[3] for c in CASES}[name]
    p = Panel(**d)
    getattr(ind, name)(p, **params, backend="numba")  # compiled, pool started
    tracemalloc.start()
    out = getattr(ind, name)(p, **params, backend="numba")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    outputs = sum(o.nbytes for o in (out if isinstance(out, tuple) else (out,)))
    one_input = d["close"].nbytes
    assert peak <= outputs + 0.05 * one_input, (peak, outputs)
