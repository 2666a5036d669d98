"""``technic data import``: vendor files in, a checked store version out.

Each symbol is checked with the scan's own bad-data rules on the way in, on
the history it will have once merged with what the store holds (so a daily
feed of one new bar appends).  Only unambiguous repairs are made (rows
sorted by date; exact duplicate rows dropped; rows of one symbol from several
files combined where they agree); any other problem skips that symbol,
reported with its file and reason: a name the store cannot hold, files that
disagree about a session, a session given twice in different forms, bad
bars.  An import is all-or-nothing per symbol: a skipped symbol's stored bars
stay as they were, and so does a stored symbol whose bars cannot be read.

Frequencies are detected per symbol and recorded, so a scan refuses a store
that is not all daily.  Importing into an existing store merges: newer bars
are appended, and a changed past bar replaces the old one and is reported
and logged in ``corrections.json``.  The result is one new store version
(``writer``), in which every changed symbol has a new content version, so
the Redis cache, which ties its entries to content versions, recomputes (or
advances by the new bars) exactly the symbols that changed.  Re-importing
data the store already holds changes nothing and commits nothing.

The merge is vectorised over all symbols at once: re-importing a file costs
about what reading it and writing the changed symbols costs.
"""

from __future__ import annotations

import glob
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .lock import DEFAULT_LOCK_TIMEOUT_S, StoreLock
from .readers import (
    SESSION_TZ,
    FileProblem,
    complete_universe,
    frequencies,
    read_bars,
    read_universe,
)
from .schema import BAR_FIELDS, UNIVERSE_COLUMNS, StoreError, symbol_name_problem
from .store import Store, is_store
from .validate import check_long
from .writer import write_store

COLUMNS = ["symbol", "date", *BAR_FIELDS]


@dataclass
class ImportReport:
    imported: dict[str, int] = field(default_factory=dict)  # input symbol -> bars it now has
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (file, symbol, reason)
    repaired: list[tuple[str, str, str]] = field(default_factory=list)
    frequencies: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, int] = field(default_factory=dict)
    appended: dict[str, int] = field(default_factory=dict)
    corrections: list[dict] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)  # listed, but no bars given or held
    version: int | None = None  # the store version after the import
    committed: bool = False  # False: nothing changed

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
            lines.append(
                f"appended {sum(self.appended.values()):,} bar(s) to {len(self.appended)} symbol(s)"
            )
        for c in self.corrections[:20]:
            lines.append(f"corrected {c['symbol']} {c['date']}: {c['old']} -> {c['new']}")
        if len(self.corrections) > 20:
            lines.append(f"... {len(self.corrections) - 20} more correction(s) in corrections.json")
        if self.unlisted:
            lines.append(
                f"{len(self.unlisted)} listed symbol(s) have no bars and are not in the universe"
            )
        if self.version is not None:
            lines.append(
                f"store version {self.version}"
                + ("" if self.committed else " (nothing changed: no new version)")
            )
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
                out.extend(
                    sorted(
                        x for x in m.iterdir() if x.suffix.lower() in (".csv", ".parquet", ".pq")
                    )
                )
            else:
                out.append(m)
    return out


def _rows_text(rows: list[int], limit: int = 5) -> str:
    head = ", ".join(map(str, rows[:limit]))
    return head + (f", ... ({len(rows) - limit} more)" if len(rows) > limit else "")


