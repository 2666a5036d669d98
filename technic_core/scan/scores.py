"""The scan's scores (docs/scan.md), vectorised over symbols (a single symbol is an array of one).

Every comparison with a missing (NaN) input contributes 0: numpy comparisons
with NaN are False, and each rule below is written as "condition -> points".

Comparisons are decided beyond SPEC's tolerance: ``a > b`` only when ``a`` exceeds
``b`` by more than ``TOL`` of their magnitude.  Indicators are defined to 1e-9
relative (TA-Lib's values; pandas' rolling sums and TA-Lib's running sums differ in
the last bits), so two engines may put the same true tie on either side of it:
a close of 7.95 against an SMA 20 of exactly 7.95 (pandas) or 7.950000000000001
(TA-Lib) scored 0 or -1, and the table differed by phase.  A difference inside the
tolerance is a tie (0 points), the answer exact arithmetic gives.
"""

from __future__ import annotations

import numpy as np

SCORE_COLUMNS = (
    "trend",
    "momentum",
    "volume_score",
    "volatility",
    "oscillator",
    "breakout",
    "tech_raw",
    "tech_rating",
    "signal",
)
TOL = 1e-9  # SPEC: indicators equal TA-Lib to 1e-9 relative


def _scale(a, b, scale):
    return np.maximum(np.abs(a), np.abs(b)) if scale is None else np.abs(scale)


def _gt(a, b, scale=None) -> np.ndarray:
    """a > b beyond the tolerance (False where either is NaN)."""
    return (a - b) > TOL * _scale(a, b, scale)


def _lt(a, b, scale=None) -> np.ndarray:
    return (b - a) > TOL * _scale(a, b, scale)


def _ge(a, b, scale=None) -> np.ndarray:
    """a >= b within the tolerance (False where either is NaN)."""
    return (a - b) >= -TOL * _scale(a, b, scale)


def _le(a, b, scale=None) -> np.ndarray:
    return (b - a) >= -TOL * _scale(a, b, scale)


def _sign_cmp(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _gt(a, b).astype(np.int64) - _lt(a, b).astype(np.int64)


def compute_scores(f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    rsi, close = f["rsi_14"], f["close"]
    trend = (
        _sign_cmp(f["sma_20"], f["sma_50"])
        + _sign_cmp(f["sma_50"], f["sma_200"])
        + _sign_cmp(close, f["sma_20"])
    )
    trend = np.clip(trend, -3, 3)

    hist = f["macd_hist"]  # in price units: its tie with 0 is judged against the close
    momentum = (
        _gt(rsi, 55).astype(np.int64)
        + _gt(rsi, 65)
        - _lt(rsi, 45)
        - _lt(rsi, 40)
        + _gt(hist, 0.0, close)
        - _lt(hist, 0.0, close)
        + _ge(f["pct_from_high_20"], -0.03)
    )
    momentum = np.clip(momentum, -3, 3)

    spike = f["vol_spike"]
    volume = np.where(
        _gt(spike, 1.5), 2, np.where(_gt(spike, 1.2), 1, np.where(_lt(spike, 0.7), -1, 0))
    )

    atr_pct = f["atr_pct"]
    volatility = _lt(atr_pct, 0.01).astype(np.int64) - _gt(atr_pct, 0.03)
    oscillator = (_ge(rsi, 55) & _le(rsi, 65)).astype(np.int64) - (_gt(rsi, 70) | _lt(rsi, 40))
    breakout = (
        _ge(f["pct_from_high_20"], -0.01).astype(np.int64)
        + _gt(f["ret_5"], 0.02)
        + _gt(close, f["bb_upper"])
    )

    tech_raw = 3 * trend + 3 * momentum + 2 * volume + volatility + oscillator + breakout
    # A missing ATR takes the least favourable weight (0.7) rather than erasing the rating.
    weight = np.clip(1 - 10 * np.nan_to_num(atr_pct, nan=np.inf), 0, 1)
    tech_rating = tech_raw * (0.7 + 0.3 * weight)

    signal = np.full(tech_raw.shape, "Neutral", dtype=object)
    signal[(tech_rating <= -8) & (trend <= -1)] = "Short"
    signal[(tech_rating >= 8) & (trend >= 1)] = "Long"
    signal[(tech_rating <= -14) & (trend <= -2) & (momentum <= -1)] = "Strong Short"
    signal[(tech_rating >= 14) & (trend >= 2) & (momentum >= 1)] = "Strong Long"
    return {
        "trend": trend.astype(np.int64),
        "momentum": momentum.astype(np.int64),
        "volume_score": volume.astype(np.int64),
        "volatility": volatility.astype(np.int64),
        "oscillator": oscillator.astype(np.int64),
        "breakout": breakout.astype(np.int64),
        "tech_raw": tech_raw.astype(np.int64),
        "tech_rating": tech_rating.astype(np.float64),
        "signal": signal,
    }
