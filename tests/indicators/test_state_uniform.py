"""The state kernel's uniform chunks give the generic passes' values, bit for bit.

A chunk of contiguous symbols that all take a bar and have seen equally many
bars runs branch-free passes (``state_step._uniform_step``); a chunk whose
symbols are not contiguous runs the generic ones.  Feeding the same bars once
with ``which`` in order and once permuted runs the same arithmetic down the
two paths: the states must be identical, NaN for NaN.
"""

import numpy as np
import pytest

from technic_core.indicators.kernels import state_step as K
from technic_core.indicators.state import FIELDS, IndicatorState, StateParams
from technic_core.scan.phases.cache_phase import SCAN_STATE
from technic_core.universe.generate import generate_universe

from .test_state_golden import PARAMS

N = K.CHUNK + 88  # a full chunk and a short one


def _bars(n=N, t=300, seed=11):
    g = generate_universe(n + n // 4, t, seed)
    full = np.flatnonzero(~np.isnan(g.close).any(axis=0))[:n]  # the generator lists some late
    assert full.size == n
    f = {k: np.ascontiguousarray(getattr(g, k)[:, full]) for k in FIELDS}
    # flat windows (zero ranges, zero deviations) and runs of zero volume, where the passes
    # take their TA-Lib zero tests' other branch
    for k in ("open", "high", "low", "close"):
        f[k][150:175, 30:60] = 7.0
        f[k][230:255, 80:100] = 3.0  # (past SMA 200's seeding: on the uniform path)
    f["volume"][150:190, 40:50] = 0.0
    f["volume"][230:270, 90:95] = 0.0
    # a few symbols listed late: the chunk holding them is uniform only until they join
    for k in FIELDS:
        f[k][:200, N - 5 :] = np.nan
    return f


def _feed(state: IndicatorState, f: dict, rows: slice, order: np.ndarray) -> None:
    """Advance ``state`` by ``f[rows]`` bar by bar-row, symbols taken in ``order``."""
    block = {k: np.ascontiguousarray(v[rows]) for k, v in f.items()}
    t, n = block["close"].shape
    has = ~np.isnan(block["close"])
    first = np.where(has.any(axis=0), has.argmax(axis=0), t)
    keep = order[first[order] < t]
    if keep.size == 0:
        return
    flat = {k: v.ravel() for k, v in block.items()}
    state.advance_runs(
        keep,
        first[keep] * n + keep,
        (t - first[keep]).astype(np.int64),
        flat,
        step=n,
        checked=True,
    )


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_uniform_chunks_equal_the_generic_passes(name):
    params: StateParams = PARAMS[name]
    f = _bars()
    ordered = np.arange(N, dtype=np.int64)
    rng = np.random.default_rng(3)
    shuffled = rng.permutation(N).astype(np.int64)  # no chunk is contiguous: generic passes
    a = IndicatorState.empty(N, params)
    b = IndicatorState.empty(N, params)
    _feed(a, f, slice(0, 120), ordered)
    _feed(b, f, slice(0, 120), shuffled)
    assert np.array_equal(a.slots, b.slots, equal_nan=True), "built state differs"
    for row in range(120, f["close"].shape[0]):  # one-bar advances, through the flat windows
        _feed(a, f, slice(row, row + 1), ordered)
        _feed(b, f, slice(row, row + 1), shuffled)
        diff = ~((a.slots == b.slots) | (np.isnan(a.slots) & np.isnan(b.slots)))
        assert not diff.any(), (
            f"{name}: bar {row}: slots {sorted(set(np.nonzero(diff)[0].tolist()))[:8]} differ "
            f"at symbols {sorted(set(np.nonzero(diff)[1].tolist()))[:8]}"
        )


def test_the_uniform_path_is_taken():
    """The check above compares two paths only if the ordered feed takes the uniform one:
    five late listings at the end of the second chunk ride along, masked."""
    f = _bars()
    st = IndicatorState.empty(N, SCAN_STATE)
    lay = st.layout
    warm = K._warmup(lay.lay, lay.sma, lay.ema)
    assert warm == 200  # SMA 200
    _feed(st, f, slice(0, warm + 5), np.arange(N - 5, dtype=np.int64))
    _feed(st, f, slice(0, 30), np.arange(N - 5, N, dtype=np.int64))
    keep = np.zeros(K.CHUNK, np.bool_)
    assert K._common_count(st.slots, 0, K.CHUNK, warm, keep) == warm + 6
    assert keep.all()
    m = N - K.CHUNK
    assert K._common_count(st.slots, K.CHUNK, m, warm, keep[:m]) == warm + 6
    assert keep[: m - 5].all() and not keep[m - 5 : m].any()
    assert K._common_count(st.slots, K.CHUNK, m, warm + 7, keep[:m]) == -1  # still seeding
    assert K._common_count(st.slots, N - 20, 20, warm, keep[:20]) == -1  # 15: below MIN_RUN