def _read_inputs(
    files: list[Path], adjusted: bool, session_tz: str, report: ImportReport
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Every usable input row (symbol, date, OHLCV, _file) and each symbol's files."""
    frames: list[pd.DataFrame] = []
    for k, path in enumerate(files):
        try:
            long = read_bars(path, adjusted, session_tz)
        except FileProblem as exc:
            report.skipped.append((str(path), "", str(exc).split(": ", 1)[-1]))
            continue
        if len(long) == 0:
            report.skipped.append((str(path), path.stem.upper(), "no bars (empty file)"))
            continue
        blank = long.attrs.get("blank_rows", [])
        if blank:
            report.skipped.append(
                (
                    str(path),
                    "",
                    f"{len(blank)} row(s) with an empty symbol "
                    f"(data rows {_rows_text(blank)}): which symbol's bars are they?",
                )
            )
        problems = dict(long.attrs.get("problems", {}))
        names = pd.unique(long["symbol"])
        for sym in names:
            if sym == "":
                continue
            why = symbol_name_problem(sym)
            if why:
                problems[sym] = f"symbol name cannot be stored: {why}"
        for sym, why in problems.items():
            report.skipped.append((str(path), sym, why))
        drop = long["symbol"].isin(set(problems) | {""}).to_numpy()
        long = long[~drop]
        if len(long):
            frames.append(long.assign(_file=k))
    if not frames:
        return pd.DataFrame(columns=[*COLUMNS, "_file"]), {}
    rows = pd.concat(frames, ignore_index=True)
    per = rows.groupby("symbol", sort=False)["_file"].unique()
    return rows, {s: [str(files[k]) for k in ks] for s, ks in per.items()}


def _combine(
    rows: pd.DataFrame, origin: dict[str, list[str]], files: list[Path], report: ImportReport
) -> tuple[pd.DataFrame, set[str]]:
    """One set of rows per symbol: several files of one symbol are combined where they agree
    (their rows are then sorted and the shared ones dropped by ``_repair``)."""
    multi = [s for s, fs in origin.items() if len(fs) > 1]
    if not multi:
        return rows, set()
    bad: set[str] = set()
    for sym, g in rows[rows["symbol"].isin(multi)].groupby("symbol", sort=False):
        names = " and ".join(Path(f).name for f in origin[sym])
        # a session given by two files must be the same bar in both
        distinct = g.drop_duplicates(COLUMNS)
        clash = distinct[distinct["date"].notna() & distinct.duplicated("date", keep=False)]
        clash = clash[clash.groupby("date")["_file"].transform("nunique") > 1]
        if len(clash):
            day = clash["date"].iloc[0]
            first = clash[clash["date"] == day]
            vals = "; ".join(
                f"{files[int(k)].name}: close {c:g}" for k, c in zip(first["_file"], first["close"])
            )
            when = day.date() if day == day.normalize() else day
            report.skipped.append(
                (origin[sym][0], sym, f"given by {names}, which disagree on {when} ({vals})")
            )
            bad.add(sym)
        else:
            report.repaired.append(
                (
                    origin[sym][0],
                    sym,
                    f"rows from {len(origin[sym])} files combined "
                    f"({names}; they agree where they overlap)",
                )
            )
    return rows[~rows["symbol"].isin(bad)], set(multi) - bad


def _repair(
    rows: pd.DataFrame, origin: dict[str, list[str]], report: ImportReport, combined: set[str]
) -> pd.DataFrame:
    """Sort each symbol's rows by date (where every date parsed) and drop exact duplicate rows."""
    if not len(rows):
        return rows
    code, names = pd.factorize(rows["symbol"], sort=False)
    dates = rows["date"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    nat = rows["date"].isna().to_numpy()
    has_nat = np.zeros(len(names), bool)
    np.logical_or.at(has_nat, code, nat)
    same = code[:-1] == code[1:]
    back = np.zeros(len(names), bool)
    np.logical_or.at(back, code[1:], same & (dates[1:] < dates[:-1]) & ~nat[1:] & ~nat[:-1])
    back &= ~has_nat
    pos = np.arange(len(rows), dtype=np.int64)
    # by symbol (first appearance), then date; a symbol with a missing date keeps its file's order
    order = np.lexsort((pos, np.where(has_nat[code], pos, dates), code))
    rows = rows.iloc[order].reset_index(drop=True)
    code = code[order]
    dup = rows.duplicated(COLUMNS, keep="first").to_numpy()
    ndup = np.bincount(code[dup], minlength=len(names))
    rows = rows[~dup].reset_index(drop=True)
    for j in np.flatnonzero(back | (ndup > 0)):
        if names[j] in combined:
            continue
        notes = (["dates sorted"] if back[j] else []) + (
            [f"{int(ndup[j])} exact duplicate row(s) dropped"] if ndup[j] else []
        )
        report.repaired.append((origin[names[j]][0], names[j], "; ".join(notes)))
    return rows


def _merge(old: pd.DataFrame, new: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
    """Stored bars (old) and imported bars (new) of the same symbols: new wins a shared session.

    One sort of both by (symbol, date, old before new): a stored row directly followed by an
    imported row of the same symbol and date is replaced by it (a correction when they differ).
    """
    both = pd.concat([old[COLUMNS], new[COLUMNS]], ignore_index=True)
    code, _ = pd.factorize(both["symbol"], sort=False)
    day = both["date"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    src = np.r_[np.zeros(len(old), np.int8), np.ones(len(new), np.int8)]
    order = np.lexsort((src, day, code))
    c, d, w = code[order], day[order], src[order]
    pair = (c[1:] == c[:-1]) & (d[1:] == d[:-1]) & (w[:-1] == 0) & (w[1:] == 1)
    replaced = np.r_[pair, False]  # stored rows an imported row replaces
    replacing = np.r_[False, pair]
    vals = both[list(BAR_FIELDS)].to_numpy(np.float64)[order]
    a, b = vals[replaced], vals[replacing]
    differ = ((a != b) & ~(np.isnan(a) & np.isnan(b))).any(axis=1)
    if differ.any():
        rows = order[replacing][differ]
        syms = both["symbol"].to_numpy()[rows]
        dates = both["date"].to_numpy()[rows].astype("datetime64[D]")
        for s, dt, x, y in zip(syms, dates, a[differ], b[differ]):
            report.corrections.append(
                {
                    "symbol": str(s),
                    "date": str(dt),
                    "old": dict(zip(BAR_FIELDS, map(float, x))),
                    "new": dict(zip(BAR_FIELDS, map(float, y))),
                }
            )
    fresh = (w == 1) & ~replacing
    if fresh.any():
        counts = pd.Series(both["symbol"].to_numpy()[order[fresh]]).value_counts(sort=False)
        report.appended.update({str(k): int(v) for k, v in counts.items()})
    return both.iloc[order[~replaced]].reset_index(drop=True)


def import_store(
    bars,
    out: Path | str,
    universe: Path | str | None = None,
    adjusted: bool = False,
    log=print,
    lock_timeout: float | None = DEFAULT_LOCK_TIMEOUT_S,
    session_tz: str = SESSION_TZ,
) -> ImportReport:
    out = Path(out)
    report = ImportReport()
    files = expand(bars)
    if not files:
        raise StoreError(f"no bar files found in {', '.join(map(str, bars))}")
    rows, origin = _read_inputs(files, adjusted, session_tz, report)
    rows, combined = _combine(rows, origin, files, report)
    rows = _repair(rows.drop(columns="_file"), origin, report, combined)
    listing = None
    if universe is not None:
        listing, report.defaults = read_universe(universe)

    with StoreLock(out, purpose="technic data import", timeout=lock_timeout) as lock:
        # (a format-2 store there is refused by Store with the advice to rebuild it: never overwritten)
        base = Store(out) if is_store(out) or (out / "meta.json").exists() else None
        stored = base.long() if base is not None else rows.iloc[:0]
        unreadable = dict(stored.attrs.get("errors", {})) if base is not None else {}
        if len(stored):
            stored = stored.assign(symbol=stored["symbol"].astype(str))
        held = set(pd.unique(stored["symbol"])) if len(stored) else set()
        incoming = list(pd.unique(rows["symbol"])) if len(rows) else []

        # a stored symbol that cannot be read is never merged (nor dropped): it stays as it is
        coming = set(incoming)
        for s in unreadable:
            why = f"its stored bars cannot be read ({unreadable[s]}): kept as it is"
            if s in coming:
                why += ", the new bars not merged; fix or remove its file and import again"
            report.skipped.append((str(base.bar_file(s)), s, why))
        rows = rows[~rows["symbol"].isin(set(unreadable))] if unreadable else rows
        update = [s for s in incoming if s in held]
        fresh = [s for s in incoming if s not in held and s not in unreadable]
        merged = (
            _merge(
                stored[stored["symbol"].isin(set(update))],
                rows[rows["symbol"].isin(set(update))],
                report,
            )
            if update
            else rows.iloc[:0]
        )
        cand = pd.concat([merged, rows[rows["symbol"].isin(set(fresh))]], ignore_index=True)[
            COLUMNS
        ]
        reasons = check_long(cand)
        for s, why in reasons.items():
            report.skipped.append(
                (
                    origin[s][0],
                    s,
                    why
                    if s not in held
                    else f"{why} (after merging with the stored bars, which are kept as they were)",
                )
            )
        if reasons:
            cand = cand[~cand["symbol"].isin(set(reasons))]
            report.appended = {s: n for s, n in report.appended.items() if s not in reasons}
            report.corrections = [c for c in report.corrections if c["symbol"] not in reasons]
        accepted = list(pd.unique(cand["symbol"])) if len(cand) else []
        if not accepted and base is not None:  # the store stays as it is; the report says why
            report.version = base.version
            log(report.summary())
            return report
        if not accepted:
            raise StoreError(
                "nothing to import: "
                + "; ".join(f"{Path(f).name} {s}: {r}" for f, s, r in report.skipped[:5])
                if report.skipped
                else "nothing to import: no bars in the input"
            )
        changed = (
            set(report.appended)
            | {c["symbol"] for c in report.corrections}
            | (set(accepted) - held)
        )

        # the universe: what was listed, updated by a listing file; new symbols get defaults
        uni = base.universe() if base is not None else pd.DataFrame(columns=list(UNIVERSE_COLUMNS))
        if listing is not None:
            uni = pd.concat(
                [uni[~uni["symbol"].isin(set(listing["symbol"]))], listing[list(UNIVERSE_COLUMNS)]],
                ignore_index=True,
            )
        have = held | set(unreadable) | set(accepted)
        report.unlisted = sorted(set(uni["symbol"]) - have)  # never listed without bars
        # stored symbols in their universe order (then any the universe missed), then new ones
        ranked = {s: k for k, s in enumerate(uni["symbol"])}
        before = list(base.index().index) if base is not None else []
        order = sorted(before, key=lambda s: ranked.get(s, len(ranked)))
        order += [s for s in accepted if s not in held]
        listed = set(uni["symbol"])
        missing = [s for s in order if s not in listed]
        if missing:
            extra, counts = complete_universe(pd.DataFrame({"symbol": missing}))
            uni = pd.concat([uni, extra[list(UNIVERSE_COLUMNS)]], ignore_index=True)
            for k, v in counts.items():
                report.defaults[k] = report.defaults.get(k, 0) + v
        uni = uni.set_index("symbol", drop=False).loc[order].reset_index(drop=True)

        # the store after the import: unchanged symbols as stored, changed ones merged
        keep = stored[stored["symbol"].isin(held - changed)]
        final = pd.concat([keep[COLUMNS], cand[cand["symbol"].isin(changed)]], ignore_index=True)
        code = pd.Categorical(final["symbol"], categories=[s for s in order if s not in unreadable])
        final = final.iloc[np.lexsort((np.arange(len(final)), code.codes))].reset_index(drop=True)
        freq = frequencies(final) if len(final) else pd.Series(dtype=object)
        sizes = final["symbol"].value_counts(sort=False)
        for s in accepted:
            report.imported[s] = int(sizes.get(s, 0))
            report.frequencies[s] = str(freq.get(s, "daily"))
        old_freq = dict(base.meta.get("symbol_frequencies", {})) if base is not None else {}
        all_freq = {
            **{s: "daily" for s in unreadable},
            **{s: old_freq[s] for s in unreadable if s in old_freq},
            **freq.to_dict(),
        }
        kinds = sorted(set(all_freq.values()))
        overall = (
            kinds[0]
            if len(kinds) == 1
            else "mixed ("
            + ", ".join(
                f"{k}: {', '.join(s for s, f in all_freq.items() if f == k)[:60]}" for k in kinds
            )
            + ")"
        )
        meta = {
            "generator": "technic import",
            "frequency": overall,
            "session_timezone": session_tz,
            "symbol_frequencies": {s: f for s, f in all_freq.items() if f != "daily"},
        }

        same_uni = base is not None and base.universe().reset_index(drop=True).equals(
            uni.reset_index(drop=True)
        )
        same_meta = base is not None and all(base.meta.get(k) == v for k, v in meta.items())
        if base is not None and not changed and same_uni and same_meta:
            report.version = base.version
            log(report.summary())
            return report
        carry = base.index().loc[list(unreadable)] if unreadable else None
        write_store(out, uni[list(UNIVERSE_COLUMNS)], final, meta, carry=carry, lock=lock)
        report.version = Store(out).version
        report.committed = True
        if report.corrections:
            log_path = out / "corrections.json"
            try:
                history = json.loads(log_path.read_text()) if log_path.is_file() else []
            except ValueError:
                history = []
            history.append(
                {
                    "imported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "store_version": report.version,
                    "corrections": report.corrections,
                }
            )
            tmp = log_path.with_name(".tmp-corrections.json")
            tmp.write_text(json.dumps(history, indent=1))
            tmp.replace(log_path)
    log(report.summary())
    return report
