"""Ragged columns: shift short histories to row 0 and back.

The fast backends compute every column as if its series started at row 0,
which keeps their inner loops free of per-column conditions.  A column whose
series starts later (leading NaNs: a recent listing) is handled by running
the same computation on a copy of those columns shifted up to row 0 (the
rows past their end are NaN and their results thrown away), then shifting
the results back down.  This equals TA-Lib applied to each column's own
non-NaN tail, which is what TA-Lib's Python wrapper does.

Inputs are validated upstream: no interior NaNs, and all inputs of one call
share each column's start, so the first input's starts are everyone's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def column_starts(a: np.ndarray) -> np.ndarray:
    """Row of each column's first non-NaN value (T for an all-NaN column)."""
    t, n = a.shape
    starts = np.zeros(n, np.int64)
    if t == 0:
        return starts
    lead = np.flatnonzero(np.isnan(a[0]))
    if lead.size:
        valid = ~np.isnan(a[:, lead])
        s = np.argmax(valid, axis=0)
        s[~valid.any(axis=0)] = t
        starts[lead] = s
    return starts


def shift_up(arrays: Sequence[np.ndarray], cols: np.ndarray, starts: np.ndarray):
    """Columns ``cols`` of each array with row ``starts[c]`` moved to row 0 (NaN below)."""
    t = arrays[0].shape[0]
    idx = np.arange(t)[:, None] + starts[cols][None, :]
    past_end = idx >= t
    np.minimum(idx, t - 1, out=idx)
    out = []
    for a in arrays:
        sub = np.take_along_axis(a[:, cols], idx, axis=0)
        sub[past_end] = np.nan
        out.append(np.ascontiguousarray(sub))
    return out


def shift_down(sub: np.ndarray, cols: np.ndarray, starts: np.ndarray, out: np.ndarray) -> None:
    """Inverse of ``shift_up`` for one result, written into ``out[:, cols]``."""
    t = sub.shape[0]
    idx = np.arange(t)[:, None] - starts[cols][None, :]
    before = idx < 0
    np.maximum(idx, 0, out=idx)
    res = np.take_along_axis(sub, idx, axis=0)
    res[before] = np.nan
    out[:, cols] = res


def apply_ragged(
    compute: Callable[[list[np.ndarray]], tuple[np.ndarray, ...]],
    arrays: Sequence[np.ndarray],
    up=shift_up,
    down=shift_down,
) -> tuple[np.ndarray, ...]:
    """Run ``compute`` (which assumes all columns start at row 0) correctly on
    ragged input: once on everything, then again on the late-starting columns
    shifted to row 0, whose results replace the first ones.  ``up``/``down``
    may be faster equivalents of ``shift_up``/``shift_down``."""
    outs = compute(list(arrays))
    starts = column_starts(arrays[0])
    cols = np.flatnonzero(starts)
    if cols.size:
        subs = compute(up(arrays, cols, starts))
        for o, s in zip(outs, subs):
            down(s, cols, starts, o)
    return outs
