"""Vendor bar files and listing files, read into the store's long layout.

Bars: CSV or Parquet, one symbol per file (the symbol from the file name) or
many (a ``symbol``/``ticker`` column); columns in any case and order; the date
in ``date``/``datetime``/``timestamp``/``time`` or an unnamed first column;
volume as integers or floats.  ``Adj Close`` is ignored by default: SPEC's (docs/scan.md)
bars are split-adjusted OHLC, and a vendor's adjusted close also folds in
dividends, which would change a bar's shape if applied to the close alone.
``adjusted=True`` instead scales open, high, low and close by
``adj_close / close`` bar by bar, keeping each bar's shape.

Dates: a timestamp with a UTC offset or ``Z`` (or a time-zone-aware Parquet
column) is converted to the exchange's local time (``session_tz``,
America/New_York by default: a US daily store); a naive one is taken as
exchange-local already.  A symbol whose bars are daily is then stored at its
session date (midnight), so ``2026-10-01``, ``2026-10-01 16:00`` and
``2026-10-01T20:00:00Z`` are one session; one session given twice in
different forms is that symbol's error, never two bars.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .schema import BAR_FIELDS

SESSION_TZ = "America/New_York"
DATE_NAMES = ("date", "datetime", "timestamp", "time")
SYMBOL_NAMES = ("symbol", "ticker")
ADJ_NAMES = ("adj close", "adj_close", "adjclose", "adjusted close", "adjusted_close")
LEVERAGED = re.compile(r"\b(?:\d(?:\.\d)?x|ultra|ultrapro|leveraged|inverse|bear|bull)\b", re.I)


class FileProblem(Exception):
    """A whole file cannot be read as bars; the message names the file and why."""


def _read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if path.suffix.lower() in (".csv", ".txt"):
            return pd.read_csv(path)
    except Exception as exc:  # every reader error means the same: unreadable
        raise FileProblem(f"{path}: unreadable ({type(exc).__name__}: {exc})") from None
    raise FileProblem(f"{path}: unknown file type {path.suffix!r} (use .csv or .parquet)")


def _parse_text_dates(text: pd.Series) -> pd.Series:
    """Naive timestamps from text: ISO first (fast), then pandas' own inference, then value by value."""
    out = pd.to_datetime(text, errors="coerce", format="ISO8601")
    bad = out.isna() & text.notna() & (text != "")
    if bad.any():
        out[bad] = pd.to_datetime(text[bad], errors="coerce")
        bad = out.isna() & text.notna() & (text != "")
        if bad.any():
            out[bad] = pd.to_datetime(text[bad], errors="coerce", format="mixed")
    return out


def exchange_times(col: pd.Series, session_tz: str = SESSION_TZ) -> pd.Series:
    """Timestamps as the exchange's naive local time (see the module docstring)."""
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return col.dt.tz_convert(session_tz).dt.tz_localize(None).astype("datetime64[ns]")
    if pd.api.types.is_datetime64_dtype(col):
        return col.astype("datetime64[ns]")
    if pd.api.types.is_numeric_dtype(col):
        return pd.to_datetime(col, errors="coerce").astype("datetime64[ns]")
    text = col.astype("string").str.strip()
    aware = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True, na=False).to_numpy(bool)
    out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
    if (~aware).any():
        out[~aware] = _parse_text_dates(text[~aware]).astype("datetime64[ns]")
    if aware.any():
        utc = pd.to_datetime(text[aware], errors="coerce", utc=True, format="ISO8601")
        out[aware] = utc.dt.tz_convert(session_tz).dt.tz_localize(None).astype("datetime64[ns]")
    return out


def frequencies(long: pd.DataFrame) -> pd.Series:
    """Each symbol's frequency (daily, intraday, weekly, monthly) from the median spacing of its
    distinct dates; one vectorised pass over a long frame (symbol, date)."""
    d = long[["symbol", "date"]].dropna().drop_duplicates()
    d = d.sort_values(["symbol", "date"], kind="stable")
    step = d["date"].diff()
    step[d["symbol"].ne(d["symbol"].shift())] = pd.NaT
    med = step.groupby(d["symbol"], observed=True).median()
    labels = pd.Series(
        "daily", index=pd.Index(pd.unique(long["symbol"]), dtype=object), dtype=object
    )
    med = med.reindex(labels.index)
    labels[med < pd.Timedelta(hours=20)] = "intraday"
    labels[med > pd.Timedelta(days=4)] = "weekly"
    labels[med > pd.Timedelta(days=10)] = "monthly"
    return labels


