"""One pass over a (T, N) input: where each column starts, and its first defect.

Validation runs before every indicator call, so it must cost a fraction of the
indicator itself: a row-order walk touches each value once, in memory order.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def scan_layout(a):
    """(starts, column, row, kind): kind 1 is the first infinity, else 2 the first interior NaN."""
    t, n = a.shape
    starts = np.full(n, t, dtype=np.int64)
    inf_col, inf_row, gap_col, gap_row = -1, -1, -1, -1
    for i in range(t):
        for j in range(n):
            x = a[i, j]
            if np.isnan(x):
                if starts[j] < i and gap_col < 0:
                    gap_col, gap_row = j, i
                continue
            if starts[j] == t:
                starts[j] = i
            if np.isinf(x) and inf_col < 0:
                inf_col, inf_row = j, i
    if inf_col >= 0:
        return starts, inf_col, inf_row, 1
    if gap_col >= 0:
        return starts, gap_col, gap_row, 2
    return starts, -1, -1, 0
