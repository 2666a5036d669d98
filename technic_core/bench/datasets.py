"""Generated stores and their ``(T, N)`` arrays, cached for benchmarks and the gate.

The same cache as the asv suites (``benchmarks/common.py`` keeps an
identical copy of this layout, because the suites must also run at commits
that predate this module): ``$TECHNIC_ASV_DATA`` or ``~/.cache/technic-asv``,
then ``store-f{format}/u{symbols}x{bars}s{seed}`` and ``....arrays/``.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..universe.make import generate_store
from ..universe.schema import STORE_FORMAT
from ..universe.store import Store, is_store

FIELDS = ("open", "high", "low", "close", "volume")


def cache_dir() -> Path:
    env = os.environ.get("TECHNIC_ASV_DATA")
    root = Path(env) if env else Path.home() / ".cache" / "technic-asv"
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def store_path(n_symbols: int, n_bars: int = 504, seed: int = 7) -> Path:
    root = cache_dir() / f"store-f{STORE_FORMAT}" / f"u{n_symbols}x{n_bars}s{seed}"
    if is_store(root):
        return root
    with _locked(root):
        if not is_store(root):
            tmp = root.with_name(root.name + f".tmp{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            generate_store(tmp, n_symbols, n_bars, seed, log=lambda *a: None)
            os.replace(tmp, root)
    return root


def arrays_dir(n_symbols: int, n_bars: int = 504, seed: int = 7) -> Path:
    """Directory of ``FIELD.npy`` files: the store's usable symbols as (T, N) float64."""
    root = store_path(n_symbols, n_bars, seed)
    cache = root.parent / (root.name + ".arrays")
    if (cache / "close.npy").is_file():
        return cache
    with _locked(cache):
        if not (cache / "close.npy").is_file():
            store = Store(root)
            block = store.block(store.universe()["symbol"].tolist())
            tmp = cache.with_name(cache.name + f".tmp{os.getpid()}")
            tmp.mkdir(parents=True, exist_ok=True)
            for f in FIELDS:
                np.save(tmp / f"{f}.npy", np.ascontiguousarray(block.fields[f], dtype=np.float64))
            (tmp / "symbols.json").write_text(json.dumps([str(s) for s in block.symbols]))
            os.replace(tmp, cache)
    return cache