def read_bars(
    path: Path | str, adjusted: bool = False, session_tz: str = SESSION_TZ
) -> pd.DataFrame:
    """A long frame (symbol, date, OHLCV) in the file's own row order.

    ``frame.attrs['blank_rows']``: data rows (from 1) whose symbol cell is
    empty (their ``symbol`` is ""); ``frame.attrs['problems']``: symbol ->
    why its rows of this file cannot be used (one session given twice).
    """
    path = Path(path)
    return normalize_bars(_read_table(path), str(path), path.stem, adjusted, session_tz)


def normalize_bars(
    raw: pd.DataFrame,
    where: str,
    default_symbol: str | None = None,
    adjusted: bool = False,
    session_tz: str = SESSION_TZ,
) -> pd.DataFrame:
    """A vendor table (a file's, or a frame in memory) as the long layout ``read_bars`` returns.

    ``where`` names the input in errors; ``default_symbol`` is the symbol of a
    table without a symbol column (a file's name); without either, FileProblem.
    """
    if raw.index.name is not None or not isinstance(raw.index, pd.RangeIndex):
        if raw.index.name is None and isinstance(raw.index, pd.DatetimeIndex):
            raw = raw.rename_axis("date")  # a frame's unnamed date index
        raw = raw.reset_index()
    cols = {str(c).strip().lower(): c for c in raw.columns}
    date_col = next((cols[n] for n in DATE_NAMES if n in cols), None)
    if date_col is None:
        first = raw.columns[0] if len(raw.columns) else None
        if first is not None and (str(first) == "" or str(first).startswith("Unnamed")):
            date_col = first
    missing = [f for f in BAR_FIELDS if f not in cols]
    if date_col is None:
        missing.insert(0, "date")
    if missing:
        raise FileProblem(f"{where}: missing columns: {', '.join(missing)}")
    out = pd.DataFrame({"date": exchange_times(raw[date_col], session_tz)})
    for f in BAR_FIELDS:
        out[f] = pd.to_numeric(raw[cols[f]], errors="coerce").astype(np.float64)
    adj = next((cols[n] for n in ADJ_NAMES if n in cols), None)
    if adjusted and adj is not None:
        ratio = pd.to_numeric(raw[adj], errors="coerce").to_numpy() / out["close"].to_numpy()
        for f in ("open", "high", "low", "close"):
            out[f] = out[f] * ratio
    sym_col = next((cols[n] for n in SYMBOL_NAMES if n in cols), None)
    if sym_col is not None:
        sym = raw[sym_col].astype("string").str.strip().str.upper().fillna("")
        out.insert(0, "symbol", sym.astype(object).to_numpy())
    elif default_symbol is not None:
        out.insert(0, "symbol", str(default_symbol).strip().upper())
    else:
        raise FileProblem(f"{where}: missing columns: symbol (or ticker)")
    blank = np.flatnonzero(out["symbol"].to_numpy() == "")
    out.attrs["blank_rows"] = (blank + 1).tolist()
    out.attrs["problems"] = _daily_sessions(out, raw[date_col])
    return out


