"""Whether the ``cupy`` backend can run here: a working CUDA device, not a package.

Kept apart from the backend so that registering it imports nothing heavy;
the probe imports CuPy and the kernels only when it is asked.
"""

from __future__ import annotations


def simulator_active() -> bool:
    """True when Numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1``)."""
    from ..kernels.cuda_kernels import SIMULATED

    return SIMULATED


def cuda_device_reason() -> str | None:
    """None when a CUDA device works end to end, else why the GPU backend cannot run."""
    try:
        simulated = simulator_active()
    except ImportError as exc:
        return f"numba-cuda is not installed ({exc})"
    if simulated:
        # The simulator runs the kernels on the CPU for tests; it is never a backend.
        return (
            "no CUDA device: Numba's CUDA simulator is active (NUMBA_ENABLE_CUDASIM=1), "
            "a test mode, not a backend"
        )
    try:
        import cupy
    except ImportError as exc:
        return f"cupy is not installed ({exc})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no driver, driver too old, no device node
        return f"no CUDA device: {type(exc).__name__}: {exc}"
    if count < 1:
        return "no CUDA device: CuPy reports 0 devices"
    try:
        from . import cupy_backend

        cupy_backend.self_test()
    except Exception as exc:  # a device that cannot allocate, copy or run a kernel
        return f"CUDA device present but a test kernel failed: {type(exc).__name__}: {exc}"
    return None
