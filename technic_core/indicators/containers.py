"""Containers in, the same containers out: pandas and polars around the ``(T, N)`` kernels.

As TA-Lib's own wrapper does, a ``pandas.Series`` gives back a Series on the
same index (named ``rsi_14``, ``sma_30``, ...; multi-output functions give a
tuple in TA-Lib's order, named with TA-Lib's output names), a wide
``pandas.DataFrame`` (dates x symbols) gives back DataFrames with the same
index and columns, and ``polars.Series`` / ``polars.DataFrame`` likewise.
numpy arrays (and anything else) pass through untouched.

pandas and polars are looked up in ``sys.modules``: an object of a library
that was never imported cannot be passed in, so neither is imported here.

Copies: the kernels take C-contiguous ``(T, N)`` float64 arrays.  A float64
Series is used in place; a wide DataFrame is column-major (pandas and polars
both keep each column contiguous), so it is copied once into row-major order,
in column tiles (about three times faster than numpy's strided copy of the
whole array).  Results are wrapped without a copy for pandas; polars holds
each column contiguous, so a polars DataFrame result is copied once into it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import numpy as np

from .validate import IndicatorInputError, row_major_counted

# TA-Lib's output names of the multi-output functions, in its order.
OUTPUT_NAMES: dict[str, tuple[str, ...]] = {
    "macd": ("macd", "macdsignal", "macdhist"),
    "bbands": ("upperband", "middleband", "lowerband"),
    "stoch": ("slowk", "slowd"),
}


def output_names(fname: str, params: Mapping[str, object]) -> tuple[str, ...]:
    """Names of ``fname``'s outputs: TA-Lib's for multi-output functions, else ``rsi_14``-style."""
    if fname in OUTPUT_NAMES:
        return OUTPUT_NAMES[fname]
    period = params.get("timeperiod")
    return (fname if period is None else f"{fname}_{int(period)}",)


def c_order(a: np.ndarray) -> np.ndarray:
    """``a`` as C-contiguous float64, copied at most once (real-number input only)."""
    if a.dtype == np.float64 and a.flags.c_contiguous:
        return a
    if a.ndim == 2 and a.dtype == np.float64 and a.flags.f_contiguous and a.shape[1] > 1:
        # a wide frame's values: copied in tiles and checked in the same read
        return row_major_counted(a)
    return np.ascontiguousarray(a, dtype=np.float64)


def _kind(value) -> str | None:
    pd = sys.modules.get("pandas")
    if pd is not None:
        if isinstance(value, pd.Series):
            return "pandas.Series"
        if isinstance(value, pd.DataFrame):
            return "pandas.DataFrame"
    pl = sys.modules.get("polars")
    if pl is not None:
        if isinstance(value, pl.Series):
            return "polars.Series"
        if isinstance(value, pl.DataFrame):
            return "polars.DataFrame"
    return None


def _real(a: np.ndarray) -> np.ndarray:
    # non-real input is left for validate.as_float_array, which names its dtype
    return c_order(a) if a.dtype.kind in "fiu" else a


# -- pandas -------------------------------------------------------------------
def _pandas_series_values(s) -> np.ndarray:
    import pandas as pd

    if isinstance(s.dtype, np.dtype):
        return _real(s.to_numpy())  # a view of a numpy-backed Series
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable / Arrow: <NA> -> NaN
    return np.asarray(s.to_numpy())


def _pandas_frame_values(fname: str, arg: str, df) -> np.ndarray:
    import pandas as pd

    def numeric(t) -> bool:
        return pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)

    # The common case first, without asking 5,277 columns for their dtypes (~1 ms a field):
    # a frame of numpy numbers gives a view of its one block.  Only when the first column is
    # a numpy number: a nullable frame's to_numpy() would build an object array (~200 ms).
    first = df.dtypes.iloc[0] if df.shape[1] else None
    if isinstance(first, np.dtype) and first.kind in "fiu":
        values = df.to_numpy()
        if values.dtype.kind in "fiu":
            return _real(values)
    dtypes = set(df.dtypes)  # a few distinct dtypes, however many columns
    if not all(numeric(t) for t in dtypes):
        bad = [c for c, t in df.dtypes.items() if not numeric(t)]
        shown = ", ".join(f"{c!r} ({df.dtypes[c]})" for c in bad[:3])
        raise IndicatorInputError(
            f"{fname}: {arg} has non-numeric column(s) {shown}; a wide frame holds one column "
            "per symbol, with the dates as its index (df.set_index('date'))"
        )
    if len(dtypes) == 1 and isinstance(next(iter(dtypes)), np.dtype):
        return _real(df.to_numpy())  # one block: a column-major view, copied once
    return c_order(df.to_numpy(dtype=np.float64, na_value=np.nan))


def _wrap_pandas_series(index):
    import pandas as pd

    def wrap(names, outs):
        return tuple(pd.Series(o, index=index, name=n, copy=False) for n, o in zip(names, outs))

    return wrap


def _wrap_pandas_frame(index, columns):
    import pandas as pd

    def wrap(names, outs):
        return tuple(pd.DataFrame(o, index=index, columns=columns, copy=False) for o in outs)

    return wrap


# -- polars -------------------------------------------------------------------
def _key_selector():
    import polars.selectors as cs

    return cs.temporal() | cs.string() | cs.categorical() | cs.enum()


def _polars_split(df) -> tuple[list[str], list[str]]:
    """(key columns carried through: dates, text; value columns: numbers) of a wide polars frame."""
    import polars.selectors as cs

    # a selector is expanded in Rust (~1 ms); df.schema builds 5,277 dtype objects (~6 ms)
    keys = list(cs.expand_selector(df, _key_selector()))
    if not keys:
        return keys, df.columns
    held = set(keys)
    return keys, [c for c in df.columns if c not in held]


def _polars_frame_values(
    fname: str, arg: str, df, keys: list[str], values: list[str]
) -> np.ndarray:
    import polars.selectors as cs

    bad = cs.expand_selector(df, ~(_key_selector() | cs.numeric()))
    if bad:
        shown = ", ".join(f"{c!r} ({df.schema[c]})" for c in bad[:3])
        raise IndicatorInputError(
            f"{fname}: {arg} has non-numeric column(s) {shown}; a wide frame holds one column "
            "per symbol (plus date or text key columns, carried through)"
        )
    if not values:
        return np.empty((df.height, 0))
    if keys:  # drop_in_place on a clone: drop() / select() go through a lazy plan (~10 ms)
        df = df.clone()
        for k in keys:
            df.drop_in_place(k)
    # column-major out of polars (each column copied once, ~4 ms a field), then the
    # counted row-major copy that the pandas path takes too
    return _real(df.to_numpy(order="fortran"))


def _wrap_polars_series():
    import polars as pl

    def wrap(names, outs):
        return tuple(pl.Series(n, o) for n, o in zip(names, outs))

    return wrap


def _wrap_polars_frame(key_frame, values: list[str], order: list[str]):
    import polars as pl

    # One Array column over the whole (T, N) result (no copy), split into its
    # fields in Rust: from_numpy builds a Series per column from Python (83-93 ms
    # a 5,277-column result); this path costs ~16 ms, of which ~7.6 ms is polars
    # making 5,277 columns at all (docs/api.md, tools/polars_frame_cost.py).
    width = pl.Array(pl.Float64, len(values))

    # the key columns go back at their places (inserted in ascending position, the
    # value columns keep their order): selecting 5,278 columns by name costs ~25 ms
    at = [(order.index(k), k) for k in key_frame.columns]

    def wrap(names, outs):
        res = []
        for o in outs:
            rows = pl.Series("", np.ascontiguousarray(o), dtype=width)
            vals = rows.arr.to_struct(fields=values).struct.unnest()
            for i, k in at:
                vals.insert_column(i, key_frame.get_column(k))
            res.append(vals)
        return tuple(res)

    return wrap


# -- the one entry point --------------------------------------------------------
class Wrapper:
    """Puts kernel outputs back into the caller's container (the labels of the inputs)."""

    __slots__ = ("kind", "_wrap", "columns")

    def __init__(self, kind: str, wrap: Callable, columns=None):
        self.kind = kind
        self._wrap = wrap
        self.columns = columns  # labels of a wide frame's columns (errors name them)

    def __call__(self, fname: str, params: Mapping[str, object], out):
        names = output_names(fname, params)
        outs = out if isinstance(out, tuple) else (out,)
        res = self._wrap(names, outs)
        return res if isinstance(out, tuple) else res[0]


