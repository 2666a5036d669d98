"""Indicator state at each symbol's last bar, advanced one bar at a time.

A scan that has already seen a symbol's history does not need it again: the
running EMA values, Wilder's averages, rolling windows of raw bars and OBV
total at the last bar are enough to compute the next bar's indicators.  An
``IndicatorState`` holds that for N symbols as one slot-major ``(width, N)``
float64 array ``slots`` (slot 0 the bar counts, then rings, running sums and
the outputs; ``rows`` is its ``(N, width)`` transpose, one row per symbol, the
form a per-symbol cache entry stores), and ``advance`` feeds new bars to every
symbol at once with a Numba kernel (``kernels.state_step``).

Slot-major because a bar reads and writes ~130 of a symbol's 353 slots: one
row per symbol put each of them on its own cache line, one slot row per slot
shares each line between 8 symbols and lets a chunk of symbols sweep it.
Measured: ``tools/profile_state.py``, docs/data.md.

Every value equals TA-Lib's function of the same name and parameters at that
bar (1e-9 relative, NaN where TA-Lib's lookback is not met): the kernel
carries TA-Lib's own running sums and seeds, so a state built from a history
and one advanced bar by bar are the same computation.

``StateParams.keep`` asks the rings to hold more raw bars than the
indicators need (the scan's features read the last 64 closes, say);
``tail`` returns them right-aligned like a ``BarBlock``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np

from .kernels import state_step as _k
from .validate import IndicatorInputError

# Bump when the meaning or layout of a state row changes: cached rows of
# another version are never read.
STATE_VERSION = 1

FIELDS = ("open", "high", "low", "close", "volume")
# Bars fed in one call from which ``advance_runs`` uses Numba's threads.
PARALLEL_MIN_BARS = 100_000


@dataclass(frozen=True)
class StateParams:
    """Which indicators a state carries, with TA-Lib's parameters (0 switches one off)."""

    sma: tuple[int, ...] = (20, 50, 200)
    ema: tuple[int, ...] = (21,)
    rsi: int = 14
    macd: tuple[int, int, int] = (12, 26, 9)  # fast, slow, signal
    bbands: tuple[int, float, float] = (20, 2.0, 2.0)  # timeperiod, nbdevup, nbdevdn
    atr: int = 14
    stoch: tuple[int, int, int] = (14, 3, 3)  # fastk, slowk, slowd (SMA lines)
    adx: int = 14
    mfi: int = 14
    cci: int = 14
    willr: int = 14
    roc: int = 10
    obv: bool = True
    keep: tuple[tuple[str, int], ...] = field(
        default=()
    )  # (field, bars) to keep beyond the indicators' needs

    def __post_init__(self) -> None:
        def pos(name, *values):
            for x in values:
                if isinstance(x, bool) or int(x) != x or x < 0:
                    raise IndicatorInputError(
                        f"state: {name} periods must be non-negative integers, got {x!r}"
                    )

        pos("sma", *self.sma)
        pos("ema", *self.ema)
        pos(
            "rsi/atr/adx/mfi/cci/willr/roc",
            self.rsi,
            self.atr,
            self.adx,
            self.mfi,
            self.cci,
            self.willr,
            self.roc,
        )
        pos("macd", *self.macd)
        pos("stoch", *self.stoch)
        pos("bbands", self.bbands[0])
        if 0 in self.sma or 0 in self.ema:
            raise IndicatorInputError("state: sma and ema periods must be at least 1")
        f, s, g = self.macd
        if s and (min(f, s) < 2 or g < 1):
            raise IndicatorInputError("state: macd needs fast and slow >= 2 and signal >= 1")
        if any(self.stoch) and min(self.stoch) < 1:
            raise IndicatorInputError("state: stoch needs every period >= 1")
        for name, k in self.keep:
            if name not in FIELDS:
                raise IndicatorInputError(
                    f"state: keep names unknown field {name!r}; fields: {FIELDS}"
                )
            pos("keep", k)

    @property
    def macd_periods(self) -> tuple[int, int, int]:
        f, s, g = self.macd
        return (s, f, g) if s < f else (f, s, g)  # TA-Lib swaps fast > slow

    def ident(self) -> str:
        """Stable short id of the parameters and the state version (for cache keys)."""
        text = json.dumps({"v": STATE_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class StateLayout:
    """Where each quantity of a state row lives, and the output keys in order."""

    def __init__(self, params: StateParams):
        self.params = p = params
        keep = dict(p.keep)
        f, s, g = p.macd_periods
        fk = p.stoch[0]
        need_close = max([2, *p.sma, p.bbands[0], p.roc + 1 if p.roc else 0, keep.get("close", 0)])
        need_hl = max(2, fk, p.willr, keep.get("high", 0), keep.get("low", 0))
        self.rings = {
            "close": need_close,
            "high": max(need_hl, keep.get("high", 0)),
            "low": max(need_hl, keep.get("low", 0)),
            "open": max(2, keep.get("open", 0)),
            "volume": max(2, keep.get("volume", 0)),
        }
        lay = np.zeros(len(_k.SLOTS), dtype=np.int64)
        width = 1  # column 0: bar count
        self.ring_offset: dict[str, int] = {}

        def take(k: int) -> int:
            nonlocal width
            at = width
            width += k
            return at

        for fld, (rslot, oslot) in zip(
            ("close", "high", "low", "open", "volume"),
            ((_k.RC, _k.OC), (_k.RH, _k.OH), (_k.RL, _k.OL), (_k.RO, _k.OO), (_k.RV, _k.OV)),
        ):
            lay[rslot] = self.rings[fld]
            lay[oslot] = self.ring_offset[fld] = take(self.rings[fld])
        self._nan_cols: list[tuple[int, int]] = [(1, width)]  # rings start empty (NaN)

        # running quantities first; the outputs are one block at the end of the row
        sma_spec = np.zeros((len(p.sma), 3), dtype=np.int64)
        for q, per in enumerate(p.sma):
            sma_spec[q] = (per, take(1), 0)
        ema_spec = np.zeros((len(p.ema), 4), dtype=np.int64)
        for q, per in enumerate(p.ema):
            ema_spec[q] = (per, take(1), take(1), 0)
        keys: list[str] = [f"sma_{per}" for per in p.sma] + [f"ema_{per}" for per in p.ema]
        if p.rsi:
            lay[_k.RSI_P] = p.rsi
            lay[_k.RSI_GAIN], lay[_k.RSI_LOSS] = take(1), take(1)
            keys.append(f"rsi_{p.rsi}")
        if s:
            lay[_k.MACD_F], lay[_k.MACD_S], lay[_k.MACD_SIG] = f, s, g
            for slot in (
                _k.MACD_ACCF,
                _k.MACD_ACCS,
                _k.MACD_EF,
                _k.MACD_ES,
                _k.MACD_ACCSIG,
                _k.MACD_ESIG,
            ):
                lay[slot] = take(1)
            keys += ["macd", "macd_signal", "macd_hist"]
        if p.bbands[0]:
            lay[_k.BB_P] = p.bbands[0]
            lay[_k.BB_SUM] = take(1)
            keys += ["bb_upper", "bb_middle", "bb_lower"]
        if p.atr:
            lay[_k.ATR_P] = p.atr
            lay[_k.ATR_V] = take(1)
            keys.append(f"atr_{p.atr}")
        if fk:
            _, sk, sd = p.stoch
            lay[_k.ST_FK], lay[_k.ST_SK], lay[_k.ST_SD] = fk, sk, sd
            lay[_k.ST_KRING], lay[_k.ST_DRING] = take(sk), take(sd)
            lay[_k.ST_KSUM], lay[_k.ST_DSUM] = take(1), take(1)
            keys += ["stoch_k", "stoch_d"]
        if p.adx:
            lay[_k.ADX_P] = p.adx
            for slot in (_k.ADX_PDM, _k.ADX_MDM, _k.ADX_TR, _k.ADX_SUMDX, _k.ADX_V):
                lay[slot] = take(1)
            keys.append(f"adx_{p.adx}")
        if p.mfi:
            lay[_k.MFI_P] = p.mfi
            lay[_k.MFI_POSR], lay[_k.MFI_NEGR] = take(p.mfi), take(p.mfi)
            for slot in (_k.MFI_POS, _k.MFI_NEG, _k.MFI_NULL):
                lay[slot] = take(1)
            keys.append(f"mfi_{p.mfi}")
        if p.cci:
            lay[_k.CCI_P] = p.cci
            lay[_k.CCI_RING] = take(p.cci)
            keys.append(f"cci_{p.cci}")
        if p.willr:
            lay[_k.WILLR_P] = p.willr
            keys.append(f"willr_{p.willr}")
        if p.roc:
            lay[_k.ROC_P] = p.roc
            keys.append(f"roc_{p.roc}")
        if p.obv:
            lay[_k.OBV_ON] = 1
            lay[_k.OBV_V] = take(1)
            keys.append("obv")

        # outputs: one contiguous block, in key order
        self.out_offset = width
        self.keys = tuple(keys)
        col = {k: self.out_offset + j for j, k in enumerate(keys)}
        width += len(keys)
        for q, per in enumerate(p.sma):
            sma_spec[q, 2] = col[f"sma_{per}"]
        for q, per in enumerate(p.ema):
            ema_spec[q, 3] = col[f"ema_{per}"]
        for slot, key in (
            (_k.RSI_OUT, f"rsi_{p.rsi}"),
            (_k.MACD_OUT, "macd"),
            (_k.BB_OUT, "bb_upper"),
            (_k.ATR_OUT, f"atr_{p.atr}"),
            (_k.ST_OUT, "stoch_k"),
            (_k.ADX_OUT, f"adx_{p.adx}"),
            (_k.MFI_OUT, f"mfi_{p.mfi}"),
            (_k.CCI_OUT, f"cci_{p.cci}"),
            (_k.WILLR_OUT, f"willr_{p.willr}"),
            (_k.ROC_OUT, f"roc_{p.roc}"),
            (_k.OBV_OUT, "obv"),
        ):
            if key in col:
                lay[slot] = col[key]
        self._nan_cols.append((self.out_offset, width))
        if lay[_k.CCI_P]:
            self._nan_cols.append((int(lay[_k.CCI_RING]), int(lay[_k.CCI_RING]) + p.cci))
        self.width = width
        self.lay = lay
        # every ring as (first slot, size): its slots hold a symbol's values by bar count
        rings = [
            (self.ring_offset[f], self.rings[f]) for f in ("close", "high", "low", "open", "volume")
        ]
        if fk:
            rings += [(int(lay[_k.ST_KRING]), p.stoch[1]), (int(lay[_k.ST_DRING]), p.stoch[2])]
        if p.mfi:
            rings += [(int(lay[_k.MFI_POSR]), p.mfi), (int(lay[_k.MFI_NEGR]), p.mfi)]
        if p.cci:
            rings += [(int(lay[_k.CCI_RING]), p.cci)]
        self.ring_slots = np.array(rings, dtype=np.int64).reshape(-1, 2)
        self.sma = sma_spec
        self.ema = ema_spec
        self.fp = np.array([p.bbands[1], p.bbands[2]], dtype=np.float64)
        self.inv = _k.reciprocals(lay)

    def empty_slots(self, n: int) -> np.ndarray:
        """A fresh state of ``n`` symbols, slot-major ``(width, n)``: no bars seen."""
        slots = np.zeros((self.width, n), dtype=np.float64)
        for a, b in self._nan_cols:
            slots[a:b] = np.nan
        return slots

    def empty_rows(self, n: int) -> np.ndarray:
        return np.ascontiguousarray(self.empty_slots(n).T)


_LAYOUTS: dict[StateParams, StateLayout] = {}


def layout_for(params: StateParams) -> StateLayout:
    lay = _LAYOUTS.get(params)
    if lay is None:
        lay = _LAYOUTS[params] = StateLayout(params)
    return lay


def _time_major_runs(
    arrays: dict[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Right-aligned (T, N) arrays as runs of their flattened rows: column j's bars start at
    ``first_j * N + j`` and step by N (no copy when the arrays are C-contiguous)."""
    close = arrays["close"]
    t, n = close.shape
    valid = ~np.isnan(close)
    first = np.where(valid.any(axis=0), np.argmax(valid, axis=0), t)
    lengths = (t - first).astype(np.int64)
    starts = first.astype(np.int64) * n + np.arange(n, dtype=np.int64)
    flat = {f: np.ascontiguousarray(arrays[f]).reshape(-1) for f in FIELDS}
    return flat, starts, lengths


def _check_bars(arrays: dict[str, np.ndarray], where: str, gaps_allowed: bool) -> int:
    """Raise on a defect of ``arrays``; return how many bars (close not NaN) they hold."""
    missing = [f for f in FIELDS if f not in arrays]
    if missing:
        raise IndicatorInputError(f"{where}: missing bar fields {', '.join(missing)}")
    shape = np.shape(arrays["close"])
    for f in FIELDS:
        a = arrays[f]
        if not isinstance(a, np.ndarray) or a.dtype != np.float64:
            raise IndicatorInputError(f"{where}: {f} must be a float64 numpy array")
        if a.shape != shape:
            raise IndicatorInputError(f"{where}: {f} has shape {a.shape}, close has {shape}")
    kind, fi, present = _k.bar_defect(*(arrays[f].reshape(-1) for f in FIELDS))
    if kind == 1:
        raise IndicatorInputError(f"{where}: {FIELDS[fi]} holds an infinite value")
    if kind == 2:
        raise IndicatorInputError(
            f"{where}: {FIELDS[fi]} and close are not NaN in the same places "
            "(a bar is all five fields or none)"
        )
    if not gaps_allowed and present < arrays["close"].size:
        nan = np.isnan(arrays["close"])
        t = nan.shape[0]
        first = np.where((~nan).any(axis=0), np.argmax(~nan, axis=0), t)
        gaps = nan.sum(axis=0) != first
        if gaps.any():
            col = int(np.flatnonzero(gaps)[0])
            raise IndicatorInputError(
                f"{where}: column {col} has a NaN after its series started; "
                "interior gaps are not supported (leading NaNs mark a short history)"
            )
    return int(present)


class IndicatorState:
    """Indicator state of N symbols at their last bars.

    ``slots`` is slot-major ``(width, N)`` float64 (what the kernel advances);
    ``rows`` its ``(N, width)`` view, one row per symbol.  ``IndicatorState(params,
    rows)`` takes rows (a per-symbol cache's entries); ``from_slots`` takes slots.
    """

    def __init__(
        self,
        params: StateParams,
        rows: np.ndarray | None = None,
        *,
        slots: np.ndarray | None = None,
    ):
        self.params = params
        self.layout = layout_for(params)
        width = self.layout.width
        if slots is None:
            rows = np.asarray(rows)
            if rows.ndim != 2 or rows.shape[1] != width or rows.dtype != np.float64:
                raise IndicatorInputError(
                    f"state rows must be float64 (N, {width}); got {rows.dtype} {rows.shape}"
                )
            slots = rows.T
        slots = np.asarray(slots)
        if slots.ndim != 2 or slots.shape[0] != width or slots.dtype != np.float64:
            raise IndicatorInputError(
                f"state slots must be float64 ({width}, N); got {slots.dtype} {slots.shape}"
            )
        self.slots = np.ascontiguousarray(slots)

    @classmethod
    def from_slots(cls, params: StateParams, slots: np.ndarray) -> IndicatorState:
        return cls(params, slots=slots)

    @classmethod
    def empty(cls, n: int, params: StateParams | None = None) -> IndicatorState:
        params = params or StateParams()
        return cls(params, slots=layout_for(params).empty_slots(n))

    def __len__(self) -> int:
        return self.slots.shape[1]

    @property
    def rows(self) -> np.ndarray:
        """``(N, width)``: symbol i's state is ``rows[i]`` (a view of ``slots``)."""
        return self.slots.T

    @property
    def n_bars(self) -> np.ndarray:
        return self.slots[0].astype(np.int64)

    def advance(self, open, high, low, close, volume) -> IndicatorState:
        """Feed bars (``(k, N)`` or ``(N,)``, oldest first) to every symbol, in place.

        NaN in a column means no bar for that symbol at that row.
        """
        arrays = {
            f: np.asarray(a, dtype=np.float64)
            for f, a in zip(FIELDS, (open, high, low, close, volume))
        }
        arrays = {f: a[None, :] if a.ndim == 1 else a for f, a in arrays.items()}
        present = _check_bars(arrays, "state.advance", gaps_allowed=True)
        if arrays["close"].shape[1] != len(self):
            raise IndicatorInputError(
                f"state.advance: bars for {arrays['close'].shape[1]} symbols, "
                f"state holds {len(self)}"
            )
        if arrays["close"].shape[0] == 1:
            flat = {f: np.ascontiguousarray(a[0]) for f, a in arrays.items()}
            which = (
                np.arange(len(self), dtype=np.int64)
                if present == len(self)
                else np.flatnonzero(~np.isnan(flat["close"]))
            )
            self.advance_runs(which, which, np.ones(which.size, np.int64), flat, checked=True)
            return self
        flat, starts, lengths = _runs_skipping_nan(arrays)
        self.advance_runs(np.arange(len(self), dtype=np.int64), starts, lengths, flat, checked=True)
        return self

    def advance_runs(
        self,
        which: np.ndarray,
        starts: np.ndarray,
        lengths: np.ndarray,
        flat: dict[str, np.ndarray],
        step: int = 1,
        checked: bool = False,
    ) -> None:
        """Low-level: symbol ``which[g]`` takes bars ``starts[g] + k * step`` for
        ``k < lengths[g]`` of 1-D ``flat`` (step 1: a long frame's runs; step N: the
        flattened rows of a ``(T, N)`` array).

        The caller guarantees valid bars and in-range runs; ``which`` is checked to
        name distinct symbols unless ``checked``.
        """
        lay = self.layout
        which = np.ascontiguousarray(which, dtype=np.int64)
        if not checked and which.size:
            if which.min() < 0 or which.max() >= len(self):
                raise IndicatorInputError("state: symbols to advance must be in range")
            seen = np.zeros(len(self), dtype=np.int8)
            seen[which] = 1
            if int(seen.sum()) != which.size:
                raise IndicatorInputError("state: symbols to advance must be distinct")
        lengths = np.ascontiguousarray(lengths, dtype=np.int64)
        # Threads only for work worth a fork and a join: a one-bar step of the default universe
        # takes ~1 ms on one core, and on a busy machine a parallel region waits for a
        # descheduled worker (measured: 5-14 ms medians under load, against 1-2 ms serial).
        kernel = _k.advance if int(lengths.sum()) >= PARALLEL_MIN_BARS else _k.advance_serial
        kernel(
            self.slots,
            which,
            np.ascontiguousarray(starts, dtype=np.int64),
            lengths,
            int(step),
            lay.lay,
            lay.sma,
            lay.ema,
            lay.fp,
            lay.inv,
            *(np.ascontiguousarray(flat[f], dtype=np.float64) for f in FIELDS),
        )

    def values(self) -> dict[str, np.ndarray]:
        """Indicator values at each symbol's last bar, by key (``layout.keys``)."""
        o = self.layout.out_offset
        return {k: self.slots[o + j].copy() for j, k in enumerate(self.layout.keys)}

    def tail(self, fld: str, k: int) -> np.ndarray:
        """The last ``k`` bars of ``fld`` as right-aligned ``(k, N)``, NaN before a symbol's first bar."""
        ring = self.layout.rings[fld]
        if k > ring:
            raise IndicatorInputError(
                f"state keeps {ring} bars of {fld}; asked for {k} "
                f"(add ('{fld}', {k}) to StateParams.keep)"
            )
        out = np.empty((k, len(self)), dtype=np.float64)
        _k.ring_tail(self.slots, self.layout.ring_offset[fld], ring, k, out)
        return out

    def take(self, idx) -> IndicatorState:
        return IndicatorState(self.params, slots=self.slots[:, np.asarray(idx)])


def _runs_skipping_nan(arrays: dict[str, np.ndarray]):
    """Each column's non-NaN bars as 1-D runs, symbol-major: (flat arrays, starts, lengths)."""
    close = arrays["close"]
    flat = {f: np.ascontiguousarray(arrays[f].T).reshape(-1) for f in FIELDS}
    keep = ~np.isnan(flat["close"])
    lengths = (~np.isnan(close)).sum(axis=0).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return {f: a[keep] for f, a in flat.items()}, starts, lengths


def build_state(fields: dict[str, np.ndarray], params: StateParams | None = None) -> IndicatorState:
    """State at the last bar of right-aligned ``(T, N)`` bars (a ``BarBlock``'s fields)."""
    arrays = {f: np.asarray(fields[f], dtype=np.float64) if f in fields else None for f in FIELDS}
    arrays = {f: a for f, a in arrays.items() if a is not None}
    arrays = {f: a[:, None] if a.ndim == 1 else a for f, a in arrays.items()}
    _check_bars(arrays, "build_state", gaps_allowed=False)
    state = IndicatorState.empty(arrays["close"].shape[1], params)
    flat, starts, lengths = _time_major_runs(arrays)
    state.advance_runs(
        np.arange(len(state), dtype=np.int64),
        starts,
        lengths,
        flat,
        step=arrays["close"].shape[1],
        checked=True,
    )
    return state


def build_state_runs(
    flat: dict[str, np.ndarray],
    starts: np.ndarray,
    lengths: np.ndarray,
    params: StateParams | None = None,
) -> IndicatorState:
    """State of symbols whose bars are runs of 1-D arrays (a long frame's columns), run g -> row g."""
    state = IndicatorState.empty(len(starts), params)
    state.advance_runs(np.arange(len(starts), dtype=np.int64), starts, lengths, flat, checked=True)
    return state
