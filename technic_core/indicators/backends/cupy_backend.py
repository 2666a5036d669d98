"""GPU backend: the CUDA kernels of ``kernels.cuda_kernels`` on CuPy device arrays.

CuPy holds the arrays and moves them: one upload per field for the whole
universe, staged through pinned host memory, one download per output.  The
kernels take CuPy arrays directly (``__cuda_array_interface__``), one thread
per symbol.

Where the arrays live is the only choice this module makes (the "array
module"): CuPy on a CUDA device, NumPy under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``), which runs the very same kernels on the CPU.
Everything else -- launches, scratch buffers, the fused set, the resident
universe -- is one code path, so tests on a machine without a GPU exercise
it end to end.  The simulator is a test mode: the registry's probe refuses
the ``cupy`` backend under it.

Public pieces beyond the thirteen indicator functions:

* ``fused_indicators(open, high, low, close, volume)``: the scan's
  indicator set at each symbol's last bar, ``{name: (N,) array}``; one
  upload per field and one small download.
* ``DeviceUniverse``: fields kept on the device between scans; ``append``
  uploads only the new bars.
"""

from __future__ import annotations

import numpy as np

from ..errors import BackendUnavailable
from ..kernels import cuda_kernels as K
from ..scan_set import INPUTS
from ..scan_set import calls as scan_calls
from ..validate import IndicatorInputError, as_2d, check_layout, first_valid

FIELDS = ("open", "high", "low", "close", "volume")


# --------------------------------------------------------------------------
# the array module: where device arrays live and how bytes move
# --------------------------------------------------------------------------


class _ArrayModule:
    """Allocation and transfers; counts the bytes it uploads."""

    name = "abstract"
    xp = np

    def __init__(self) -> None:
        self.uploaded_bytes = 0
        self.downloaded_bytes = 0

    def empty(self, shape):
        return self.xp.empty(shape, dtype=np.float64)

    def full_nan(self, shape):
        return self.xp.full(shape, np.nan, dtype=np.float64)

    def upload(self, host: np.ndarray):
        dev = self.empty(host.shape)
        self.upload_rows(dev, 0, host)
        return dev

    def upload_rows(self, dev, row0: int, host: np.ndarray) -> None:
        raise NotImplementedError

    def download(self, dev) -> np.ndarray:
        raise NotImplementedError

    def synchronize(self) -> None:
        pass


class _CupyArrays(_ArrayModule):
    name = "cupy"

    def __init__(self) -> None:
        super().__init__()
        import cupy
        import cupyx

        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:
            raise BackendUnavailable(f"no CUDA device: {type(exc).__name__}: {exc}") from exc
        if count < 1:
            raise BackendUnavailable("no CUDA device: CuPy reports 0 devices")
        self.xp = cupy
        self._cupyx = cupyx

    def upload_rows(self, dev, row0: int, host: np.ndarray) -> None:
        host = np.ascontiguousarray(host, dtype=np.float64)
        # Page-locked staging lets the copy engine read the host buffer directly.
        staged = self._cupyx.empty_pinned(host.shape, dtype=np.float64)
        np.copyto(staged, host)
        dev[row0 : row0 + host.shape[0]].set(staged)
        self.uploaded_bytes += host.nbytes

    def download(self, dev) -> np.ndarray:
        out = dev.get()
        self.downloaded_bytes += out.nbytes
        return out

    def synchronize(self) -> None:
        self.xp.cuda.get_current_stream().synchronize()


class _SimulatedArrays(_ArrayModule):
    """NumPy arrays stand in for device memory under the CUDA simulator."""

    name = "numpy (CUDA simulator)"

    def upload_rows(self, dev, row0: int, host: np.ndarray) -> None:
        host = np.ascontiguousarray(host, dtype=np.float64)
        dev[row0 : row0 + host.shape[0]] = host
        self.uploaded_bytes += host.nbytes

    def download(self, dev) -> np.ndarray:
        out = np.array(dev, dtype=np.float64, copy=True)
        self.downloaded_bytes += out.nbytes
        return out


_ARRAYS: _ArrayModule | None = None


def array_module() -> _ArrayModule:
    """The process-wide array module: CuPy on a device, NumPy in the simulator."""
    global _ARRAYS
    if _ARRAYS is None:
        if K.SIMULATED:
            _ARRAYS = _SimulatedArrays()
        else:
            try:
                _ARRAYS = _CupyArrays()
            except ImportError as exc:
                raise BackendUnavailable(f"cupy is not installed ({exc})") from exc
    return _ARRAYS


