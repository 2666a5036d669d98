"""The processes of the concurrency stress test (``test_stress.py``), run with ``python -m``.

    python -m tests.reliability.stress_worker import ROOT OUT K DEADLINE
    python -m tests.reliability.stress_worker scan ROOT OUT K DEADLINE REDIS_URL

Importer K imports its share of ``events`` (every K-th, see ``events``) one
file at a time until the deadline (epoch seconds) and writes which event
became which store version.  Scanner K scans until the deadline, cycling
through the cached and uncached phases, and saves each table with the store
version it read.  Both write JSON lines to OUT/<role><K>.jsonl.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from technic_core.universe.generate import generate_universe

N_SYMBOLS, N_BARS, SEED = 40, 280, 41
IMPORTERS = 4
MIN_EACH = 2  # commits per importer and scans per scanner, whatever the deadline
SCAN_PHASES = (
    "vectorized,cache",
    "prefetch,prescreen,vectorized,cache",
    "prefetch,prescreen,vectorized",
)


def base():
    g = generate_universe(N_SYMBOLS, N_BARS, SEED)
    return g.universe, g.long_frame()


def events(n: int = 400) -> list[pd.DataFrame]:
    """Vendor updates whose keys (symbol, session) never repeat, so any order of them gives the
    same store: new sessions for a few symbols, corrections of past bars, new symbols."""
    return [df for _, df in iter_events(n)]


def iter_events(n: int = 400, wanted=lambda e: True):
    """``(e, update)`` for the events ``wanted`` picks, in order. Every event's random draws are
    made whether it is wanted or not (so each event is the same in every process), but a new
    symbol's history (the costly kind, which draws from its own seed) is built only when wanted:
    an importer under a loaded machine must not spend its run building other importers' events."""
    uni, long = base()
    syms = uni["symbol"].tolist()
    full = [s for s in syms if (long["symbol"] == s).sum() == N_BARS]
    last_day = long["date"].max()
    rng = np.random.default_rng(SEED)
    for e in range(n):
        kind = e % 3
        if kind == 0:  # session j after the store's last, for 4 symbols
            j = e // 3 + 1
            day = pd.Timestamp(last_day) + pd.offsets.BDay(j)
            rows = []
            for s in rng.choice(full, 4, replace=False):
                c = float(long.loc[long["symbol"] == s, "close"].iloc[-1]) * float(
                    np.exp(rng.normal(0, 0.02))
                )
                o = c * float(np.exp(rng.normal(0, 0.005)))
                rows.append(
                    {
                        "symbol": s,
                        "date": day,
                        "open": round(o, 2),
                        "high": round(max(o, c) * 1.01, 2),
                        "low": round(min(o, c) * 0.99, 2),
                        "close": round(c, 2),
                        "volume": float(rng.integers(1e5, 1e6)),
                    }
                )
            update = pd.DataFrame(rows)
        elif kind == 1:  # a past bar of 2 symbols, each at a position no other event touches
            parts = []
            for s in rng.choice(full, 2, replace=False):
                b = long[long["symbol"] == s].iloc[[-(e // 3 + 5)]].copy()
                b["close"] = round(float(b["close"].iloc[0]) * 1.013, 4)
                b["high"] = max(float(b["high"].iloc[0]), float(b["close"].iloc[0]))
                parts.append(b)
            update = pd.concat(parts)
        elif wanted(e):  # a new symbol with a whole history
            update = generate_universe(1, 270, SEED + e).long_frame().assign(symbol=f"ZN{e}")
        else:
            continue
        if wanted(e):
            yield e, update


def _write(df: pd.DataFrame, path: Path) -> Path:
    pd.DataFrame(
        {
            "Symbol": df["symbol"].astype(str),
            "Date": pd.to_datetime(df["date"]).dt.strftime("%Y-%m-%d"),
            **{c.title(): df[c].to_numpy() for c in ("open", "high", "low", "close", "volume")},
        }
    ).to_csv(path, index=False)
    return path


def run_importer(root: Path, out: Path, k: int, deadline: float) -> None:
    from technic_core.universe.importer import import_store

    with open(out / f"importer{k}.jsonl", "a") as log:
        done = 0
        for e, df in iter_events(wanted=lambda e: e % IMPORTERS == k):
            # at least MIN_EACH commits whatever the machine's load: the test checks what was
            # written, and a worker starved until its deadline would prove nothing
            if time.time() >= deadline and done >= MIN_EACH:
                break
            path = _write(df, out / f"event{e}.csv")
            t0 = time.time()
            report = import_store([str(path)], root, log=lambda *a: None)
            if report.skipped or not report.committed:
                raise SystemExit(f"event {e} was not imported whole: {report.summary()}")
            log.write(
                json.dumps({"event": e, "version": report.version, "s": time.time() - t0}) + "\n"
            )
            log.flush()
            done += 1


def run_scanner(root: Path, out: Path, k: int, deadline: float, url: str) -> None:
    from technic_core.cache import Cache
    from technic_core.scan import scan

    cache = Cache(url=url)
    with open(out / f"scanner{k}.jsonl", "a") as log:
        i = 0
        while time.time() < deadline or i < MIN_EACH:
            phases = SCAN_PHASES[(i + k) % len(SCAN_PHASES)]
            res = scan(root, phases=phases, cache=cache)
            table = out / f"scan{k}-{i}.parquet"
            res.table.to_parquet(table, index=False)
            log.write(
                json.dumps(
                    {
                        "scan": i,
                        "phases": phases,
                        "version": res.info["store_version"],
                        "table": table.name,
                        "rows": len(res.table),
                        "cache": res.info.get("cache"),
                    },
                    default=str,
                )
                + "\n"
            )
            log.flush()
            i += 1


if __name__ == "__main__":
    role, root, out, k, deadline = sys.argv[1:6]
    if role == "import":
        run_importer(Path(root), Path(out), int(k), float(deadline))
    else:
        run_scanner(Path(root), Path(out), int(k), float(deadline), sys.argv[6])
