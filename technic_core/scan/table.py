"""The output table: sector percentiles, ranking, the columns of docs/scan.md in order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .features import FEATURE_COLUMNS
from .scores import SCORE_COLUMNS

ID_COLUMNS = ("symbol", "name", "sector", "industry", "market_cap", "is_etf", "n_bars")
TABLE_COLUMNS = ("rank", *ID_COLUMNS, *FEATURE_COLUMNS, *SCORE_COLUMNS, "sector_pct")


def sector_percentiles(sector: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Percentile rank (0-100) of each value within its sector: pandas' ``rank(method="average",
    pct=True)`` per group (ties share their average rank; NaN stays NaN and is not counted),
    without a groupby (a few milliseconds of pandas overhead per scan)."""
    out = np.full(len(values), np.nan)
    if not len(values):
        return out
    codes, _ = pd.factorize(sector)  # a missing sector is no group (-1)
    ok = ~np.isnan(values) & (codes >= 0)
    if not ok.any():
        return out
    # sort by (sector, value): each group's values in order, then average ranks over runs of ties
    order = np.lexsort((values, codes))
    order = order[ok[order]]
    c, v = codes[order], values[order]
    new_group = np.r_[True, c[1:] != c[:-1]]
    new_run = new_group | np.r_[True, v[1:] != v[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(c)), 0))
    pos = np.arange(len(c)) - group_start + 1  # 1-based rank in the group
    run_id = np.cumsum(new_run) - 1
    run_first = pos[new_run]
    run_len = np.diff(np.r_[np.flatnonzero(new_run), len(c)])
    avg = run_first + (run_len - 1) / 2.0
    size = np.bincount(c, minlength=int(codes.max()) + 1)[c]
    out[order] = avg[run_id] / size * 100.0
    return out


def build_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Rank the passing symbols. ``rows`` holds ID, feature and score columns."""
    tech = rows["tech_rating"].to_numpy(np.float64)
    dollar = rows["dollar_vol_20"].to_numpy(np.float64)
    pct = sector_percentiles(rows["sector"].to_numpy(dtype=object), tech)
    # tech_rating and dollar_vol_20 descending (NaN last), then symbol
    order = (
        np.lexsort((rows["symbol"].to_numpy(dtype=object), -dollar, -tech))
        if len(rows)
        else np.zeros(0, np.int64)
    )
    df = rows.take(order).reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1, dtype=np.int64))
    df["sector_pct"] = pct[order]
    return df[list(TABLE_COLUMNS)]