def simulated() -> bool:
    """True when this module runs its kernels in Numba's CUDA simulator."""
    return K.SIMULATED


# --------------------------------------------------------------------------
# indicator table and launches
# --------------------------------------------------------------------------

# name: (kernel, input fields, (parameter, type) ..., number of outputs)
_INDICATORS = {
    "sma": ("sma_kernel", ("close",), (("timeperiod", int),), 1),
    "ema": ("ema_kernel", ("close",), (("timeperiod", int),), 1),
    "rsi": ("rsi_kernel", ("close",), (("timeperiod", int),), 1),
    "macd": (
        "macd_kernel",
        ("close",),
        (("fastperiod", int), ("slowperiod", int), ("signalperiod", int)),
        3,
    ),
    "bbands": (
        "bbands_kernel",
        ("close",),
        (("timeperiod", int), ("nbdevup", float), ("nbdevdn", float)),
        3,
    ),
    "atr": ("atr_kernel", ("high", "low", "close"), (("timeperiod", int),), 1),
    "stoch": (
        "stoch_kernel",
        ("high", "low", "close"),
        (("fastk_period", int), ("slowk_period", int), ("slowd_period", int)),
        2,
    ),
    "adx": ("adx_kernel", ("high", "low", "close"), (("timeperiod", int),), 1),
    "obv": ("obv_kernel", ("close", "volume"), (), 1),
    "roc": ("roc_kernel", ("close",), (("timeperiod", int),), 1),
    "willr": ("willr_kernel", ("high", "low", "close"), (("timeperiod", int),), 1),
    "cci": ("cci_kernel", ("high", "low", "close"), (("timeperiod", int),), 1),
    "mfi": ("mfi_kernel", ("high", "low", "close", "volume"), (("timeperiod", int),), 1),
}


def _kernel_params(name: str, params: dict) -> tuple:
    if name not in _INDICATORS:
        raise IndicatorInputError(f"unknown indicator {name!r}; one of: {', '.join(_INDICATORS)}")
    spec = _INDICATORS[name][2]
    missing = [p for p, _ in spec if p not in params]
    extra = sorted(set(params) - {p for p, _ in spec})
    if missing or extra:
        raise IndicatorInputError(
            f"{name}: expected parameters {[p for p, _ in spec]}, "
            f"missing {missing}, unexpected {extra}"
        )
    values = tuple(typ(params[p]) for p, typ in spec)
    if name == "macd" and values[1] < values[0]:
        # TA-Lib swaps the periods when fast > slow; the kernel assumes fast <= slow.
        values = (values[1], values[0], values[2])
    return values


def _launch(kernel_name: str, inputs, params: tuple, outputs) -> None:
    t_len, n_sym = inputs[0].shape
    if t_len == 0 or n_sym == 0:
        return
    blocks, threads = K.launch_config(n_sym)
    getattr(K, kernel_name)[blocks, threads](*inputs, *params, *outputs)


def _on_device(am: _ArrayModule, name: str, inputs, values: tuple) -> tuple:
    """Run one indicator on device arrays with coerced parameters; device outputs."""
    kernel, _, _, n_out = _INDICATORS[name]
    outs = tuple(am.empty(inputs[0].shape) for _ in range(n_out))
    _launch(kernel, inputs, values, outs)
    return outs


def _on_host(name: str, arrays: tuple, **params):
    values = _kernel_params(name, params)
    am = array_module()
    dev_in = [am.upload(a) for a in arrays]
    outs = [am.download(o) for o in _on_device(am, name, dev_in, values)]
    return outs[0] if len(outs) == 1 else tuple(outs)


# --------------------------------------------------------------------------
# the thirteen indicators (validated (T, N) float64 C-contiguous input)
# --------------------------------------------------------------------------


def sma(close, timeperiod):
    return _on_host("sma", (close,), timeperiod=timeperiod)


def ema(close, timeperiod):
    return _on_host("ema", (close,), timeperiod=timeperiod)


def rsi(close, timeperiod):
    return _on_host("rsi", (close,), timeperiod=timeperiod)


def macd(close, fastperiod, slowperiod, signalperiod):
    """(macd, macdsignal, macdhist)."""
    return _on_host(
        "macd", (close,), fastperiod=fastperiod, slowperiod=slowperiod, signalperiod=signalperiod
    )


def bbands(close, timeperiod, nbdevup, nbdevdn):
    """(upper, middle, lower): SMA middle band, population standard deviation."""
    return _on_host("bbands", (close,), timeperiod=timeperiod, nbdevup=nbdevup, nbdevdn=nbdevdn)


