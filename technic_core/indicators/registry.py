"""Indicator backends by name.

A backend is a module that implements the thirteen indicator functions on
validated 2-D float64 arrays ``(T, N)`` (time on axis 0, symbols on axis 1),
with TA-Lib's keyword names.  The public API in ``technic_core.indicators``
validates input and picks the module here; backends never validate.

Adding a backend is adding a module and one ``register`` line below: the
probe says whether it can run on this machine (an importable package is not
enough for a GPU; the probe must talk to the device).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from .backends.cupy_probe import cuda_device_reason
from .errors import BackendUnavailable

INDICATORS = (
    "sma",
    "ema",
    "rsi",
    "macd",
    "bbands",
    "atr",
    "stoch",
    "adx",
    "obv",
    "roc",
    "willr",
    "cci",
    "mfi",
)

# The order a fallback walks when a backend cannot run (fastest first).
FALLBACK_ORDER = ("cupy", "numba", "numpy", "baseline")


@dataclass(frozen=True)
class Backend:
    name: str
    module: str
    probe: Callable[[], str | None]  # None when usable, else the reason it is not
    description: str


def _probe_module(mod: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        try:
            importlib.import_module(mod)
        except ImportError as exc:  # a missing optional package
            return f"{exc.name or mod} is not installed ({exc})"
        return None

    return probe


_BACKENDS: dict[str, Backend] = {}
_PROBED: dict[str, str | None] = {}


def register(backend: Backend) -> None:
    _BACKENDS[backend.name] = backend
    _PROBED.pop(backend.name, None)


def registered_backends() -> list[str]:
    return list(_BACKENDS)


def unavailable_reason(name: str) -> str | None:
    """None if ``name`` can run on this machine, else why not (cached)."""
    if name not in _BACKENDS:
        raise ValueError(f"unknown indicator backend {name!r}; registered: {', '.join(_BACKENDS)}")
    if name not in _PROBED:
        try:
            _PROBED[name] = _BACKENDS[name].probe()
        except Exception as exc:  # a probe must never take the caller down
            _PROBED[name] = f"probe failed: {type(exc).__name__}: {exc}"
    return _PROBED[name]


def available_backends() -> list[str]:
    """Backends usable on this machine, in registration order."""
    return [n for n in _BACKENDS if unavailable_reason(n) is None]


def load_backend(name: str):
    """The backend module for ``name``; BackendUnavailable if it cannot run."""
    reason = unavailable_reason(name)
    if reason is not None:
        raise BackendUnavailable(f"backend {name!r} is unavailable: {reason}")
    return importlib.import_module(_BACKENDS[name].module)


register(
    Backend(
        "baseline",
        "technic_core.indicators.backends.baseline_backend",
        _probe_module("technic_core.indicators.backends.baseline_backend"),
        "per-symbol pandas, as the original scanner computed indicators",
    )
)
register(
    Backend(
        "numpy",
        "technic_core.indicators.backends.numpy_backend",
        _probe_module("technic_core.indicators.backends.numpy_backend"),
        "whole-universe NumPy on (T, N) arrays",
    )
)
register(
    Backend(
        "numba",
        "technic_core.indicators.backends.numba_backend",
        _probe_module("technic_core.indicators.backends.numba_backend"),
        "Numba kernels over (T, N) arrays, parallel over symbol blocks",
    )
)
register(
    Backend(
        "cupy",
        "technic_core.indicators.backends.cupy_backend",
        cuda_device_reason,
        "CUDA kernels (Numba) on CuPy device arrays, one thread per symbol",
    )
)
register(
    Backend(
        "talib",
        "technic_core.indicators.backends.talib_backend",
        _probe_module("technic_core.indicators.backends.talib_backend"),
        "TA-Lib (C) per symbol from and to (T, N) panels: a reference engine for tests "
        "and scans, not in the fallback chain and not the speed yardstick",
    )
)
