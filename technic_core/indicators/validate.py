"""Input checks shared by every indicator: shape, dtype, NaN layout, parameters.

Leading NaNs in a column mark a short history (the column's series starts
later); a NaN after a column's first value is an interior gap, which TA-Lib
would silently propagate through every later value of a recurrence.  We
reject it with the column and row so that no wrong number is ever returned,
as we reject infinities, a field whose series starts elsewhere than the
others', complex or non-numeric input, and parameters outside TA-Lib's ranges.

The layout check is one multi-threaded pass per array (``kernels/layout.py``);
the slower scan that names the first defect runs only when there is one.
A ``Panel`` runs it once for all its fields and is reused across calls.
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from .errors import IndicatorInputError

# TA-Lib's bounds: every period is an integer up to 100000, and real-valued
# parameters lie within +-TA_REAL_MAX (3e37).
MAX_PERIOD = 100_000
REAL_MAX = 3e37


def as_float_array(name: str, arg: str, value) -> np.ndarray:
    """``value`` as a C-contiguous float64 array; real numbers only (ints are widened)."""
    a = value if isinstance(value, np.ndarray) else np.asarray(value)
    kind = a.dtype.kind
    if kind == "c":
        raise IndicatorInputError(
            f"{name}: {arg} is complex ({a.dtype}); indicators take real prices and volumes "
            "(pass .real explicitly if the imaginary part is meaningless)"
        )
    if kind not in "fiu":
        raise IndicatorInputError(
            f"{name}: {arg} has dtype {a.dtype}; indicators take real numbers (float64)"
        )
    return np.ascontiguousarray(a, dtype=np.float64)


def as_2d(name: str, arrays: dict[str, object]) -> tuple[dict[str, np.ndarray], bool]:
    """Arrays as C-contiguous float64 ``(T, N)``; also whether input was 1-D."""
    out: dict[str, np.ndarray] = {}
    ndim = None
    shape = None
    for arg, value in arrays.items():
        a = as_float_array(name, arg, value)
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
        out[arg] = a
    return out, ndim == 1


def check_period(name: str, minimum: int = 1, **periods) -> None:
    """Periods must be integers from ``minimum`` to 100000 (TA-Lib's own ranges)."""
    for arg, p in periods.items():
        ok = (
            not isinstance(p, bool)
            and isinstance(p, (int, np.integer, float, np.floating))
            and math.isfinite(p)
            and int(p) == p
            and minimum <= p <= MAX_PERIOD
        )
        if not ok:
            raise IndicatorInputError(
                f"{name}: {arg} must be an integer from {minimum} to {MAX_PERIOD} "
                f"(TA-Lib's range), got {p!r}"
            )


def check_real(name: str, **values) -> None:
    """Real parameters (band widths) must be finite and within TA-Lib's +-3e37."""
    for arg, x in values.items():
        ok = (
            not isinstance(x, bool)
            and isinstance(x, (int, np.integer, float, np.floating))
            and math.isfinite(x)
            and -REAL_MAX <= x <= REAL_MAX
        )
        if not ok:
            raise IndicatorInputError(
                f"{name}: {arg} must be a finite number within +-{REAL_MAX:g} (TA-Lib's range), "
                f"got {x!r}"
            )


# Column block the counting pass walks at once (its per-column counters stay in L1).
_SCAN_WIDTH = 512


def column_counts(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first non-NaN row, NaN count, inf count) of every column, on the thread pool."""
    from . import threads
    from .kernels.layout import count_columns  # compiled once, cached on disk

    known = _take_counts(a)
    if known is not None:
        return known
    n = a.shape[1]
    starts = np.empty(n, np.int64)
    nans = np.empty(n, np.int64)
    infs = np.empty(n, np.int64)
    if n:
        threads.in_chunks(count_columns, (a, starts, nans, infs), n, _SCAN_WIDTH)
    return starts, nans, infs


# Counts taken while an array was made (``row_major_counted``), by id: the next
# ``column_counts`` of that very array takes them instead of reading it again.
# One use each; the array is read-only, and the entry dies with it.
_counted: dict[int, tuple[weakref.ref, tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
# Columns per tile of the counted copy (measured, one 5,277 x 504 field on two
# threads, copy and counts: 64 columns 2.9 ms, 128 3.1, 256 3.3).
_COPY_WIDTH = 64


def row_major_counted(a: np.ndarray) -> np.ndarray:
    """A read-only row-major copy of column-major float64 ``a``, its layout counted on the way.

    One read of the input instead of two (the copy, then the check): the
    check of the copy that follows (``check_layout``) uses these counts.
    """
    from . import outputs, threads
    from .kernels.layout import transpose_counts  # compiled once, cached on disk

    n = a.shape[1]
    out = outputs.empty(a.shape)
    starts = np.empty(n, np.int64)
    nans = np.empty(n, np.int64)
    infs = np.empty(n, np.int64)
    if n:
        threads.in_chunks(transpose_counts, (a, out, starts, nans, infs), n, _COPY_WIDTH)
    out.flags.writeable = False
    key = id(out)
    _counted[key] = (weakref.ref(out, lambda _, k=key: _counted.pop(k, None)), (starts, nans, infs))
    return out


def _take_counts(a: np.ndarray):
    entry = _counted.pop(id(a), None)
    if entry is None or entry[0]() is not a:
        return None
    return entry[1]


def first_valid(a: np.ndarray) -> np.ndarray:
    """Row of each column's first non-NaN value (T where the column is all NaN)."""
    return column_counts(a)[0]


def layout_scan(a: np.ndarray):
    """(starts, first bad column or -1, its row, 1 for inf / 2 for an interior NaN), one pass."""
    from .kernels.layout import scan_layout  # compiled once, cached on disk

    return scan_layout(a)


def _raise_first_defect(name: str, arg: str, a: np.ndarray) -> None:
    s, col, row, kind = layout_scan(a)
    if kind == 1:
        raise IndicatorInputError(
            f"{name}: {arg} column {col} holds an infinite value at row {row}"
        )
    if kind == 2:
        raise IndicatorInputError(
            f"{name}: {arg} column {col} has a NaN at row {row} after its "
            f"series started at row {int(s[col])}; interior gaps are not supported "
            "(leading NaNs mark a short history)"
        )
    raise AssertionError(f"{name}: {arg}: the counting pass found a defect the scan did not")


def check_layout(name: str, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Raise on interior NaNs, infinities or mismatched starts; return each column's start."""
    starts = None
    for arg, a in arrays.items():
        s, nans, infs = column_counts(a)
        # well laid out: the NaNs are exactly those before the first value
        if (nans != s).any() or infs.any():
            _raise_first_defect(name, arg, a)
        if starts is None:
            starts = s
        elif not np.array_equal(starts, s):
            col = int(np.flatnonzero(starts != s)[0])
            raise IndicatorInputError(
                f"{name}: {arg} column {col} starts at row {int(s[col])} but the other "
                f"inputs start at row {int(starts[col])}"
            )
    return starts
