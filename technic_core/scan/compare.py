"""Whether two scan results give the same answer (docs/scan.md: the same, row for row)."""

from __future__ import annotations

import numpy as np
import pandas as pd

RTOL = 1e-9


def table_differences(
    a: pd.DataFrame, b: pd.DataFrame, rtol: float = RTOL, limit: int = 10
) -> list[str]:
    """Human-readable differences; empty when the tables agree.

    Text, integer and boolean columns must be equal; float columns equal to
    ``rtol`` relative (absolute ``rtol`` near zero) with NaN in the same places.
    """
    out: list[str] = []
    if list(a.columns) != list(b.columns):
        return [f"columns differ: {list(a.columns)} vs {list(b.columns)}"]
    if len(a) != len(b):
        sa, sb = set(a["symbol"]), set(b["symbol"])
        return [
            f"row counts differ: {len(a)} vs {len(b)}; only in first: {sorted(sa - sb)[:limit]}, "
            f"only in second: {sorted(sb - sa)[:limit]}"
        ]
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            x, y = x.astype(np.float64), y.astype(np.float64)
            nan_diff = np.isnan(x) != np.isnan(y)
            both = ~np.isnan(x) & ~np.isnan(y)
            tol = rtol * np.maximum(np.maximum(np.abs(x), np.abs(y)), 1.0)
            bad = nan_diff | (both & (np.abs(x - y) > tol))
        else:
            bad = np.asarray(x != y, dtype=bool)
        for i in np.flatnonzero(bad)[: max(0, limit - len(out))]:
            out.append(
                f"row {i} ({a['symbol'].iat[i]} vs {b['symbol'].iat[i]}) {col}: {x[i]!r} vs {y[i]!r}"
            )
        if len(out) >= limit:
            break
    return out


def max_deviation(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Largest relative deviation over the float columns of two aligned tables (inf if not aligned)."""
    if (
        list(a.columns) != list(b.columns)
        or len(a) != len(b)
        or not (a["symbol"].to_numpy() == b["symbol"].to_numpy()).all()
    ):
        return float("inf")
    worst = 0.0
    for col in a.columns:
        if a[col].dtype.kind != "f":
            continue
        x, y = a[col].to_numpy(np.float64), b[col].to_numpy(np.float64)
        if (np.isnan(x) != np.isnan(y)).any():
            return float("inf")
        m = ~np.isnan(x)
        if m.any():
            worst = max(worst, float(np.max(np.abs(x[m] - y[m]) / np.maximum(np.abs(x[m]), 1.0))))
    return worst


def results_match(a, b, rtol: float = RTOL) -> list[str]:
    """Differences between two ScanResults: table, rejections and errors."""
    diffs = table_differences(a.table, b.table, rtol)
    if a.rejections != b.rejections:
        diffs.append(f"rejections differ: {a.rejections} vs {b.rejections}")
    ea = dict(zip(a.errors["symbol"], a.errors["reason"]))
    eb = dict(zip(b.errors["symbol"], b.errors["reason"]))
    if ea != eb:
        keys = sorted(set(ea) ^ set(eb) | {k for k in set(ea) & set(eb) if ea[k] != eb[k]})
        diffs.append(f"errors differ for {keys[:10]}")
    return diffs
