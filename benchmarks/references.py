"""The outside references and the field's other engines, each in the layout it works best in.

Everything a contender needs is built by ``prepare`` (called from a benchmark's
``setup``), so that only the indicator work is timed:

* ``talib-best``: TA-Lib looped over per-symbol contiguous 1-D float64 arrays of
  each symbol's own history (a late listing's series starts at its listing, no
  leading NaNs), the argument tuples made before the timing.  This is TA-Lib at
  its best, and the reference every technic ratio is taken against.
* ``talib-panel``: TA-Lib for a user who holds a ``(T, N)`` panel: one transpose of
  each field the set needs to ``(N, T)`` (timed), then one call per symbol row
  (TA-Lib skips a row's leading NaNs itself).
* peers (optional packages; a missing one is skipped with the reason):
  ``tulipy`` (Tulip Indicators, C) looped over per-symbol arrays; ``polars-talib``
  (TA-Lib inside polars) on one long frame, every expression ``.over("symbol")``;
  ``ta-numba`` (Numba, its bulk API) looped over per-symbol arrays.

The indicator set and its parameters are ``common.INDICATOR_CALLS``; each peer
maps those names to its own functions here.  ``outputs`` gives a contender's
results as ``(T, N)`` arrays in TA-Lib's order and units (for the deviation
figures), NaN where it gives no value.
"""

from __future__ import annotations

import importlib

import numpy as np

from .common import INDICATOR_CALLS

NEEDED = ("high", "low", "close", "volume")


def starts_of(close: np.ndarray) -> np.ndarray:
    """Row of each column's first bar (T for a column with none)."""
    valid = ~np.isnan(close)
    s = np.argmax(valid, axis=0)
    s[~valid.any(axis=0)] = close.shape[0]
    return s


