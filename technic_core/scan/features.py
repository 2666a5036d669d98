"""The scan's features (docs/scan.md) at each symbol's last bar.

Two implementations of one definition: ``block_features`` over right-aligned
``(T, N)`` blocks for the vectorised phases, and ``frame_features`` over one
symbol's pandas frame for the baseline.  A rolling feature is NaN when the
symbol has fewer bars than its window needs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..indicators.scan_set import FEATURE_KEYS, INPUTS, calls

# Indicator values the scan needs at the last bar, with the scan's parameters: the one
# table in indicators/scan_set.py.
INDICATOR_KEYS = FEATURE_KEYS

FEATURE_COLUMNS = (
    "close",
    "ret_1",
    "ret_5",
    "ret_21",
    "ret_63",
    "vol_20",
    "atr_pct",
    "sma_20",
    "sma_50",
    "sma_200",
    "pct_from_high_20",
    "rsi_14",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "bb_pctb",
    "bb_width",
    "stoch_k",
    "stoch_d",
    "adx_14",
    "mfi_14",
    "cci_14",
    "willr_14",
    "roc_10",
    "dollar_vol_20",
    "vol_spike",
    "gap_mean_10",
    "cv_20",
)


def indicator_calls(ind, high, low, close, volume, backend: str) -> dict[str, np.ndarray]:
    """Every indicator the scan needs, full length, through the public API."""
    data = {"high": high, "low": low, "close": close, "volume": volume}
    out: dict[str, np.ndarray] = {}
    for fname, params, names in calls():
        if not set(names) & set(INDICATOR_KEYS):
            continue
        res = getattr(ind, fname)(*(data[f] for f in INPUTS[fname]), **params, backend=backend)
        for name, value in zip(names, res if isinstance(res, tuple) else (res,), strict=True):
            out[name] = value
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    return np.where(np.isfinite(out), out, np.nan)


def _derived(f: dict[str, np.ndarray]) -> None:
    f["atr_pct"] = _ratio(f["atr_14"], f["close"])
    f["bb_pctb"] = _ratio(f["close"] - f["bb_lower"], f["bb_upper"] - f["bb_lower"])
    f["bb_width"] = _ratio(f["bb_upper"] - f["bb_lower"], f["bb_middle"])


def _tail(a: np.ndarray, k: int) -> np.ndarray:
    """Last k rows, all NaN when the block is shorter than k."""
    if a.shape[0] >= k:
        return a[-k:]
    return np.full((k, a.shape[1]), np.nan)


def block_features(
    fields: dict[str, np.ndarray], last: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Features of every column of a right-aligned block, given indicator values at the last row."""
    close, open_, volume = fields["close"], fields["open"], fields["volume"]
    c = close[-1]
    f: dict[str, np.ndarray] = {"close": c.copy()}
    for k in (1, 5, 21, 63):
        f[f"ret_{k}"] = _ratio(c, _tail(close, k + 1)[0]) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        logret = np.diff(np.log(_tail(close, 21)), axis=0)
        f["vol_20"] = np.std(logret, axis=0, ddof=1) * np.sqrt(252.0)
        c20 = _tail(close, 20)
        f["pct_from_high_20"] = c / np.max(c20, axis=0) - 1
        f["dollar_vol_20"] = np.mean(c20 * _tail(volume, 20), axis=0)
        f["vol_spike"] = _ratio(volume[-1], np.mean(_tail(volume, 20), axis=0))
        f["gap_mean_10"] = np.mean(_tail(open_, 10) / _tail(close, 11)[:-1] - 1, axis=0)
        f["cv_20"] = _ratio(np.std(c20, axis=0, ddof=0), np.mean(c20, axis=0))
    for key in INDICATOR_KEYS:
        f[key] = np.asarray(last[key], dtype=np.float64)
    _derived(f)
    return {k: f[k] for k in FEATURE_COLUMNS}


def frame_features(df: pd.DataFrame, ind: dict[str, np.ndarray]) -> dict[str, float]:
    """Features of one symbol from its bar frame, pandas style, as the original scanner did."""
    close, volume, open_ = df["close"], df["volume"], df["open"]
    n = len(df)
    c = float(close.iloc[-1])

    def ret(k: int) -> float:
        return float(close.pct_change(k).iloc[-1]) if n > k else np.nan

    def window(s: pd.Series, k: int) -> pd.Series | None:
        return s.iloc[-k:] if n >= k else None

    f: dict[str, float] = {"close": c}
    for k in (1, 5, 21, 63):
        f[f"ret_{k}"] = ret(k)
    logret = np.log(close).diff()
    f["vol_20"] = float(logret.iloc[-20:].std(ddof=1) * np.sqrt(252.0)) if n >= 21 else np.nan
    c20, v20 = window(close, 20), window(volume, 20)
    f["pct_from_high_20"] = c / float(c20.max()) - 1 if c20 is not None else np.nan
    f["dollar_vol_20"] = float((c20 * v20).mean()) if c20 is not None else np.nan
    mean_v = float(v20.mean()) if v20 is not None else np.nan
    f["vol_spike"] = float(volume.iloc[-1]) / mean_v if mean_v and np.isfinite(mean_v) else np.nan
    gaps = open_ / close.shift(1) - 1
    f["gap_mean_10"] = float(gaps.iloc[-10:].mean()) if n >= 11 else np.nan
    mean_c = float(c20.mean()) if c20 is not None else np.nan
    f["cv_20"] = float(c20.std(ddof=0)) / mean_c if c20 is not None and mean_c else np.nan
    for key in INDICATOR_KEYS:
        f[key] = float(ind[key][-1])
    arr = {k: np.array([v], dtype=np.float64) for k, v in f.items()}
    _derived(arr)
    return {k: float(arr[k][0]) for k in FEATURE_COLUMNS}
