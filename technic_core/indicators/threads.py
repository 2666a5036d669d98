"""One thread pool for the GIL-free Numba kernels (indicators and input validation).

Column ranges of a ``(T, N)`` array are cut into a few chunks per thread and
handed to the pool: when a neighbour slows one core, the other thread takes
more of the chunks (a static two-way split would wait for the slowed half).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

THREADS = max(1, int(numba.config.NUMBA_NUM_THREADS))

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0


def executor() -> ThreadPoolExecutor:
    # A forked child inherits the pool object but not its threads: work
    # submitted there would wait forever, so each process makes its own.
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():
        _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="technic-numba")
        _pool_pid = os.getpid()
    return _pool


def in_chunks(
    kernel,
    args: tuple,
    n: int,
    *tail,
    threads: int = THREADS,
    chunks_per_thread: int = 4,
    min_chunk: int = 64,
) -> None:
    """``kernel(*args, col0, col1, *tail)`` over columns 0..n, in parallel chunks.

    At most ``numba.get_num_threads()`` threads: ``numba.set_num_threads`` limits
    this pool as it limits Numba's own parallel loops (a Ray task given one CPU,
    the gate timing the same code on one thread and on all).
    """
    threads = min(threads, numba.get_num_threads())
    chunks = max(1, min(threads * chunks_per_thread, n // min_chunk))
    if chunks == 1 or threads == 1:
        kernel(*args, 0, n, *tail)
        return
    edges = np.linspace(0, n, chunks + 1).astype(np.int64)
    futures = [
        executor().submit(kernel, *args, int(a), int(b), *tail)
        for a, b in zip(edges[:-1], edges[1:])
        if b > a
    ]
    for f in futures:
        f.result()