def own_histories(data: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """Per symbol, each field as a contiguous 1-D array of its own history."""
    starts = starts_of(data["close"])
    return [{f: np.ascontiguousarray(data[f][s:, j]) for f in NEEDED} for j, s in enumerate(starts)]


def _fields(name: str) -> tuple[str, ...]:
    return INDICATOR_CALLS[name][0]


def _kwargs(name: str) -> dict:
    return dict(INDICATOR_CALLS[name][1])


def _right_aligned(per_symbol: list, t: int) -> tuple[np.ndarray, ...]:
    """Per-symbol output tuples (each ending at the symbol's last bar) as (T, N) arrays."""
    n_out = max((len(r) for r in per_symbol if r is not None), default=1)
    outs = [np.full((t, len(per_symbol)), np.nan) for _ in range(n_out)]
    for j, res in enumerate(per_symbol):
        if res is None:
            continue
        for o, r in zip(outs, res):
            r = np.asarray(r, dtype=np.float64)
            if r.size:
                o[t - r.size :, j] = r
    return tuple(outs)


def _as_tuple(res) -> tuple:
    return res if isinstance(res, tuple) else (res,)


class Contender:
    """``prepare(data, names)`` untimed, then ``run()`` is the timed work."""

    name = ""
    package = ""  # import name of the optional package, "" when always present

    def reason(self) -> str | None:
        """None when it can run here, else why not."""
        if not self.package:
            return None
        try:
            importlib.import_module(self.package)
        except ImportError as exc:
            return f"{self.name}: package {self.package!r} is not installed ({exc}); pip install technic[peers]"
        return None

    def prepare(self, data: dict[str, np.ndarray], names) -> None:
        raise NotImplementedError

    def run(self) -> None:
        raise NotImplementedError

    def outputs(self, data: dict[str, np.ndarray], name: str) -> tuple[np.ndarray, ...]:
        raise NotImplementedError


# ---------------------------------------------------------------- TA-Lib


class TALibBest(Contender):
    name = "talib-best"
    package = "talib"

    def prepare(self, data, names) -> None:
        import talib

        per = own_histories(data)
        self.calls = [
            (getattr(talib, n.upper()), _kwargs(n), [tuple(s[f] for f in _fields(n)) for s in per])
            for n in names
        ]

    def run(self) -> None:
        for func, kwargs, arglist in self.calls:
            for args in arglist:
                func(*args, **kwargs)

    def outputs(self, data, name):
        import talib

        func = getattr(talib, name.upper())
        res = [
            _as_tuple(func(*(s[f] for f in _fields(name)), **_kwargs(name)))
            for s in own_histories(data)
        ]
        return _right_aligned(res, data["close"].shape[0])


class TALibPanel(Contender):
    name = "talib-panel"
    package = "talib"

    def prepare(self, data, names) -> None:
        import talib

        self.data = data
        self.names = list(names)
        self.fields = sorted({f for n in names for f in _fields(n)})
        self.funcs = [(getattr(talib, n.upper()), _fields(n), _kwargs(n)) for n in names]

    def run(self) -> None:
        rows = {f: np.ascontiguousarray(self.data[f].T) for f in self.fields}  # the one transpose
        n = self.data["close"].shape[1]
        for func, fields, kwargs in self.funcs:
            ins = [rows[f] for f in fields]
            for j in range(n):
                func(*(a[j] for a in ins), **kwargs)

    def outputs(self, data, name):
        return TALibBest().outputs(data, name)


# ---------------------------------------------------------------- peers


class Tulipy(Contender):
    """Tulip Indicators' C library; outputs start at its lookback (no NaN padding)."""

    name = "tulipy"
    package = "tulipy"

    @staticmethod
    def _spec(name: str):
        import tulipy as ti

        k = _kwargs(name)
        return {
            "sma": (ti.sma, (k.get("timeperiod"),)),
            "ema": (ti.ema, (k.get("timeperiod"),)),
            "rsi": (ti.rsi, (k.get("timeperiod"),)),
            "macd": (ti.macd, (k.get("fastperiod"), k.get("slowperiod"), k.get("signalperiod"))),
            "bbands": (ti.bbands, (k.get("timeperiod"), k.get("nbdevup"))),
            "atr": (ti.atr, (k.get("timeperiod"),)),
            "stoch": (
                ti.stoch,
                (k.get("fastk_period"), k.get("slowk_period"), k.get("slowd_period")),
            ),
            "adx": (ti.adx, (k.get("timeperiod"),)),
            "obv": (ti.obv, ()),
            "roc": (ti.roc, (k.get("timeperiod"),)),
            "willr": (ti.willr, (k.get("timeperiod"),)),
            "cci": (ti.cci, (k.get("timeperiod"),)),
            "mfi": (ti.mfi, (k.get("timeperiod"),)),
        }[name]

    @classmethod
    def _call(cls, name: str, s: dict):
        func, opts = cls._spec(name)
        try:
            return func(*(s[f] for f in _fields(name)), *opts)
        except Exception:  # tulipy refuses a series shorter than its lookback
            return None

    def prepare(self, data, names) -> None:
        per = own_histories(data)
        self.calls = []
        for n in names:
            func, opts = self._spec(n)
            # symbols too short for tulipy raise; leave them out of the timing
            args = [tuple(s[f] for f in _fields(n)) for s in per if self._call(n, s) is not None]
            self.calls.append((func, opts, args))

    def run(self) -> None:
        for func, opts, arglist in self.calls:
            for args in arglist:
                func(*args, *opts)

    def outputs(self, data, name):
        res = []
        for s in own_histories(data):
            r = self._call(name, s)
            if r is not None:
                r = _as_tuple(r)
                if name == "bbands":  # tulipy: (lower, middle, upper)
                    r = r[::-1]
                if name == "roc":  # tulipy: a fraction; TA-Lib: percent
                    r = (r[0] * 100.0,)
            res.append(r)
        return _right_aligned(res, data["close"].shape[0])


class PolarsTALib(Contender):
    """TA-Lib inside polars: one long frame (symbol, date order), each expression over symbols."""

    name = "polars-talib"
    package = "polars_talib"

    @staticmethod
    def _expr(name: str):
        import polars_talib as plta

        return getattr(plta, name)(**_kwargs(name))

    @staticmethod
    def long_frame(data):
        import polars as pl

        starts = starts_of(data["close"])
        t = data["close"].shape[0]
        cols = np.repeat(np.arange(starts.size), t - starts)
        rows = (
            np.concatenate([np.arange(s, t) for s in starts]) if starts.size else np.array([], int)
        )
        return pl.DataFrame(
            {"symbol": cols.astype(np.int32), **{f: data[f][rows, cols] for f in NEEDED}}
        )

    def prepare(self, data, names) -> None:
        self.frame = self.long_frame(data)
        self.exprs = [self._expr(n).over("symbol").alias(n) for n in names]
        self.frame.select(self.exprs[:1])  # plugin load outside the timing

    def run(self) -> None:
        self.frame.select(self.exprs)

    def outputs(self, data, name):
        import polars as pl

        frame = self.long_frame(data)
        out = frame.select(pl.col("symbol"), self._expr(name).over("symbol").alias("v"))
        col = out["v"]
        parts = (
            [col.struct.field(f).to_numpy() for f in col.struct.fields]
            if col.dtype == pl.Struct
            else [col.to_numpy()]
        )
        t, n = data["close"].shape
        sym = out["symbol"].to_numpy()
        ends = np.searchsorted(sym, np.arange(n), side="right")
        begins = np.searchsorted(sym, np.arange(n), side="left")
        res = [tuple(p[b:e].astype(np.float64) for p in parts) for b, e in zip(begins, ends)]
        return _right_aligned(res, t)


class TANumba(Contender):
    """ta-numba's bulk functions (Numba, 'ta'-library definitions) looped over per-symbol arrays."""

    name = "ta-numba"
    package = "ta_numba"

    @staticmethod
    def _spec(name: str):
        import ta_numba

        b = ta_numba.bulk
        k = _kwargs(name)
        return {
            "sma": (
                b.trend.sma,
                (k.get("timeperiod"), k.get("timeperiod")),
            ),  # min_periods: full windows
            "ema": (b.trend.ema, (k.get("timeperiod"), False)),
            "rsi": (b.momentum.rsi, (k.get("timeperiod"),)),
            "macd": (
                b.trend.macd,
                (k.get("fastperiod"), k.get("slowperiod"), k.get("signalperiod")),
            ),
            "bbands": (b.volatility.bollinger_bands, (k.get("timeperiod"), k.get("nbdevup"))),
            "atr": (b.volatility.average_true_range, (k.get("timeperiod"),)),
            "stoch": (b.momentum.stoch, (k.get("fastk_period"), k.get("slowd_period"))),
            "adx": (b.trend.adx, (k.get("timeperiod"),)),
            "obv": (b.volume.on_balance_volume, ()),
            "roc": (b.momentum.roc, (k.get("timeperiod"),)),
            "willr": (b.momentum.williams_r, (k.get("timeperiod"),)),
            "cci": (b.trend.cci, (k.get("timeperiod"),)),
            "mfi": (b.volume.money_flow_index, (k.get("timeperiod"),)),
        }[name]

    def prepare(self, data, names) -> None:
        per = [s for s in own_histories(data) if s["close"].size]
        self.calls = []
        for n in names:
            func, opts = self._spec(n)
            self.calls.append((func, opts, [tuple(s[f] for f in _fields(n)) for s in per]))
            func(*self.calls[-1][2][0], *opts)  # JIT compile outside the timing

    def run(self) -> None:
        for func, opts, arglist in self.calls:
            for args in arglist:
                func(*args, *opts)

    def outputs(self, data, name):
        func, opts = self._spec(name)
        res = []
        for s in own_histories(data):
            if not s["close"].size:
                res.append(None)
                continue
            r = _as_tuple(func(*(s[f] for f in _fields(name)), *opts))
            if name == "adx":  # (adx, +DI, -DI)
                r = r[:1]
            res.append(r)
        return _right_aligned(res, data["close"].shape[0])


REFERENCES = {c.name: c for c in (TALibBest, TALibPanel)}
PEERS = {c.name: c for c in (Tulipy, PolarsTALib, TANumba)}


def contender(name: str) -> Contender:
    """The contender, or NotImplementedError (asv: skipped) saying why it cannot run here."""
    cls = {**REFERENCES, **PEERS}[name]
    c = cls()
    why = c.reason()
    if why is not None:
        raise NotImplementedError(why)
    return c