def unwrap(fname: str, inputs: dict[str, object]) -> tuple[dict[str, object], Wrapper | None]:
    """The inputs as arrays, and how to wrap the outputs (None: no container was given).

    All containers of one call must be of one kind and carry the same labels
    (index and columns); numpy arrays may sit beside them, as TA-Lib allows.
    """
    kinds = {arg: _kind(v) for arg, v in inputs.items()}
    given = [arg for arg, k in kinds.items() if k is not None]
    if not given:
        return inputs, None
    first = given[0]
    kind = kinds[first]
    for arg in given[1:]:
        if kinds[arg] != kind:
            raise IndicatorInputError(
                f"{fname}: {first} is a {kind} but {arg} is a {kinds[arg]}; give one kind of container"
            )
    ref = inputs[first]
    arrays: dict[str, object] = {}
    if kind.startswith("pandas"):
        for arg in given[1:]:
            v = inputs[arg]
            if v.index is not ref.index and not v.index.equals(ref.index):
                raise IndicatorInputError(
                    f"{fname}: {arg}'s index differs from {first}'s; align them first "
                    "(e.g. DataFrame.align)"
                )
            if (
                kind == "pandas.DataFrame"
                and v.columns is not ref.columns
                and not v.columns.equals(ref.columns)
            ):
                raise IndicatorInputError(f"{fname}: {arg}'s columns differ from {first}'s")
        for arg, v in inputs.items():
            if kinds[arg] is None:
                arrays[arg] = v
            elif kind == "pandas.Series":
                arrays[arg] = _pandas_series_values(v)
            else:
                arrays[arg] = _pandas_frame_values(fname, arg, v)
        if kind == "pandas.Series":
            return arrays, Wrapper(kind, _wrap_pandas_series(ref.index))
        return arrays, Wrapper(kind, _wrap_pandas_frame(ref.index, ref.columns), ref.columns)

    if kind == "polars.Series":
        for arg, v in inputs.items():
            arrays[arg] = v if kinds[arg] is None else _real(np.asarray(v.to_numpy()))
        return arrays, Wrapper(kind, _wrap_polars_series())

    keys, values = _polars_split(ref)
    for arg in given[1:]:
        k, vals = _polars_split(inputs[arg])
        if vals != values:
            raise IndicatorInputError(f"{fname}: {arg}'s columns differ from {first}'s")
        if k != keys or not inputs[arg].select(k).equals(ref.select(keys)):
            raise IndicatorInputError(
                f"{fname}: {arg}'s key columns ({', '.join(k) or 'none'}) differ from {first}'s"
            )
    for arg, v in inputs.items():
        arrays[arg] = v if kinds[arg] is None else _polars_frame_values(fname, arg, v, keys, values)
    wrap = _wrap_polars_frame(ref.select(keys), values, list(ref.columns))
    return arrays, Wrapper(kind, wrap, values)


_COLUMN = re.compile(r"column (\d+)")


@contextmanager
def labelled_errors(wrapper: Wrapper | None) -> Iterator[None]:
    """Input errors raised inside name each column by its label too (a symbol, usually)."""
    try:
        yield
    except IndicatorInputError as exc:
        columns = getattr(wrapper, "columns", None)
        if columns is None:
            raise

        def label(m):
            j = int(m.group(1))
            return f"{m.group(0)} ({columns[j]!r})" if j < len(columns) else m.group(0)

        raise IndicatorInputError(_COLUMN.sub(label, str(exc))) from None