def atr(high, low, close, timeperiod):
    return _on_host("atr", (high, low, close), timeperiod=timeperiod)


def stoch(high, low, close, fastk_period, slowk_period, slowd_period):
    """(slowk, slowd), SMA slow lines."""
    return _on_host(
        "stoch",
        (high, low, close),
        fastk_period=fastk_period,
        slowk_period=slowk_period,
        slowd_period=slowd_period,
    )


def adx(high, low, close, timeperiod):
    return _on_host("adx", (high, low, close), timeperiod=timeperiod)


def obv(close, volume):
    return _on_host("obv", (close, volume))


def roc(close, timeperiod):
    return _on_host("roc", (close,), timeperiod=timeperiod)


def willr(high, low, close, timeperiod):
    return _on_host("willr", (high, low, close), timeperiod=timeperiod)


def cci(high, low, close, timeperiod):
    return _on_host("cci", (high, low, close), timeperiod=timeperiod)


def mfi(high, low, close, volume, timeperiod):
    return _on_host("mfi", (high, low, close, volume), timeperiod=timeperiod)


# --------------------------------------------------------------------------
# fused: the scan's indicator set at the last bar
# --------------------------------------------------------------------------

# (kernel, input fields, kernel parameters, output names): the scan's set (docs/scan.md),
# from the one table (scan_set.SCAN_SET); kernel parameters are the TA-Lib keywords in order.
FUSED_PLAN = tuple(
    (f"{fname}_kernel", INPUTS[fname], tuple(params.values()), names)
    for fname, params, names in scan_calls()
)
FUSED_KEYS = tuple(key for *_, keys in FUSED_PLAN for key in keys)


def _fused_on_device(am: _ArrayModule, fields: dict):
    """All FUSED_KEYS at the last row, as one ``(len(FUSED_KEYS), N)`` device array.

    Kernels write full columns into three reused scratch buffers; only their
    last rows are kept, so one small array crosses back to the host.
    """
    t_len, n_sym = fields["close"].shape
    result = am.full_nan((len(FUSED_KEYS), n_sym))
    if t_len == 0 or n_sym == 0:
        return result
    scratch = [am.empty((t_len, n_sym)) for _ in range(3)]
    row = 0
    for kernel, inputs, params, keys in FUSED_PLAN:
        outs = scratch[: len(keys)]
        _launch(kernel, [fields[f] for f in inputs], params, outs)
        for out in outs:
            result[row] = out[t_len - 1]
            row += 1
    return result


def _as_dict(host: np.ndarray) -> dict[str, np.ndarray]:
    return {key: host[i] for i, key in enumerate(FUSED_KEYS)}


def _validated(caller: str, arrays: dict) -> tuple[dict[str, np.ndarray], np.ndarray]:
    inputs, _ = as_2d(caller, arrays)
    starts = check_layout(caller, inputs)
    return inputs, starts


def fused_indicators(open, high, low, close, volume) -> dict[str, np.ndarray]:
    """Each FUSED_KEYS indicator at the last row, ``{name: (N,) float64}``.

    Inputs are ``(T, N)`` (or ``(T,)``) prices and volumes, validated like the
    public indicator API.  ``open`` is validated but no indicator reads it.
    """
    inputs, _ = _validated(
        "fused_indicators",
        {"open": open, "high": high, "low": low, "close": close, "volume": volume},
    )
    am = array_module()
    fields = {f: am.upload(inputs[f]) for f in ("high", "low", "close", "volume")}
    return _as_dict(am.download(_fused_on_device(am, fields)))


# --------------------------------------------------------------------------
# resident mode
# --------------------------------------------------------------------------