def _daily_sessions(out: pd.DataFrame, raw_dates: pd.Series) -> dict[str, str]:
    """Move daily symbols' bars to their session date (in place); name those that give one twice."""
    if not len(out):
        return {}
    freq = frequencies(out)
    daily = out["symbol"].map(freq).eq("daily").to_numpy() & out["date"].notna().to_numpy()
    if not daily.any():
        return {}
    sessions = out.loc[daily, "date"].dt.normalize()
    if (sessions == out.loc[daily, "date"]).all():
        return {}  # every bar already at its session date: one form per session
    sub = pd.DataFrame(
        {"symbol": out.loc[daily, "symbol"], "session": sessions, "date": out.loc[daily, "date"]}
    )
    forms = sub.groupby(["symbol", "session"], sort=False)["date"].transform("nunique")
    problems: dict[str, str] = {}
    for i in np.flatnonzero(forms.to_numpy() > 1):
        sym = sub["symbol"].iat[i]
        if sym in problems:
            continue
        day = sub["session"].iat[i]
        same = sub.index[(sub["symbol"] == sym).to_numpy() & (sub["session"] == day).to_numpy()]
        texts = list(dict.fromkeys(str(raw_dates.loc[j]) for j in same))[:3]
        problems[sym] = (
            f"session {day.date()} given twice, in different forms ({' and '.join(map(repr, texts))}): "
            "which bar is it?"
        )
    out.loc[daily, "date"] = sessions
    return problems


def detect_frequency(dates: pd.Series) -> str:
    """daily, intraday, weekly or monthly, from the median spacing of the dates."""
    d = pd.to_datetime(dates).dropna().sort_values().drop_duplicates()
    if len(d) < 2:
        return "daily"
    step = d.diff().dropna().median()
    if step < pd.Timedelta(hours=20):
        return "intraday"
    if step <= pd.Timedelta(days=4):
        return "daily"
    if step <= pd.Timedelta(days=10):
        return "weekly"
    return "monthly"


def read_universe(path: Path | str) -> tuple[pd.DataFrame, dict[str, int]]:
    """A universe table from SPEC's columns or an exchange listing; plus default counts."""
    path = Path(path)
    first_line = ""
    if path.suffix.lower() != ".parquet":
        with open(path, errors="replace") as fh:
            first_line = fh.readline()
    if "|" in first_line:
        raw = pd.read_csv(path, sep="|", dtype=str)
        raw = raw[~raw.iloc[:, 0].astype(str).str.startswith("File Creation Time")]
        cols = {c.strip().lower(): c for c in raw.columns}
        sym = cols.get("symbol") or cols.get("act symbol") or cols.get("nasdaq symbol")
        if sym is None:
            raise FileProblem(f"{path}: a listing file needs a Symbol column")
        if "test issue" in cols:
            raw = raw[raw[cols["test issue"]].astype(str).str.upper() != "Y"]
        df = pd.DataFrame({"symbol": raw[sym].astype(str).str.strip()})
        if "security name" in cols:
            df["name"] = raw[cols["security name"]].astype(str).to_numpy()
        if "etf" in cols:
            df["is_etf"] = (raw[cols["etf"]].astype(str).str.upper() == "Y").to_numpy()
    else:
        raw = _read_table(path)
        df = raw.rename(columns={c: str(c).strip().lower() for c in raw.columns})
        if "symbol" not in df and "ticker" in df:
            df = df.rename(columns={"ticker": "symbol"})
        if "symbol" not in df:
            raise FileProblem(f"{path}: a universe file needs a symbol column")
    return complete_universe(df)


def complete_universe(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Fill SPEC's columns a source lacks with documented defaults; count each default."""
    df = df.copy()
    n = len(df)
    counts: dict[str, int] = {}

    def default(col, value):
        if col not in df:
            df[col] = value
            counts[col] = n
        else:
            miss = df[col].isna()
            if miss.any():
                df.loc[miss, col] = value
                counts[col] = int(miss.sum())

    if "name" not in df:
        df["name"] = df["symbol"]
        counts["name"] = n
    default("sector", "Unknown")
    default("industry", "Unknown")
    if "market_cap" not in df:
        df["market_cap"] = np.nan
        counts["market_cap (unknown)"] = n
    default("is_etf", False)
    if "is_leveraged" not in df:
        df["is_leveraged"] = df["name"].astype(str).str.contains(LEVERAGED)
        counts["is_leveraged (from name)"] = n
    df["market_cap"] = pd.to_numeric(df["market_cap"], errors="coerce").astype(np.float64)
    df["is_etf"] = df["is_etf"].astype(bool)
    df["is_leveraged"] = df["is_leveraged"].astype(bool)
    df["symbol"] = df["symbol"].astype(str).str.strip().str.upper()
    df = df.drop_duplicates("symbol", keep="last").reset_index(drop=True)
    return df, counts
