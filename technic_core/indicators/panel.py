"""A validated panel: OHLCV fields of one universe, checked once, reused by every call.

The public functions accept a ``Panel`` in place of their price arguments::

    p = Panel(high=h, low=lo, close=c, volume=v)    # (T, N) or (T,) each
    rsi = ta.rsi(p, 14)                             # reads p.close
    slowk, slowd = ta.stoch(p, fastk_period=14)     # reads p.high, p.low, p.close

Building it runs every check the functions run on plain arrays (shape,
dtype, infinities, NaNs after a column's first value, fields whose series
start on different rows), once, and records each column's first row
(``starts``), which the kernels use to begin each column's recurrence there.
Calls with a panel then skip validation altogether.

The panel keeps the arrays it was given (read-only views, no copy when they
are C-contiguous float64).  Changing those arrays afterwards invalidates the
checks: build a new panel from changed data.

A panel of pandas or polars frames (``Panel(close=wide_df, ...)``) keeps
their labels: every call with it gives back frames with the same index and
columns.  ``technic_core.panel_from_long`` and ``panel_from_frames`` build
one from long or wide frames with the importer's checks of the bars.
"""

from __future__ import annotations

import numpy as np

from .containers import Wrapper, labelled_errors, unwrap
from .validate import IndicatorInputError, as_2d, check_layout

FIELDS = ("open", "high", "low", "close", "volume")


def _read_only(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


class Panel:
    """OHLCV fields as validated ``(T, N)`` float64 arrays with each column's first row."""

    __slots__ = ("_fields", "starts", "shape", "one_dimensional", "wrapper")

    def __init__(self, *, open=None, high=None, low=None, close=None, volume=None):  # noqa: A002
        given = {k: v for k, v in zip(FIELDS, (open, high, low, close, volume)) if v is not None}
        if not given:
            raise IndicatorInputError(f"Panel: give at least one field ({', '.join(FIELDS)})")
        given, self.wrapper = unwrap("Panel", given)
        arrays, one_d = as_2d("Panel", given)
        with labelled_errors(self.wrapper):
            starts = check_layout("Panel", arrays)
        self._fields = {k: _read_only(a) for k, a in arrays.items()}
        self.starts = _read_only(starts)
        self.shape = next(iter(arrays.values())).shape
        self.one_dimensional = one_d

    wrapper: Wrapper | None  # how results go back into the frames it was built from

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self._fields)

    def field(self, name: str, caller: str = "Panel") -> np.ndarray:
        """The ``(T, N)`` array of field ``name``, or an error naming what is missing."""
        try:
            return self._fields[name]
        except KeyError:
            raise IndicatorInputError(
                f"{caller}: the panel has no {name!r} field (it has {', '.join(self._fields)})"
            ) from None

    def __getitem__(self, name: str) -> np.ndarray:
        return self.field(name)

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __getattr__(self, name: str) -> np.ndarray:
        if name in FIELDS:
            return self.field(name)
        raise AttributeError(name)

    def __repr__(self) -> str:
        t, n = self.shape
        late = int(np.count_nonzero((self.starts > 0) & (self.starts < t)))
        return f"Panel({', '.join(self._fields)}; {t} rows x {n} columns, {late} starting late)"
