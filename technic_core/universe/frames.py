"""Bars from frames in memory, checked as ``technic data import`` checks files.

A long frame (``symbol``, ``date``, OHLCV; columns in any case, ``ticker``
for ``symbol``, the date in a column or the index), a dict of per-symbol
frames (the key is the symbol), or polars frames of either shape go through
the importer's own steps: the vendor-table reading of ``readers``
(``normalize_bars``: dates to exchange-local sessions, ``Adj Close``
ignored unless ``adjusted``), the store's symbol-name rule, its only repairs
(rows sorted by date, exact duplicate rows dropped: ``importer._repair``) and
the scan's bad-data rules (``validate.check_long``).  Each symbol's reason is
the importer's, word for word.

Nothing is written: the result is the checked long frame, each bad symbol's
reason and the repairs made, for an in-memory ``Source`` or a ``Panel``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from .importer import COLUMNS, ImportReport, _repair
from .readers import SESSION_TZ, FileProblem, frequencies, normalize_bars
from .schema import symbol_name_problem
from .validate import check_long


@dataclass
class CheckedBars:
    """Checked bars of frames in memory (``check_frames``)."""

    long: pd.DataFrame  # symbol, date, OHLCV: each symbol's rows together, sorted by date
    errors: dict[str, str]  # symbol -> why its bars cannot be used (the importer's words)
    dropped: set[str]  # symbols whose rows are not in ``long`` (not even bad bars to show)
    repaired: list[tuple[str, str]] = field(default_factory=list)  # (symbol, repair made)
    frequencies: dict[str, str] = field(default_factory=dict)  # symbol -> daily, intraday...
    notes: list[str] = field(default_factory=list)  # problems of no one symbol

    @property
    def symbols(self) -> list[str]:
        """Every symbol given, in order of first appearance (bad ones included)."""
        seen = dict.fromkeys(pd.unique(self.long["symbol"]).tolist() if len(self.long) else [])
        seen.update(dict.fromkeys(sorted(self.dropped)))
        return [str(s) for s in seen]

    def usable(self) -> pd.DataFrame:
        """``long`` without the rows of symbols that have an error."""
        if not self.errors:
            return self.long
        return self.long[~self.long["symbol"].isin(set(self.errors))].reset_index(drop=True)

    @property
    def frequency(self) -> str:
        """ "daily" when every usable symbol is daily, else what is mixed (as the store records it)."""
        kinds = sorted({f for s, f in self.frequencies.items() if s not in self.errors}) or [
            "daily"
        ]
        if len(kinds) == 1:
            return kinds[0]
        return (
            "mixed ("
            + ", ".join(
                f"{k}: {', '.join(s for s, f in self.frequencies.items() if f == k)[:60]}"
                for k in kinds
            )
            + ")"
        )


def _is_polars(obj) -> bool:
    return type(obj).__module__.split(".")[0] == "polars"


def _pandas(obj):
    return obj.to_pandas() if _is_polars(obj) else obj


def check_frames(data, *, adjusted: bool = False, session_tz: str = SESSION_TZ) -> CheckedBars:
    """Checked bars from a long frame or a dict of per-symbol frames (pandas or polars).

    Raises ``ValueError`` only when the input as a whole cannot be read (a
    long frame without a date or price column, or not a frame at all); a bad
    symbol is that symbol's error.
    """
    errors: dict[str, str] = {}
    notes: list[str] = []
    parts: list[pd.DataFrame] = []
    if isinstance(data, Mapping):
        for key, frame in data.items():
            sym = str(key).strip().upper()
            frame = _pandas(frame)
            if not isinstance(frame, pd.DataFrame):
                errors[sym] = f"not a frame of bars ({type(frame).__name__})"
                continue
            try:
                part = normalize_bars(frame, f"frame {key!r}", sym, adjusted, session_tz)
            except FileProblem as exc:
                errors[sym] = str(exc).split(": ", 1)[-1]
                continue
            if len(part) == 0:
                errors[sym] = "no bars (empty frame)"
                continue
            parts.append(part)
    else:
        frame = _pandas(data)
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(
                f"bars must be a long DataFrame (symbol, date, OHLCV) or a dict of "
                f"per-symbol frames, not {type(data).__name__}"
            )
        try:
            parts.append(normalize_bars(frame, "the long frame", None, adjusted, session_tz))
        except FileProblem as exc:
            raise ValueError(
                f"{exc}; a long frame needs symbol, date, open, high, low, close and "
                "volume columns (or give a dict of per-symbol frames)"
            ) from None
    for part in parts:
        blank = part.attrs.get("blank_rows", [])
        if blank:
            notes.append(f"{len(blank)} row(s) with an empty symbol (rows {blank[:5]}): left out")
        for sym, why in part.attrs.get("problems", {}).items():
            errors.setdefault(sym, why)
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
    rows = rows[rows["symbol"] != ""]
    for sym in pd.unique(rows["symbol"]):
        why = symbol_name_problem(sym)
        if why:
            errors.setdefault(sym, f"symbol name cannot be stored: {why}")
    # symbols the importer would not even read past keep no rows; bad bars are kept to be shown
    dropped = set(errors)
    rows = rows[~rows["symbol"].isin(dropped)][COLUMNS].reset_index(drop=True)
    report = ImportReport()
    rows = _repair(rows, {s: ["memory"] for s in pd.unique(rows["symbol"])}, report, set())
    for s, why in check_long(rows).items():
        errors.setdefault(s, why)
    freq = frequencies(rows) if len(rows) else pd.Series(dtype=object)
    return CheckedBars(
        rows,
        errors,
        dropped,
        [(s, r) for _, s, r in report.repaired],
        {str(k): str(v) for k, v in freq.items()},
        notes,
    )
