"""Time `technic data import`: a fresh import, a re-import of the same file, a one-session feed.

    python tools/measure_import.py                      # 2,000 symbols x 504 sessions = 1,008,000 rows
    python tools/measure_import.py --symbols 200 --repeat 1

Issue 14 item 11 quoted 281 s to re-import a 1-million-row file onto its own
store against 10 s for a fresh import.  The three cases run interleaved in
one process, ``--repeat`` times; medians are printed with every run, the load
average and which ``technic_core`` was measured, as JSON.  The input file is
built once from the synthetic generator and reused.  To time another commit's
importer, put its checkout first on ``PYTHONPATH`` (e.g. one made with
``git archive COMMIT | tar -x -C /tmp/old``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def build_inputs(work: Path, n_symbols: int, n_bars: int) -> tuple[Path, Path]:
    """(the long file of every bar but the last session, the last session alone)."""
    full, feed = work / f"long-{n_symbols}x{n_bars}.csv", work / f"feed-{n_symbols}x{n_bars}.csv"
    if full.is_file() and feed.is_file():
        return full, feed
    from technic_core.universe.generate import generate_universe

    long = generate_universe(n_symbols, n_bars + 1, seed=11).long_frame()
    last = long["date"] == long["date"].max()

    def write(df: pd.DataFrame, path: Path) -> None:
        out = pd.DataFrame(
            {
                "Symbol": df["symbol"],
                "Date": pd.to_datetime(df["date"]).dt.strftime("%Y-%m-%d"),
                **{c.title(): df[c].to_numpy() for c in ("open", "high", "low", "close", "volume")},
            }
        )
        out.to_csv(path.with_suffix(".tmp"), index=False)
        os.replace(path.with_suffix(".tmp"), path)

    write(long[~last], full)
    write(long[last], feed)
    return full, feed


def timed(import_store, path: Path, store: Path) -> tuple[float, str | None]:
    t0 = time.perf_counter()
    try:
        import_store([str(path)], store, log=lambda *a: None)
    except Exception as exc:  # noqa: BLE001 - an importer that refuses is a result too
        return time.perf_counter() - t0, f"{type(exc).__name__}: {str(exc)[:200]}"
    return time.perf_counter() - t0, None


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--symbols", type=int, default=2000)
    ap.add_argument("--bars", type=int, default=504)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--workdir", default=os.path.join(tempfile.gettempdir(), "technic-import-timing")
    )
    args = ap.parse_args()
    import technic_core
    from technic_core.universe.importer import import_store

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    full, feed = build_inputs(work, args.symbols, args.bars)
    rows = sum(1 for _ in open(full)) - 1
    runs: dict[str, list] = {"fresh": [], "reimport_same_file": [], "feed_one_session": []}
    for r in range(args.repeat):
        store = work / "store"
        shutil.rmtree(store, ignore_errors=True)
        print(
            f"run {r + 1}/{args.repeat}: fresh import of {rows:,} rows ...",
            file=sys.stderr,
            flush=True,
        )
        runs["fresh"].append(timed(import_store, full, store))
        print(f"run {r + 1}/{args.repeat}: the same file again ...", file=sys.stderr, flush=True)
        runs["reimport_same_file"].append(timed(import_store, full, store))
        print(
            f"run {r + 1}/{args.repeat}: one new session ({args.symbols:,} rows) ...",
            file=sys.stderr,
            flush=True,
        )
        runs["feed_one_session"].append(timed(import_store, feed, store))
    shutil.rmtree(work / "store", ignore_errors=True)
    out = {
        "technic_core": str(Path(technic_core.__file__).parent),
        "rows": rows,
        "symbols": args.symbols,
        "sessions": args.bars,
        "repeat": args.repeat,
        "load_avg_after": os.getloadavg(),
        "median_s": {
            k: (
                round(statistics.median(t for t, _ in v), 2)
                if all(e is None for _, e in v)
                else None
            )
            for k, v in runs.items()
        },
        "runs_s": {k: [round(t, 2) for t, _ in v] for k, v in runs.items()},
        "errors": {
            k: sorted({e for _, e in v if e}) for k, v in runs.items() if any(e for _, e in v)
        },
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
