"""``technic data import``: vendor files in, a checked store out.

Each symbol is checked with the scan's own bad-data rules on the way in.
Only unambiguous repairs are made (rows sorted by date; exact duplicate rows
dropped); any other problem skips that symbol, reported with its file and
reason, and never stops the others.  Frequencies are detected per symbol and
recorded, so a scan refuses a store that is not all daily.  Importing into an
existing store merges: newer bars are appended, and a changed past bar
replaces the old one and is reported and logged in ``corrections.json``
(the cache phase keys its entries on the bars, so it recomputes them).
"""
from __future__ import annotations

import glob
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .readers import FileProblem, complete_universe, detect_frequency, read_bars, read_universe
from .schema import BAR_FIELDS, UNIVERSE_COLUMNS, StoreError
from .store import Store, write_store
from .validate import check_long


@dataclass
class ImportReport:
    imported: dict[str, int] = field(default_factory=dict)        # symbol -> bars stored
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (file, symbol, reason)
    repaired: list[tuple[str, str, str]] = field(default_factory=list)
    frequencies: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, int] = field(default_factory=dict)
    appended: dict[str, int] = field(default_factory=dict)
    corrections: list[dict] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)             # listed, but no bars given

    def summary(self) -> str:
        lines = [f"imported {len(self.imported)} symbol(s), {sum(self.imported.values()):,} bars"]
        freq = pd.Series(self.frequencies).value_counts()
        if len(freq):
            lines.append("frequency: " + ", ".join(f"{k} {v}" for k, v in freq.items()))
        for f, s, r in self.repaired:
            lines.append(f"repaired {s} ({f}): {r}")
        for f, s, r in self.skipped:
            lines.append(f"skipped {s or '-'} ({f}): {r}")
        for k, v in self.defaults.items():
            lines.append(f"default {k}: {v} symbol(s)")
        if self.appended:
            lines.append(f"appended bars to {len(self.appended)} symbol(s)")
        for c in self.corrections[:20]:
            lines.append(f"corrected {c['symbol']} {c['date']}: {c['old']} -> {c['new']}")
        if self.unlisted:
            lines.append(f"{len(self.unlisted)} listed symbol(s) had no bars and were left out")
        return "\n".join(lines)


def expand(paths) -> list[Path]:
    """Files from paths, directories and globs, in a stable order."""
    out: list[Path] = []
    for p in paths:
        p = str(p)
        matches = sorted(glob.glob(p)) if any(ch in p for ch in "*?[") else [p]
        for m in matches:
            m = Path(m)
            if m.is_dir():
                out.extend(sorted(x for x in m.iterdir() if x.suffix.lower() in (".csv", ".parquet", ".pq")))
            else:
                out.append(m)
    return out


