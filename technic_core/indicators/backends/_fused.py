"""The indicator set a scan reads at each symbol's last bar (docs/scan.md, "Features").

``FUSED`` maps each result name to the backend function, its parameters and
which of its outputs it is.  A backend's ``fused_indicators`` returns, for
each name, an ``(N,)`` array equal to row ``T-1`` of that function's output;
``last_rows`` computes exactly that the slow way and is the reference for it.
"""
from __future__ import annotations

import numpy as np

FUSED: dict[str, tuple[str, dict, int]] = {
    "sma_20": ("sma", {"timeperiod": 20}, 0),
    "sma_50": ("sma", {"timeperiod": 50}, 0),
    "sma_200": ("sma", {"timeperiod": 200}, 0),
    "rsi_14": ("rsi", {"timeperiod": 14}, 0),
    "macd": ("macd", {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}, 0),
    "macd_signal": ("macd", {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}, 1),
    "macd_hist": ("macd", {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}, 2),
    "bb_upper": ("bbands", {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0}, 0),
    "bb_middle": ("bbands", {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0}, 1),
    "bb_lower": ("bbands", {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0}, 2),
    "atr_14": ("atr", {"timeperiod": 14}, 0),
    "stoch_k": ("stoch", {"fastk_period": 14, "slowk_period": 3, "slowd_period": 3}, 0),
    "stoch_d": ("stoch", {"fastk_period": 14, "slowk_period": 3, "slowd_period": 3}, 1),
    "adx_14": ("adx", {"timeperiod": 14}, 0),
    "mfi_14": ("mfi", {"timeperiod": 14}, 0),
    "cci_14": ("cci", {"timeperiod": 14}, 0),
    "willr_14": ("willr", {"timeperiod": 14}, 0),
    "roc_10": ("roc", {"timeperiod": 10}, 0),
    "obv": ("obv", {}, 0),
}

# Which of (high, low, close, volume) each function takes, in order.
INPUTS = {
    "sma": ("close",), "ema": ("close",), "rsi": ("close",), "macd": ("close",),
    "bbands": ("close",), "roc": ("close",),
    "atr": ("high", "low", "close"), "adx": ("high", "low", "close"),
    "willr": ("high", "low", "close"), "cci": ("high", "low", "close"),
    "stoch": ("high", "low", "close"),
    "obv": ("close", "volume"), "mfi": ("high", "low", "close", "volume"),
}


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
