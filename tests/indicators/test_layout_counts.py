"""The validation's counting pass (kernels/layout.count_columns) against a plain NumPy reading."""

from __future__ import annotations

import numpy as np
import pytest

from technic_core.indicators import validate


def reference(a: np.ndarray):
    isnan = np.isnan(a)
    t = a.shape[0]
    starts = np.where(isnan.all(axis=0), t, np.argmax(~isnan, axis=0))
    return starts, isnan.sum(axis=0), np.isinf(a).sum(axis=0)


@pytest.mark.parametrize("rows", [1, 2, 3, 4, 5, 7, 8, 9, 63, 504])
@pytest.mark.parametrize("cols", [1, 3, 130, 1100])
def test_counts_match_numpy(rows, cols):
    # every row count modulo the four-row step, block widths and their remainders,
    # defects on every row position within a step
    rng = np.random.default_rng(rows * 10_000 + cols)
    a = 100 + rng.normal(size=(rows, cols))
    for j in range(cols):
        kind = j % 6
        r = int(rng.integers(rows))
        if kind == 1:
            a[:r, j] = np.nan  # late start (possibly none)
        elif kind == 2:
            a[:, j] = np.nan  # no data
        elif kind == 3:
            a[r, j] = np.nan  # a gap (or a start, in row 0)
        elif kind == 4:
            a[r, j] = np.inf if r % 2 else -np.inf
        elif kind == 5:
            a[: r // 2, j] = np.nan
            a[r, j] = np.nan
    got = validate.column_counts(a)
    for g, w in zip(got, reference(a)):
        np.testing.assert_array_equal(g, w)
