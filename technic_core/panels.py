"""Validated panels from frames: the bars checked as the importer checks them, laid out by date.

``panel_from_long(long)`` takes a long frame (symbol, date, OHLCV) or a dict
of per-symbol frames; ``panel_from_frames(open=..., high=..., ...)`` takes
wide frames per field (dates x symbols).  Both run the importer's checks
(``universe.frames.check_frames``: the same reasons, word for word), then lay
the usable symbols out on the union of their dates and build an
``indicators.Panel`` of pandas frames: every indicator called with it gives
back frames on those dates and symbols.

A panel is aligned by date, so a symbol's series must run without a gap to
the last date: a symbol missing a session inside its history (or ending
early) is an error naming it and the first missing date.  Symbols with an
error raise ``PanelInputError`` listing them (``errors="skip"`` leaves them
out instead; ``panel.errors`` then holds their reasons).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from .indicators import IndicatorInputError, Panel
from .universe.frames import CheckedBars, check_frames
from .universe.readers import SESSION_TZ
from .universe.schema import BAR_FIELDS


class PanelInputError(IndicatorInputError):
    """Symbols whose bars cannot go into a panel; ``errors`` maps each to its reason."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        shown = "; ".join(f"{s}: {r}" for s, r in list(self.errors.items())[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(
            f"{len(self.errors)} symbol(s) cannot go into the panel: {shown}{more}; "
            "errors='skip' leaves them out (their reasons in panel.errors)"
        )


class FramePanel(Panel):
    """A Panel of pandas frames built by ``panel_from_long``/``panel_from_frames``."""

    __slots__ = ("errors", "repaired", "frames")

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f"; {len(self.errors)} symbol(s) left out)"


def _gaps(wide_close: pd.DataFrame) -> dict[str, str]:
    """Symbols with a missing date after their first one (the panel allows leading NaNs only)."""
    a = wide_close.to_numpy()
    nan = np.isnan(a)
    started = np.maximum.accumulate(~nan, axis=0)
    hole = nan & started
    out = {}
    for j in np.flatnonzero(hole.any(axis=0)):
        i = int(np.argmax(hole[:, j]))
        day = wide_close.index[i]
        ended = not (~nan[i:, j]).any()
        out[str(wide_close.columns[j])] = (
            f"no bar on {day.date()} {'or after (its series ends before the others)' if ended else ''}".rstrip()
            + " while other symbols have one; a panel aligns symbols by date"
        )
    return out


def _build(checked: CheckedBars, errors: str) -> FramePanel:
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors must be 'raise' or 'skip', not {errors!r}")
    bad = dict(checked.errors)
    if checked.frequency != "daily":
        raise IndicatorInputError(
            f"the frames hold {checked.frequency} bars; a panel of daily bars "
            "is what the importer accepts"
        )
    long = checked.usable()
    wide = (
        {f: long.pivot(index="date", columns="symbol", values=f) for f in BAR_FIELDS}
        if len(long)
        else {}
    )
    if wide:
        order = [s for s in pd.unique(long["symbol"])]
        wide = {f: w.reindex(columns=order) for f, w in wide.items()}
        bad.update(_gaps(wide["close"]))
    if bad and errors == "raise":
        raise PanelInputError(bad)
    keep = [s for s in (wide["close"].columns if wide else []) if s not in bad]
    if not keep:
        raise PanelInputError(bad or {"-": "no bars in the frames"})
    frames = {}
    for f, w in wide.items():
        w = w[keep]
        w.columns = pd.Index([str(c) for c in w.columns], name="symbol")
        w.index.name = "date"
        frames[f] = w
    panel = FramePanel.__new__(FramePanel)
    Panel.__init__(panel, **frames)
    panel.errors = bad
    panel.repaired = list(checked.repaired)
    panel.frames = frames
    return panel


def panel_from_long(
    bars: pd.DataFrame | Mapping[str, pd.DataFrame],
    *,
    errors: Literal["raise", "skip"] = "raise",
    adjusted: bool = False,
    session_tz: str = SESSION_TZ,
) -> FramePanel:
    """A validated ``Panel`` of wide frames from a long frame or a dict of per-symbol frames.

    Parameters
    ----------
    bars : DataFrame or dict of DataFrame (pandas or polars)
        A long frame (``symbol``, ``date``, ``open``, ``high``, ``low``,
        ``close``, ``volume``; any case, ``ticker`` for ``symbol``) or one
        frame per symbol (the key is the symbol; the date a column or the index).
    errors : {"raise", "skip"}, default "raise"
        What a bad symbol does: raise ``PanelInputError`` naming every bad
        symbol with its reason, or leave it out (``panel.errors``).
    adjusted : bool, default False
        Scale open, high, low and close by ``adj_close / close`` (as ``technic
        data import --adjusted``); by default ``Adj Close`` is ignored.
    session_tz : str, default "America/New_York"
        Exchange time zone that time-zone-aware dates are converted to.

    Returns
    -------
    FramePanel
        An ``indicators.Panel`` of ``(dates, symbols)`` frames: indicators
        called with it return DataFrames on those dates and symbols.
        ``panel.frames`` holds the wide frames; ``panel.repaired`` the repairs
        made (rows sorted, exact duplicates dropped).
    """
    return _build(check_frames(bars, adjusted=adjusted, session_tz=session_tz), errors)


def panel_from_frames(
    *,
    open: pd.DataFrame | None = None,
    high: pd.DataFrame | None = None,  # noqa: A002
    low: pd.DataFrame | None = None,
    close: pd.DataFrame | None = None,
    volume: pd.DataFrame | None = None,
    errors: Literal["raise", "skip"] = "raise",
) -> FramePanel:
    """A validated ``Panel`` from wide frames per field (dates as the index, one column per symbol).

    All five fields are needed (the importer checks bars whole: high >= low,
    positive prices, volumes).  The frames must share their columns; rows of
    a symbol before its first bar are NaN in every field.  Checks, errors and
    the result as ``panel_from_long``.
    """
    given = {"open": open, "high": high, "low": low, "close": close, "volume": volume}
    missing = [f for f, v in given.items() if v is None]
    if missing:
        raise IndicatorInputError(
            f"panel_from_frames: give every field; missing {', '.join(missing)}"
        )
    given = {
        f: (v.to_pandas() if type(v).__module__.split(".")[0] == "polars" else v)
        for f, v in given.items()
    }
    cols = given["close"].columns
    for f, v in given.items():
        if not v.columns.equals(cols):
            raise IndicatorInputError(f"panel_from_frames: {f}'s columns differ from close's")
    t, n = given["close"].shape
    # symbol-major long rows: each symbol's dates in order (a frame's own column-major order)
    long = pd.DataFrame(
        {
            "symbol": np.repeat(np.asarray([str(c) for c in cols], dtype=object), t),
            "date": np.tile(given["close"].index.to_numpy(), n),
            **{f: v.to_numpy(np.float64).T.ravel() for f, v in given.items()},
        }
    )
    # a symbol's rows before its first bar (NaN in every field) are not bars
    long = long[long[list(BAR_FIELDS)].notna().any(axis=1).to_numpy()]
    return _build(check_frames(long.reset_index(drop=True)), errors)
