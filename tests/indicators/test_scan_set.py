"""The scan's indicator set has one home (indicators/scan_set.py): every copy is derived from
it or equals it, names and parameters.

The Numba fused kernel writes the set in its own code; its rows are checked here by name and
its parameters by value in ``test_fused.py`` (the fused pass against TA-Lib called with this
table's parameters).
"""

from __future__ import annotations

import inspect

from benchmarks.common import INDICATOR_CALLS as ASV_CALLS
from technic_core import indicators as ind
from technic_core.bench.sweep import SWEEP_CALLS
from technic_core.indicators import scan_set
from technic_core.indicators.backends import _fused, cupy_backend
from technic_core.indicators.kernels import numba_kernels
from technic_core.indicators.state import StateParams
from technic_core.scan.features import FEATURE_COLUMNS, INDICATOR_KEYS
from technic_core.scan.phases.cache_phase import SCAN_STATE


def test_every_call_is_a_public_function_with_talibs_keywords():
    for fname, params, names in scan_set.calls():
        sig = inspect.signature(getattr(ind, fname))
        assert set(params) <= set(sig.parameters), (fname, params)
        assert list(sig.parameters)[: len(scan_set.INPUTS[fname])] == list(scan_set.INPUTS[fname])
        assert None not in names, (fname, names)


def test_the_features_read_the_set():
    assert INDICATOR_KEYS == tuple(k for k in scan_set.SCAN_SET if k != "obv")
    # every indicator value that is a feature column comes from the set
    assert {k for k in FEATURE_COLUMNS if k in scan_set.SCAN_SET} <= set(INDICATOR_KEYS)


def test_the_fused_pass_of_every_backend_has_the_sets_rows():
    assert _fused.FUSED is scan_set.SCAN_SET
    assert numba_kernels.FUSED_ROWS == tuple(scan_set.SCAN_SET)
    assert cupy_backend.FUSED_KEYS == tuple(scan_set.SCAN_SET)


def test_the_gpu_plan_launches_the_sets_calls_with_its_parameters():
    want = [
        (f"{f}_kernel", scan_set.INPUTS[f], tuple(p.values()), n) for f, p, n in scan_set.calls()
    ]
    assert list(cupy_backend.FUSED_PLAN) == want
    assert ("stoch_kernel", ("high", "low", "close"), (14, 3, 3), ("stoch_k", "stoch_d")) in want


def test_the_cache_state_carries_the_sets_parameters():
    got = {f: getattr(SCAN_STATE, f) for f in scan_set.state_args()}
    assert got == {
        "sma": (20, 50, 200),
        "ema": (scan_set.EMA_PERIOD,),
        "rsi": 14,
        "macd": (12, 26, 9),
        "bbands": (20, 2.0, 2.0),
        "atr": 14,
        "stoch": (14, 3, 3),
        "adx": 14,
        "mfi": 14,
        "cci": 14,
        "willr": 14,
        "roc": 10,
        "obv": True,
    }
    # the same key as before the table: the cache's <params> hash did not move
    assert SCAN_STATE == StateParams(keep=(("close", 64), ("open", 10), ("volume", 20)))


def test_the_benchmarks_and_the_sweep_time_the_sets_calls():
    assert list(ASV_CALLS.items()) == list(scan_set.INDICATOR_CALLS.items())
    assert SWEEP_CALLS == scan_set.INDICATOR_CALLS
    for fname, (fields, params) in scan_set.INDICATOR_CALLS.items():
        if fname != "ema":
            assert (fname, params) in [(f, p) for f, p, _ in scan_set.calls()]
        assert fields == scan_set.INPUTS[fname]
