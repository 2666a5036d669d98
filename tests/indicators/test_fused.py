"""The scan's fused pass equals the last row of the separate indicator calls."""

import numpy as np
import pytest

from technic_core import indicators as ind
from technic_core.indicators.registry import load_backend
from technic_core.scan.features import INDICATOR_KEYS, indicator_calls

from .cases import ragged, with_awkward_columns

FUSED = [b for b in ind.available_backends() if hasattr(load_backend(b), "fused_indicators")]


@pytest.mark.parametrize("backend", FUSED)
@pytest.mark.parametrize("seed,n_bars", [(1, 300), (2, 260), (3, 40), (4, 18)])
def test_fused_equals_separate_calls(backend, seed, n_bars):
    f = with_awkward_columns(ragged(40, n_bars, seed)) if n_bars > 30 else ragged(40, n_bars, seed)
    full = indicator_calls(ind, f["high"], f["low"], f["close"], f["volume"], backend="talib")
    fused = load_backend(backend).fused_indicators(
        f["open"], f["high"], f["low"], f["close"], f["volume"]
    )
    assert set(INDICATOR_KEYS) <= set(fused)
    for key in INDICATOR_KEYS:
        want, got = full[key][-1], np.asarray(fused[key])
        assert np.array_equal(np.isnan(want), np.isnan(got)), key
        m = ~np.isnan(want)
        np.testing.assert_allclose(got[m], want[m], rtol=1e-9, atol=1e-9, err_msg=key)


def test_numba_offers_the_fused_path():
    assert "numba" in FUSED
