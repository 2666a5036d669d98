"""The scan's scores (docs/scan.md), vectorised over symbols (a single symbol is an array of one).

Every comparison with a missing (NaN) input contributes 0: numpy comparisons
with NaN are False, and each rule below is written as "condition -> points".
"""
from __future__ import annotations

import numpy as np

SCORE_COLUMNS = ("trend", "momentum", "volume_score", "volatility", "oscillator", "breakout",
                 "tech_raw", "tech_rating", "signal")


def _sign_cmp(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a > b).astype(np.int64) - (a < b).astype(np.int64)


def compute_scores(f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    rsi, close = f["rsi_14"], f["close"]
    trend = _sign_cmp(f["sma_20"], f["sma_50"]) + _sign_cmp(f["sma_50"], f["sma_200"]) \
        + _sign_cmp(close, f["sma_20"])
    trend = np.clip(trend, -3, 3)

    momentum = ((rsi > 55).astype(np.int64) + (rsi > 65) - (rsi < 45) - (rsi < 40)
                + (f["macd_hist"] > 0) - (f["macd_hist"] < 0) + (f["pct_from_high_20"] >= -0.03))
    momentum = np.clip(momentum, -3, 3)

    spike = f["vol_spike"]
    volume = np.where(spike > 1.5, 2, np.where(spike > 1.2, 1, np.where(spike < 0.7, -1, 0)))

    atr_pct = f["atr_pct"]
    volatility = (atr_pct < 0.01).astype(np.int64) - (atr_pct > 0.03)
    oscillator = ((rsi >= 55) & (rsi <= 65)).astype(np.int64) - ((rsi > 70) | (rsi < 40))
    breakout = ((f["pct_from_high_20"] >= -0.01).astype(np.int64) + (f["ret_5"] > 0.02)
                + (close > f["bb_upper"]))

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
        "trend": trend.astype(np.int64), "momentum": momentum.astype(np.int64),
        "volume_score": volume.astype(np.int64), "volatility": volatility.astype(np.int64),
        "oscillator": oscillator.astype(np.int64), "breakout": breakout.astype(np.int64),
        "tech_raw": tech_raw.astype(np.int64), "tech_rating": tech_rating.astype(np.float64),
        "signal": signal,
    }
