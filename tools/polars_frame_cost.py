"""Where a wide polars frame's time goes: each way of building a result, and an input's steps.

    python tools/polars_frame_cost.py [--symbols 5277] [--bars 504] [--rounds 7]

A Panel of wide polars frames costs several times the arrays' set (``bench_containers``,
library ``polars``).  This times, on one ``(bars, symbols)`` float64 array, the ways
polars can build a frame of it (the one technic takes is marked), and the steps of
reading a frame's values, and prints medians in ms.  docs/api.md quotes it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=5277)
    ap.add_argument("--bars", type=int, default=504)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    try:
        import polars as pl
        import polars.selectors as cs
    except ImportError:
        print("polars is not installed (pip install technic[polars])")
        return 2

    from technic_core.indicators import containers
    from technic_core.indicators.validate import row_major_counted

    t, n = args.bars, args.symbols
    out = np.random.default_rng(0).random((t, n))
    names = [f"S{j:05d}" for j in range(n)]
    dates = np.arange(t).astype("datetime64[D]")
    frame = pl.DataFrame({"date": dates}).hstack(pl.from_numpy(out, schema=names, orient="row"))
    ready = [pl.Series(c, out[:, j]) for j, c in enumerate(names)]
    one_row = pl.Series("", out[:1], dtype=pl.Array(pl.Float64, n))
    struct = pl.Series("", out, dtype=pl.Array(pl.Float64, n)).arr.to_struct(fields=names)
    wrap = containers._wrap_polars_frame(frame.select("date"), names, frame.columns)
    keys = containers._key_selector()
    plain = frame.drop("date")
    fortran = plain.to_numpy(order="fortran")

    def no_keys():
        d = frame.clone()
        d.drop_in_place("date")
        return d

    rows = [
        (
            "result: from_numpy(orient='row')",
            lambda: pl.from_numpy(out, schema=names, orient="row"),
        ),
        ("result: Array -> to_struct -> unnest (technic)", lambda: wrap(("x",), (out,))),
        ("  to_struct of one row (fields only)", lambda: one_row.arr.to_struct(fields=names)),
        ("  unnest of a ready struct", lambda: struct.struct.unnest()),
        ("result: DataFrame(list of ready Series)", lambda: pl.DataFrame(ready)),
        ("input: key selector", lambda: cs.expand_selector(frame, keys)),
        ("input: non-number selector", lambda: cs.expand_selector(frame, ~(keys | cs.numeric()))),
        ("input: clone + drop_in_place (technic)", no_keys),
        ("input: drop('date')", lambda: frame.drop("date")),
        ("input: to_numpy(order='fortran')", lambda: plain.to_numpy(order="fortran")),
        ("input: counted row-major copy", lambda: row_major_counted(fortran)),
        ("input: whole field (technic)", lambda: containers.unwrap("rsi", {"close": frame})),
    ]
    print(f"polars {pl.__version__}, {t} x {n} float64, medians of {args.rounds}")
    for label, func in rows:
        func()
        times = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            func()
            times.append(time.perf_counter() - t0)
        print(f"{label:50s} {1e3 * statistics.median(times):8.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
