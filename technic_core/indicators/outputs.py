"""Large result arrays, recycled once whoever held them lets go.

A full set on the default universe makes 18 ``(T, N)`` float64 outputs of
21 MB each.  Fresh from the C allocator every one of them is new pages: the
operating system faults them in and zeroes them on first write, and takes
them back when the array is freed, so the next call pays again (measured on
the 2-core dev machine, 2026-12-02: 3,569 page faults and 37 ms of system
time per full set of about 130 ms).  ``empty`` hands out arrays whose pages
were touched before: when an array made here is dropped (with every view of
it), its memory goes back to a small pool, and the next request of the same
size takes it from there.

Safety.  An array made here is an ordinary writeable ndarray; its ``base`` is
a private ``_Lease`` object that owns the memory's lease.  The memory returns
to the pool only when the lease is garbage: no array or view can see it any
more, so a recycled buffer is never visible through two live arrays.  Its
contents are stale, as ``np.empty``'s are.

Bounds.  The pool keeps at most ``TECHNIC_OUTPUT_POOL_MB`` megabytes of
dropped buffers (default 1024; 0 turns recycling off) and only arrays of at
least ``MIN_BYTES``: small arrays cost the allocator nothing worth saving.
Beyond the cap a dropped buffer is freed as usual.  ``trim()`` empties the
pool (its memory goes back to the system).
"""

from __future__ import annotations

import os
import threading
import weakref

import numpy as np

MIN_BYTES = 1 << 20  # below this the allocator's own free lists serve as well


def _cap_bytes() -> int:
    raw = os.environ.get("TECHNIC_OUTPUT_POOL_MB", "1024")
    try:
        mb = float(raw)
    except ValueError:
        raise ValueError(
            f"TECHNIC_OUTPUT_POOL_MB must be a number of megabytes, got {raw!r}"
        ) from None
    return max(0, int(mb * (1 << 20)))


_lock = threading.Lock()
_free: dict[int, list[np.ndarray]] = {}  # nbytes -> dropped buffers of that size
_held = 0  # bytes in _free
_cap = _cap_bytes()


class _Lease:
    """The base of a pooled array: exposes the buffer; when it dies the buffer is given back."""

    __slots__ = ("__array_interface__", "__weakref__")

    def __init__(self, raw: np.ndarray, shape: tuple[int, ...]):
        self.__array_interface__ = {
            "shape": shape,
            "typestr": "<f8",
            "data": (raw.ctypes.data, False),
            "version": 3,
        }


def _give_back(raw: np.ndarray) -> None:
    global _held
    with _lock:
        if _held + raw.nbytes <= _cap:
            _free.setdefault(raw.nbytes, []).append(raw)
            _held += raw.nbytes


def _take(nbytes: int) -> np.ndarray | None:
    global _held
    with _lock:
        bucket = _free.get(nbytes)
        if not bucket:
            return None
        _held -= nbytes
        return bucket.pop()


def empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised C-contiguous float64 array, from the pool when one of its size is there."""
    shape = tuple(int(s) for s in shape)
    nbytes = 8 * int(np.prod(shape, dtype=np.int64))
    if nbytes < MIN_BYTES or _cap == 0:
        return np.empty(shape)
    raw = _take(nbytes)
    if raw is None:
        raw = np.empty(nbytes // 8)
    lease = _Lease(raw, shape)
    out = np.asarray(lease)
    # The finalizer holds the buffer until the lease (the base of ``out`` and of
    # every view of it) is collected, then hands it to the pool.
    weakref.finalize(lease, _give_back, raw).atexit = False
    return out


def held_bytes() -> int:
    """Bytes of dropped buffers the pool keeps now."""
    return _held


def trim() -> None:
    """Drop every pooled buffer (their memory goes back to the allocator)."""
    global _held
    with _lock:
        _free.clear()
        _held = 0


def set_cap(mb: float) -> None:
    """Change the pool's cap (megabytes; 0 turns recycling off) and empty the pool."""
    global _cap
    with _lock:
        _cap = max(0, int(mb * (1 << 20)))
    trim()
