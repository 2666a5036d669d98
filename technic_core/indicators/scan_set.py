"""The scan's indicator set: the one table every copy is derived from or checked against.

``SCAN_SET`` names each value the scan reads at a symbol's last bar (docs/scan.md,
"Features") with the TA-Lib function, its keyword parameters and which of its outputs it
is.  From it come the features' keys and full-length calls (``scan/features.py``), the
backends' fused pass (``backends/_fused.py``), the GPU's launch plan
(``cupy_backend.FUSED_PLAN``) and the cache's indicator state (``state_args``).  The
Numba fused kernel carries the set in its own code (kernels know nothing above them), so
``FUSED_ROWS`` and its parameters are asserted against this table in
``tests/indicators/test_scan_set.py``, as are the asv suite's ``INDICATOR_CALLS`` (which
must also run against older commits that have no such module).

Plain data, no imports: any module of the package may read it.
"""

from __future__ import annotations

# name -> (function, TA-Lib keyword parameters in the function's positional order, output)
SCAN_SET: dict[str, tuple[str, dict, int]] = {
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

# The values the features read (OBV is in the fused pass and the state, not in a feature).
FEATURE_KEYS = tuple(k for k in SCAN_SET if k != "obv")

# Which of (high, low, close, volume) each function takes, in order.
INPUTS: dict[str, tuple[str, ...]] = {
    "sma": ("close",),
    "ema": ("close",),
    "rsi": ("close",),
    "macd": ("close",),
    "bbands": ("close",),
    "roc": ("close",),
    "atr": ("high", "low", "close"),
    "adx": ("high", "low", "close"),
    "willr": ("high", "low", "close"),
    "cci": ("high", "low", "close"),
    "stoch": ("high", "low", "close"),
    "obv": ("close", "volume"),
    "mfi": ("high", "low", "close", "volume"),
}

# EMA is not a feature; the state carries one and the benchmarks time it at 21 bars.
EMA_PERIOD = 21

# One call of each of the thirteen functions at the scan's parameters (the set's first call
# of it; EMA at EMA_PERIOD): what the benchmarks and the bench's sweep time.
FUNCTIONS = (
    "sma",
    "ema",
    "rsi",
    "macd",
    "bbands",
    "atr",
    "stoch",
    "adx",
    "obv",
    "roc",
    "willr",
    "cci",
    "mfi",
)


def _first_call(fname: str) -> tuple[tuple[str, ...], dict]:
    if fname == "ema":
        return INPUTS[fname], {"timeperiod": EMA_PERIOD}
    return next((INPUTS[f], dict(p)) for f, p, _ in SCAN_SET.values() if f == fname)


INDICATOR_CALLS: dict[str, tuple[tuple[str, ...], dict]] = {f: _first_call(f) for f in FUNCTIONS}


def calls() -> list[tuple[str, dict, tuple[str, ...]]]:
    """The set as function calls, each once: (function, parameters, result names by output)."""
    out: dict[tuple, tuple[str, dict, list]] = {}
    for key, (fname, params, k) in SCAN_SET.items():
        call = out.setdefault((fname, tuple(params.items())), (fname, params, []))
        names = call[2]
        names.extend([None] * (k + 1 - len(names)))
        names[k] = key
    return [(f, p, tuple(n)) for f, p, n in out.values()]


def periods(fname: str) -> tuple:
    """The parameters of every call of ``fname`` in the set, as positional tuples."""
    return tuple(tuple(p.values()) for f, p, _ in calls() if f == fname)


def state_args() -> dict:
    """``StateParams`` keyword arguments for the scan's set (plus EMA_PERIOD)."""
    one = {f: periods(f) for f in FUNCTIONS}
    for name, got in one.items():
        if name not in ("sma", "ema", "obv") and len(got) != 1:
            raise ValueError(f"the state carries one {name}; the scan set has {len(got)}")
    return {
        "sma": tuple(p[0] for p in one["sma"]),
        "ema": (EMA_PERIOD,),
        "rsi": one["rsi"][0][0],
        "macd": one["macd"][0],
        "bbands": one["bbands"][0],
        "atr": one["atr"][0][0],
        "stoch": one["stoch"][0],
        "adx": one["adx"][0][0],
        "mfi": one["mfi"][0][0],
        "cci": one["cci"][0][0],
        "willr": one["willr"][0][0],
        "roc": one["roc"][0][0],
        "obv": bool(one["obv"]),
    }
