"""The output table: sector percentiles, ranking, SPEC's columns in order."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .features import FEATURE_COLUMNS
from .scores import SCORE_COLUMNS

ID_COLUMNS = ("symbol", "name", "sector", "industry", "market_cap", "is_etf", "n_bars")
TABLE_COLUMNS = ("rank", *ID_COLUMNS, *FEATURE_COLUMNS, *SCORE_COLUMNS, "sector_pct")


def build_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Rank the passing symbols. ``rows`` holds ID, feature and score columns."""
    df = rows.copy()
    if len(df):
        df["sector_pct"] = df.groupby("sector")["tech_rating"].rank(method="average", pct=True) * 100.0
    else:
        df["sector_pct"] = pd.Series(dtype=np.float64)
    df = df.sort_values(["tech_rating", "dollar_vol_20", "symbol"],
                        ascending=[False, False, True], kind="mergesort")
    df.insert(0, "rank", np.arange(1, len(df) + 1, dtype=np.int64))
    df = df.reset_index(drop=True)
    return df[list(TABLE_COLUMNS)]
