"""Scores against hand-worked examples of the scan's rules (docs/scan.md)."""

import numpy as np
import pytest

from technic_core.scan.scores import compute_scores


def feats(**kw):
    base = dict(
        sma_20=np.nan,
        sma_50=np.nan,
        sma_200=np.nan,
        close=np.nan,
        rsi_14=np.nan,
        macd_hist=np.nan,
        pct_from_high_20=np.nan,
        vol_spike=np.nan,
        atr_pct=np.nan,
        ret_5=np.nan,
        bb_upper=np.nan,
    )
    base.update(kw)
    return {k: np.array([v], dtype=np.float64) for k, v in base.items()}


def test_strong_long_worked_by_hand():
    # trend: 20>50 +1, 50>200 +1, close>20 +1 = 3
    # momentum: rsi 60 >55 +1; macd_hist>0 +1; pct_from_high -0.005 >= -0.03 +1 = 3
    # volume: spike 1.6 > 1.5 -> +2; volatility: atr 0.005 < 0.01 -> +1
    # oscillator: 55<=60<=65 -> +1; breakout: -0.005>=-0.01 +1, ret_5 .03>.02 +1, close 105>bb_upper 104 +1 = 3
    # raw = 3*3 + 3*3 + 2*2 + 1 + 1 + 3 = 27; rating = 27 * (0.7 + 0.3*clip(1-0.05)) = 27*0.985
    s = compute_scores(
        feats(
            sma_20=101,
            sma_50=100,
            sma_200=90,
            close=105,
            rsi_14=60,
            macd_hist=0.2,
            pct_from_high_20=-0.005,
            vol_spike=1.6,
            atr_pct=0.005,
            ret_5=0.03,
            bb_upper=104,
        )
    )
    assert s["trend"][0] == 3 and s["momentum"][0] == 3 and s["volume_score"][0] == 2
    assert s["volatility"][0] == 1 and s["oscillator"][0] == 1 and s["breakout"][0] == 3
    assert s["tech_raw"][0] == 27
    assert s["tech_rating"][0] == pytest.approx(27 * 0.985, rel=1e-15)
    assert s["signal"][0] == "Strong Long"


def test_short_side_and_clipping():
    # trend -3; momentum: rsi 35 -> -1 -1, macd -1 => -3 (pct_from_high -0.2 gives 0)
    # volume spike 0.5 -> -1; atr 0.04 -> volatility -1; oscillator rsi<40 -> -1; breakout 0
    # raw = -9 -9 -2 -1 -1 + 0 = -22; weight clip(1-0.4)=0.6 -> 0.88
    s = compute_scores(
        feats(
            sma_20=90,
            sma_50=95,
            sma_200=100,
            close=85,
            rsi_14=35,
            macd_hist=-1,
            pct_from_high_20=-0.2,
            vol_spike=0.5,
            atr_pct=0.04,
            ret_5=-0.05,
            bb_upper=99,
        )
    )
    assert s["trend"][0] == -3 and s["momentum"][0] == -3
    assert s["tech_raw"][0] == -22
    assert s["tech_rating"][0] == pytest.approx(-22 * 0.88, rel=1e-15)
    assert s["signal"][0] == "Strong Short"


def test_missing_inputs_contribute_nothing():
    s = compute_scores(feats(close=10.0, atr_pct=0.02))
    for k in ("trend", "momentum", "volume_score", "oscillator", "breakout"):
        assert s[k][0] == 0, k
    assert s["tech_raw"][0] == 0 and s["signal"][0] == "Neutral"


@pytest.mark.parametrize(
    "spike,points", [(1.51, 2), (1.5, 1), (1.21, 1), (1.2, 0), (0.7, 0), (0.69, -1)]
)
def test_volume_thresholds(spike, points):
    assert compute_scores(feats(vol_spike=spike))["volume_score"][0] == points


@pytest.mark.parametrize(
    "rsi,mom,osc",
    [(66, 2, 0), (65, 1, 1), (55, 0, 1), (50, 0, 0), (44, -1, 0), (39, -2, -1), (71, 2, -1)],
)
def test_rsi_thresholds(rsi, mom, osc):
    s = compute_scores(feats(rsi_14=rsi))
    assert s["momentum"][0] == mom and s["oscillator"][0] == osc


def test_long_needs_trend():
    # rating >= 8 but trend 0 -> Neutral
    s = compute_scores(
        feats(rsi_14=60, macd_hist=1, pct_from_high_20=0, vol_spike=2, atr_pct=0.001, ret_5=0.05)
    )
    assert s["trend"][0] == 0 and s["tech_rating"][0] >= 8 and s["signal"][0] == "Neutral"


# 25 closes in cents whose last 20 average exactly the last close (8.00): pandas' rolling mean
# gives 8.0, TA-Lib's running sum 8.000000000000002 (the 300-symbol store of seed 7 had such a
# symbol, GLY, whose trend scored 0 in the baseline and -1 in the vectorised phases).
TIE_CLOSES = [
    7.89,
    8.05,
    8.03,
    7.92,
    7.9,
    8.19,
    8.15,
    7.82,
    7.88,
    8.02,
    8.01,
    7.83,
    8.18,
    7.89,
    8.09,
    8.18,
    8.02,
    8.08,
    7.94,
    7.8,
    8.01,
    7.97,
    7.8,
    8.14,
    8.0,
]


def test_a_true_tie_scores_alike_whichever_engine_computed_the_sma():
    import pandas as pd
    import talib

    from technic_core import indicators as ind

    close = np.array(TIE_CLOSES)
    by_pandas = pd.Series(close).rolling(20).mean().to_numpy()[-1]
    by_talib = talib.SMA(close, 20)[-1]
    assert by_pandas != by_talib and abs(by_pandas - by_talib) < 1e-14  # one ulp apart
    assert ind.sma(close, 20, backend="numba")[-1] == by_talib
    trends = []
    for sma20 in (by_pandas, by_talib):
        f = feats(close=close[-1], sma_20=sma20)
        trends.append(int(compute_scores(f)["trend"][0]))
    assert trends == [0, 0]  # a tie: no point either way


def test_differences_beyond_the_tolerance_still_count():
    for close, sma20, want in ((7.95 * (1 + 1e-8), 7.95, 1), (7.95 * (1 - 1e-8), 7.95, -1)):
        assert int(compute_scores(feats(close=close, sma_20=sma20))["trend"][0]) == want
    hist_tie = compute_scores(feats(close=100.0, macd_hist=1e-12))
    hist_up = compute_scores(feats(close=100.0, macd_hist=1e-6))
    assert int(hist_up["momentum"][0]) - int(hist_tie["momentum"][0]) == 1
