"""The panel's file format, chosen by measurement: ``.npy`` against Arrow IPC (Feather v2), uncompressed.

    python tools/measure_panel_format.py                 # the default universe's bars
    python tools/measure_panel_format.py --repeat 9

Both hold the ``(5, T, N)`` float64 panel of the default universe, memory-mapped
for reading.  ``.npy``: one array, written column block by column block through
``np.lib.format.open_memmap``.  Arrow IPC: one record batch of five columns
(open .. volume) of ``T * N`` values each (a ``(T, N)`` field flattened row by
row), written with ``pyarrow.ipc.new_file`` and read with
``pyarrow.ipc.open_file(pyarrow.memory_map(...))`` (zero copy).  For each,
alternately, ``--repeat`` times: the write, opening (map and header), a
512-column block slice of every field, touching every value, and the file's
size; and what a writer must hold when the bars arrive a block of symbols at a
time (one block for ``.npy``, every field whole for one IPC record batch).
Prints JSON with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

FIELDS = ("open", "high", "low", "close", "volume")


def _bars(n: int, t: int) -> np.ndarray:
    from technic_core.universe.generate import generate_universe

    g = generate_universe(n, t, 7)
    return np.stack([getattr(g, f) for f in FIELDS])


def write_npy(arr: np.ndarray, path: Path, block: int = 512) -> None:
    out = np.lib.format.open_memmap(path, mode="w+", dtype="<f8", shape=arr.shape)
    for c in range(0, arr.shape[2], block):
        out[:, :, c : c + block] = arr[:, :, c : c + block]
    out.flush()
    del out


def write_ipc(arr: np.ndarray, path: Path) -> None:
    import pyarrow as pa

    cols = [pa.array(arr[q].reshape(-1)) for q in range(arr.shape[0])]
    table = pa.Table.from_arrays(cols, names=list(FIELDS))
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)


def open_npy(path: Path, shape) -> list[np.ndarray]:
    arr = np.load(path, mmap_mode="r")
    return [arr[q] for q in range(arr.shape[0])]


def open_ipc(path: Path, shape) -> list[np.ndarray]:
    import pyarrow as pa

    table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
    return [
        table.column(f).chunk(0).to_numpy(zero_copy_only=True).reshape(shape[1:]) for f in FIELDS
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=5277)
    ap.add_argument("--bars", type=int, default=504)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    arr = _bars(args.symbols, args.bars)
    tmp = Path(tempfile.mkdtemp(prefix="technic-panel-format-"))
    formats = {
        "npy": (write_npy, open_npy, tmp / "p.npy"),
        "arrow-ipc": (write_ipc, open_ipc, tmp / "p.arrow"),
    }
    res = {k: {"write": [], "open": [], "block": [], "touch": []} for k in formats}
    load = os.getloadavg()
    for _ in range(args.repeat):
        for name, (write, opener, path) in formats.items():
            t0 = time.perf_counter()
            write(arr, path)
            res[name]["write"].append(time.perf_counter() - t0)
            os.sync()
            t0 = time.perf_counter()
            fields = opener(path, arr.shape)
            res[name]["open"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for f in fields:
                np.ascontiguousarray(f[:, 1024:1536])
            res[name]["block"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            total = sum(float(np.asarray(f).sum()) for f in fields)
            res[name]["touch"].append(time.perf_counter() - t0)
            assert np.isfinite(total) or np.isnan(total)
            del fields
    out = {
        "symbols": args.symbols,
        "bars": args.bars,
        "load_before": load,
        "load_after": os.getloadavg(),
    }
    for name, (_, _, path) in formats.items():
        r = res[name]
        out[name] = {
            k: round(statistics.median(r[k]) * 1e3, 2) for k in ("write", "open", "block", "touch")
        }
        # bars arriving a block of symbols at a time (a generator, an import): .npy writes each
        # block where it goes; one IPC record batch needs every field whole first
        out[name]["held_to_write_mb"] = round(
            (arr[:, :, :512].nbytes if name == "npy" else arr.nbytes) / 1e6, 1
        )
        out[name]["size_mb"] = round(path.stat().st_size / 1e6, 1)
    out["unit"] = "ms (medians), MB"
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
