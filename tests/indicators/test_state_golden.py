"""The state's every value, bit for bit, as the kernel of c082e03 computed it.

The state kernel's layout and loops may change for speed (issue 16), its
arithmetic may not: a state row is what the cache stores and what a rescan
advances, so any change of rounding would split a cached answer from a cold
one.  The digests below were taken with the row-major kernel of c082e03 on
the same seeded bars (ragged histories, flat windows, zero volume), after a
build and three one-bar advances, for three parameter sets.
"""

import hashlib

import numpy as np
import pytest

from technic_core.indicators.state import FIELDS, StateParams, build_state
from technic_core.scan.phases.cache_phase import SCAN_STATE

from .test_state import ragged_universe

GOLDEN = {
    "ragged-default": "ad0dd3df341ddf9bc051fb89708fae04",
    "ragged-scan": "9589172c0b97712b48302d97e308ac69",
    "ragged-other": "7f06cd9e6503ea4ca6ca82dbe1ddc8df",
    "flat-default": "ebac97cd0f4276be1019963b8e80f90e",
    "flat-scan": "867fe98e4b8cb330ab5a33c1b91510c5",
    "flat-other": "3cf2901e4c4a82b14fc6358c30e81b42",
}
PARAMS = {
    "default": StateParams(),
    "scan": SCAN_STATE,
    "other": StateParams(
        sma=(5, 30),
        ema=(9, 50),
        rsi=7,
        macd=(26, 12, 5),
        bbands=(10, 1.5, 2.5),
        atr=5,
        stoch=(5, 2, 4),
        adx=9,
        mfi=7,
        cci=20,
        willr=7,
        roc=3,
    ),
}


def _bars(name):
    f = ragged_universe()
    if name == "flat":
        f = {k: v.copy() for k, v in f.items()}
        for k in ("open", "high", "low", "close"):
            f[k][100:130, 60:70] = 5.0
        f["volume"][100:140, 70:75] = 0.0
    return f


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_state_rows_are_bit_identical_to_the_reference_kernel(case):
    name, pname = case.split("-")
    bars = _bars(name)
    state = build_state({k: v[:-3] for k, v in bars.items()}, PARAMS[pname])
    for t in range(3, 0, -1):
        state.advance(*(bars[k][-t] for k in FIELDS))
    rows = np.ascontiguousarray(state.rows)  # (N, width), one row per symbol
    assert hashlib.sha256(rows.tobytes()).hexdigest()[:32] == GOLDEN[case]
