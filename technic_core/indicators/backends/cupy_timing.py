"""Device timings of the GPU backend, upload apart from compute (for benchmarks).

CUDA events on the stream give the device's own clock; each phase ends with
a synchronisation so that no asynchronous work leaks into the next one.
"""

from __future__ import annotations

import statistics

import numpy as np

from ..errors import BackendUnavailable
from .cupy_probe import cuda_device_reason


def _synthetic(n_symbols: int, n_bars: int, seed: int) -> dict[str, np.ndarray]:
    """A plain random-walk OHLCV block; kernel cost does not depend on the values."""
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_bars, n_symbols)), axis=0))
    spread = rng.uniform(0, 0.01, (2, n_bars, n_symbols))
    return {
        "high": np.ascontiguousarray(close * (1 + spread[0])),
        "low": np.ascontiguousarray(close * (1 - spread[1])),
        "close": np.ascontiguousarray(close),
        "volume": np.ascontiguousarray(rng.uniform(1e4, 1e6, (n_bars, n_symbols)).round()),
    }


def time_on_device(
    n_symbols: int, n_bars: int, *, repeats: int = 5, seed: int = 0
) -> dict[str, float | int | str]:
    """Median milliseconds of the fused indicator set on ``n_symbols x n_bars``.

    ``upload_ms``: four fields host -> device (pinned staging included);
    ``compute_ms``: every kernel of ``fused_indicators`` plus the last-row gather;
    ``download_ms``: the ``(19, N)`` result back to the host.  Kernels are
    compiled by a warm-up run first.  Refuses (BackendUnavailable) without a device.
    """
    reason = cuda_device_reason()
    if reason is not None:
        raise BackendUnavailable(f"time_on_device needs a CUDA device: {reason}")
    if n_symbols < 1 or n_bars < 1 or repeats < 1:
        raise ValueError("n_symbols, n_bars and repeats must be positive")
    import cupy

    from . import cupy_backend as gpu

    am = gpu.array_module()
    host = _synthetic(n_symbols, n_bars, seed)
    stream = cupy.cuda.get_current_stream()

    def run_once():
        marks = [cupy.cuda.Event() for _ in range(4)]
        marks[0].record(stream)
        fields = {f: am.upload(a) for f, a in host.items()}
        marks[1].record(stream)
        result = gpu._fused_on_device(am, fields)
        marks[2].record(stream)
        am.download(result)
        marks[3].record(stream)
        marks[3].synchronize()
        return [cupy.cuda.get_elapsed_time(a, b) for a, b in zip(marks, marks[1:])]

    run_once()  # compiles every kernel
    runs = [run_once() for _ in range(repeats)]
    upload, compute, download = (statistics.median(r[i] for r in runs) for i in range(3))
    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"]
    return {
        "device": name.decode() if isinstance(name, bytes) else str(name),
        "n_symbols": n_symbols,
        "n_bars": n_bars,
        "repeats": repeats,
        "upload_ms": upload,
        "compute_ms": compute,
        "download_ms": download,
    }
