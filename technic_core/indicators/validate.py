"""Input checks shared by every indicator: shape, dtype, NaN layout.

Leading NaNs in a column mark a short history (the column's series starts
later); a NaN after a column's first value is an interior gap, which TA-Lib
would silently propagate through every later value of a recurrence.  We
reject it with the column and row so that no wrong number is ever returned.
"""
from __future__ import annotations

import numpy as np


class IndicatorInputError(ValueError):
    """Indicator input that cannot give a correct answer (shape, gaps, period)."""


def as_2d(name: str, arrays: dict[str, object]) -> tuple[dict[str, np.ndarray], bool]:
    """Arrays as C-contiguous float64 ``(T, N)``; also whether input was 1-D."""
    out: dict[str, np.ndarray] = {}
    ndim = None
    shape = None
    for arg, value in arrays.items():
        a = np.asarray(value, dtype=np.float64)
        if a.ndim not in (1, 2):
            raise IndicatorInputError(
                f"{name}: {arg} must be 1-D (T,) or 2-D (T, N); got shape {a.shape}"
            )
        if ndim is None:
            ndim, shape = a.ndim, a.shape
        elif a.shape != shape:
            raise IndicatorInputError(
                f"{name}: {arg} has shape {a.shape}, other inputs have {shape}"
            )
        if a.ndim == 1:
            a = a[:, None]
        out[arg] = np.ascontiguousarray(a)
    return out, ndim == 1


def check_period(name: str, minimum: int = 1, **periods: int) -> None:
    """Periods must be integers >= ``minimum`` (TA-Lib's own lower bounds)."""
    for arg, p in periods.items():
        if isinstance(p, bool) or not isinstance(p, (int, np.integer, float)) or int(p) != p or p < minimum:
            raise IndicatorInputError(f"{name}: {arg} must be an integer >= {minimum}, got {p!r}")


def first_valid(a: np.ndarray) -> np.ndarray:
    """Row of each column's first non-NaN value (T where the column is all NaN)."""
    return layout_scan(a)[0]


def layout_scan(a: np.ndarray):
    """(starts, first bad column or -1, its row, 1 for inf / 2 for an interior NaN), one pass."""
    from .kernels.layout import scan_layout  # compiled once, cached on disk
    return scan_layout(a)


def check_layout(name: str, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Raise on interior NaNs, infinities or mismatched starts; return each column's start."""
    starts = None
    for arg, a in arrays.items():
        s, col, row, kind = layout_scan(a)
        if kind == 1:
            raise IndicatorInputError(f"{name}: {arg} column {col} holds an infinite value at row {row}")
        if kind == 2:
            raise IndicatorInputError(
                f"{name}: {arg} column {col} has a NaN at row {row} after its "
                f"series started at row {int(s[col])}; interior gaps are not supported "
                "(leading NaNs mark a short history)"
            )
        if starts is None:
            starts = s
        elif not np.array_equal(starts, s):
            col = int(np.flatnonzero(starts != s)[0])
            raise IndicatorInputError(
                f"{name}: {arg} column {col} starts at row {int(s[col])} but the other "
                f"inputs start at row {int(starts[col])}"
            )
    return starts