class DeviceUniverse:
    """OHLCV fields of a fixed set of symbols, kept on the device between scans.

    Built once from ``(T, N)`` host arrays (one upload per field); ``append``
    uploads only new bars, so a rescan after one new session moves ``5 * N``
    values instead of ``5 * T * N``.  ``indicator`` and ``fused`` recompute on
    the resident arrays.  Buffers carry spare rows (``capacity``, default a
    quarter more) and double when full (a device-side copy: nothing old is
    uploaded again).
    """

    def __init__(self, open, high, low, close, volume, *, capacity: int | None = None):
        inputs, starts = _validated(
            "DeviceUniverse",
            {"open": open, "high": high, "low": low, "close": close, "volume": volume},
        )
        t_len, n_sym = inputs["close"].shape
        self._am = array_module()
        self._n_bars = t_len
        self._n_symbols = n_sym
        self._started = starts < t_len
        spare = t_len + max(16, t_len // 4)
        self._capacity = spare if capacity is None else max(int(capacity), t_len)
        uploaded = self._am.uploaded_bytes
        self._fields = {}
        for f in FIELDS:
            buf = self._am.empty((self._capacity, n_sym))
            self._am.upload_rows(buf, 0, inputs[f])
            self._fields[f] = buf
        self.uploaded_bytes = self._am.uploaded_bytes - uploaded

    @property
    def n_bars(self) -> int:
        return self._n_bars

    @property
    def n_symbols(self) -> int:
        return self._n_symbols

    @property
    def capacity(self) -> int:
        return self._capacity

    def field(self, name: str):
        """The resident ``(n_bars, N)`` device array of one field (a view)."""
        if name not in self._fields:
            raise IndicatorInputError(f"DeviceUniverse: unknown field {name!r}; one of {FIELDS}")
        return self._fields[name][: self._n_bars]

    def append(self, open, high, low, close, volume) -> None:
        """Add ``k`` new bars: ``(k, N)`` arrays, or ``(N,)`` for one bar."""
        block = self._check_block(
            {"open": open, "high": high, "low": low, "close": close, "volume": volume}
        )
        k = block["close"].shape[0]
        if k == 0:
            return
        if self._n_bars + k > self._capacity:
            self._grow(max(2 * self._capacity, self._n_bars + k))
        uploaded = self._am.uploaded_bytes
        for f in FIELDS:
            self._am.upload_rows(self._fields[f], self._n_bars, block[f])
        self.uploaded_bytes += self._am.uploaded_bytes - uploaded
        self._started |= ~np.isnan(block["close"]).all(axis=0)
        self._n_bars += k

    def indicator(self, name: str, **params):
        """One indicator (TA-Lib parameter names) on the resident fields, on the host."""
        values = _kernel_params(name, params)
        inputs = [self.field(f) for f in _INDICATORS[name][1]]
        outs = [self._am.download(o) for o in _on_device(self._am, name, inputs, values)]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def fused(self) -> dict[str, np.ndarray]:
        """``fused_indicators`` of the resident fields."""
        fields = {f: self.field(f) for f in FIELDS}
        return _as_dict(self._am.download(_fused_on_device(self._am, fields)))

    def _grow(self, capacity: int) -> None:
        for f in FIELDS:
            buf = self._am.empty((capacity, self._n_symbols))
            buf[: self._n_bars] = self._fields[f][: self._n_bars]
            self._fields[f] = buf
        self._capacity = capacity

    def _check_block(self, arrays: dict) -> dict[str, np.ndarray]:
        block = {}
        for f, value in arrays.items():
            a = np.asarray(value, dtype=np.float64)
            if a.ndim == 1:
                a = a[None, :]
            if a.ndim != 2 or a.shape[1] != self._n_symbols:
                raise IndicatorInputError(
                    f"DeviceUniverse.append: {f} must be (k, {self._n_symbols}) or "
                    f"({self._n_symbols},); got shape {np.shape(value)}"
                )
            block[f] = np.ascontiguousarray(a)
        shapes = {a.shape for a in block.values()}
        if len(shapes) != 1:
            raise IndicatorInputError(f"DeviceUniverse.append: fields differ in shape: {shapes}")
        for f, a in block.items():
            gaps = np.isnan(a) & self._started
            if gaps.any():
                row, col = (int(i) for i in np.argwhere(gaps)[0])
                raise IndicatorInputError(
                    f"DeviceUniverse.append: {f} column {col} has a NaN at row "
                    f"{self._n_bars + row} after its series started; interior gaps are not "
                    "supported (leading NaNs mark a short history)"
                )
        check_layout("DeviceUniverse.append", block)  # late listings: leading NaNs only
        return block


# --------------------------------------------------------------------------
# self test (the registry probe's round trip)
# --------------------------------------------------------------------------


def self_test() -> None:
    """Allocate, upload, run a kernel, download; raise if anything is off."""
    host = np.arange(1.0, 19.0).reshape(6, 3)
    host[0, 1] = np.nan  # a short history
    got = sma(host, 2)
    want = np.full_like(host, np.nan)
    want[1:] = (host[1:] + host[:-1]) / 2.0
    want[1, 1] = np.nan
    want[2, 1] = (host[1, 1] + host[2, 1]) / 2.0
    if not np.array_equal(got, want, equal_nan=True):
        raise RuntimeError(f"SMA(2) round trip gave {got.tolist()}, expected {want.tolist()}")
    if not np.array_equal(first_valid(got), np.array([1, 2, 1])):
        raise RuntimeError("SMA(2) round trip put its first values in the wrong rows")
