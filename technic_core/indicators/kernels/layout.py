"""Input validation kernels over a ``(T, N)`` array.

``count_columns`` is the fast pass run on every plain-array input (and once
per field of a ``Panel``): for a range of columns, each column's first
non-NaN row, its count of NaNs and of infinities, in one row-order walk with
no branch in the inner loop (it vectorises, and column ranges run on the
thread pool).  A column is well laid out when its NaNs are exactly the ones
before its first value and it holds no infinity.

``transpose_counts`` does the same counting while it copies a column-major
array (a pandas frame's values) into a row-major one: the copy the kernels
need and the check in one read of the input.

``scan_layout`` finds the *first* defect in row order, for the error message;
it runs only when the fast pass found one.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uintp


@njit(cache=True, nogil=True, error_model="numpy")
def count_columns(a, starts, nans, infs, col0, col1, width):
    """starts/nans/infs[col0:col1] of ``a``: first non-NaN row (T if none), NaN count, inf count."""
    t_len = a.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        s = np.full(w, t_len, np.int64)
        nn = np.zeros(w, np.int64)
        ni = np.zeros(w, np.int64)
        for t in range(t_len):
            for j in range(w):
                x = a[t, c0 + uintp(j)]
                isnan = x != x
                s[j] = min(s[j], t_len if isnan else t)
                nn[j] += isnan
                ni[j] += abs(x) == np.inf
        for j in range(w):
            starts[cb + j] = s[j]
            nans[cb + j] = nn[j]
            infs[cb + j] = ni[j]


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


@njit(cache=True, nogil=True, error_model="numpy")
def transpose_counts(a, out, starts, nans, infs, col0, col1, width):
    """out[:, col0:col1] = a[:, col0:col1] (column-major in, row-major out), counting as it copies.

    The counts are ``count_columns``' for those columns.  Each tile of
    ``width`` columns is counted down its contiguous columns first (which
    brings it into cache), then written row by row.
    """
    t_len = a.shape[0]
    tu = uintp(t_len)
    for cb in range(col0, col1, width):
        w = uintp(min(col1, cb + width) - cb)
        c0 = uintp(cb)
        for jj in range(w):
            j = c0 + jj
            s = t_len
            nn = 0
            ni = 0
            for t in range(t_len):
                x = a[uintp(t), j]
                isnan = x != x
                s = min(s, t_len if isnan else t)
                nn += isnan
                ni += abs(x) == np.inf
            starts[j] = s
            nans[j] = nn
            infs[j] = ni
        for t in range(tu):
            for jj in range(w):
                out[t, c0 + jj] = a[t, c0 + jj]
