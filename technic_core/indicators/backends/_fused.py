"""The indicator set a scan reads at each symbol's last bar (docs/scan.md, "Features").

``FUSED`` (``scan_set.SCAN_SET``) maps each result name to the backend function, its parameters and
which of its outputs it is.  A backend's ``fused_indicators`` returns, for
each name, an ``(N,)`` array equal to row ``T-1`` of that function's output;
``last_rows`` computes exactly that the slow way and is the reference for it.
"""

from __future__ import annotations

import numpy as np

from ..scan_set import INPUTS, SCAN_SET

# The table lives in ``indicators/scan_set.py``; the name stays for the backends.
FUSED = SCAN_SET


def last_rows(backend, high, low, close, volume, skip=()) -> dict[str, np.ndarray]:
    """``FUSED`` values (except ``skip``) from the backend's full functions' last row."""
    data = {"high": high, "low": low, "close": close, "volume": volume}
    done: dict[tuple, tuple] = {}
    out = {}
    for key, (fname, params, k) in FUSED.items():
        if key in skip:
            continue
        call = (fname, tuple(sorted(params.items())))
        if call not in done:
            res = getattr(backend, fname)(*(data[a] for a in INPUTS[fname]), **params)
            done[call] = res if isinstance(res, tuple) else (res,)
        res = done[call][k]
        out[key] = res[-1].copy() if res.shape[0] else np.full(res.shape[1], np.nan)
    return out