def _repair(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    notes = []
    if df["date"].notna().all() and not df["date"].is_monotonic_increasing:
        df = df.sort_values("date", kind="mergesort")
        notes.append("dates sorted")
    dup = df.duplicated(keep="first")
    if dup.any():
        df = df[~dup]
        notes.append(f"{int(dup.sum())} exact duplicate row(s) dropped")
    return df.reset_index(drop=True), notes


def _merge(old: pd.DataFrame, new: pd.DataFrame, symbol: str, report: ImportReport) -> pd.DataFrame:
    both = old.merge(new, on="date", how="inner", suffixes=("_old", ""))
    for _, row in both.iterrows():
        before = [row[f"{f}_old"] for f in BAR_FIELDS]
        after = [row[f] for f in BAR_FIELDS]
        if not np.allclose(before, after, rtol=0, atol=0, equal_nan=True):
            report.corrections.append({"symbol": symbol, "date": str(row["date"].date()),
                                       "old": dict(zip(BAR_FIELDS, map(float, before))),
                                       "new": dict(zip(BAR_FIELDS, map(float, after)))})
    fresh = new[~new["date"].isin(old["date"])]
    if len(fresh):
        report.appended[symbol] = len(fresh)
    kept = old[~old["date"].isin(new["date"])]
    return pd.concat([kept, new], ignore_index=True).sort_values("date", kind="mergesort").reset_index(drop=True)


def import_store(bars, out: Path | str, universe: Path | str | None = None, adjusted: bool = False,
                 log=print) -> ImportReport:
    out = Path(out)
    report = ImportReport()
    files = expand(bars)
    if not files:
        raise StoreError(f"no bar files found in {', '.join(map(str, bars))}")
    frames: dict[str, pd.DataFrame] = {}
    origin: dict[str, str] = {}
    for path in files:
        try:
            long = read_bars(path, adjusted)
        except FileProblem as exc:
            report.skipped.append((str(path), "", str(exc).split(": ", 1)[-1]))
            continue
        if len(long) == 0:
            report.skipped.append((str(path), path.stem.upper(), "no bars (empty file)"))
            continue
        for sym, g in long.groupby("symbol", sort=False):
            frames[sym] = g.drop(columns="symbol").reset_index(drop=True)
            origin[sym] = str(path)

    existing = None
    if (out / "meta.json").is_file():
        existing = Store(out)
    good: dict[str, pd.DataFrame] = {}
    for sym, df in frames.items():
        df, notes = _repair(df)
        reason = check_long(df.assign(symbol=sym)).get(sym)
        if reason:
            report.skipped.append((origin[sym], sym, reason))
            continue
        if notes:
            report.repaired.append((origin[sym], sym, "; ".join(notes)))
        good[sym] = df
    if existing is not None:
        old_long = existing.long()
        for sym, g in old_long.groupby("symbol", sort=False, observed=True):
            sym = str(sym)
            old = g.drop(columns="symbol").reset_index(drop=True)
            good[sym] = _merge(old, good[sym], sym, report) if sym in good else old
    if not good:
        raise StoreError("nothing to import: " + "; ".join(f"{f}: {r}" for f, _, r in report.skipped[:5]))
    for sym, df in good.items():
        report.frequencies[sym] = detect_frequency(df["date"])
        report.imported[sym] = len(df)

    if universe is not None:
        uni, report.defaults = read_universe(universe)
    elif existing is not None:
        uni = existing.universe()
        new_syms = [s for s in good if s not in set(uni["symbol"])]
        if new_syms:
            extra, report.defaults = complete_universe(pd.DataFrame({"symbol": new_syms}))
            uni = pd.concat([uni, extra[list(UNIVERSE_COLUMNS)]], ignore_index=True)
    else:
        uni, report.defaults = complete_universe(pd.DataFrame({"symbol": sorted(good)}))
    listed = set(uni["symbol"])
    report.unlisted = sorted(listed - set(good))
    uni = uni[uni["symbol"].isin(set(good))].reset_index(drop=True)
    for sym in sorted(set(good) - listed):  # bars without a listing row: defaults
        extra, counts = complete_universe(pd.DataFrame({"symbol": [sym]}))
        uni = pd.concat([uni, extra[list(UNIVERSE_COLUMNS)]], ignore_index=True)
        for k, v in counts.items():
            report.defaults[k] = report.defaults.get(k, 0) + v

    order = [s for s in uni["symbol"] if s in good]
    long = pd.concat([good[s].assign(symbol=s) for s in order], ignore_index=True)[["symbol", "date", *BAR_FIELDS]]
    kinds = sorted(set(report.frequencies.values()))
    overall = kinds[0] if len(kinds) == 1 else "mixed (" + ", ".join(
        f"{k}: {', '.join(s for s, f in report.frequencies.items() if f == k)[:60]}" for k in kinds) + ")"
    meta = {"generator": "technic import", "frequency": overall,
            "symbol_frequencies": {s: f for s, f in report.frequencies.items() if f != "daily"}}
    write_store(out, uni[list(UNIVERSE_COLUMNS)], long, meta)
    if report.corrections:
        log_path = out / "corrections.json"
        history = json.loads(log_path.read_text()) if log_path.is_file() else []
        history.append({"imported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "corrections": report.corrections})
        log_path.write_text(json.dumps(history, indent=1))
    log(report.summary())
    return report
