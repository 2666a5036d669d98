"""Issue 14, items 3, 4, 7, 8 and 11: what an import does with awkward input.

An import is all-or-nothing per symbol: a symbol with any problem is skipped
and reported with its file and reason, its stored bars (if any) untouched,
and every other symbol imported.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from technic_core.cli import main
from technic_core.universe import Store
from technic_core.universe.importer import import_store

from ..helpers import make_store
from .helpers import long_frame, rows, same_rows, vendor_csv, write_csvs

QUIET = {"log": lambda *_: None}


def skipped(report) -> dict[str, tuple[str, str]]:
    return {s: (os.path.basename(f), r) for f, s, r in report.skipped}


BAD_NAMES = {
    "../../x": "'/'",
    ".hidden": "starts with '.'",
    "a\\b": "'\\\\'",
    "X" * 300: "300 characters",
}


def test_bad_symbol_names_are_reported_and_the_rest_imported(tmp_path):
    """Item 3: one bad name (../../x, .HIDDEN, a backslash, 300 characters) aborted the whole
    import after the universe had been rewritten, or gave an OSError traceback."""
    root = make_store(tmp_path / "store", 10, 270, seed=2)
    before = rows(root)
    long, syms = long_frame(6, 270, seed=31)
    names = ["GOODA", "GOODB", *BAD_NAMES]
    long = long.assign(symbol=long["symbol"].map(dict(zip(syms, names))))
    path = vendor_csv(long, tmp_path / "in" / "long.csv", symbol_column=True)
    report = import_store([str(path)], root, **QUIET)
    skip = skipped(report)
    for name, why in BAD_NAMES.items():
        sym = name.upper()
        assert sym in skip, (sym, skip)
        assert skip[sym][0] == "long.csv" and why in skip[sym][1], skip[sym]
    after = rows(root)
    same_rows(after[after["symbol"].isin(before["symbol"].unique())], before)
    same_rows(
        after[after["symbol"].isin(["GOODA", "GOODB"])],
        long[long["symbol"].isin(["GOODA", "GOODB"])],
    )
    assert set(Store(root).universe()["symbol"]) == set(after["symbol"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in",
        "store",
    ]  # nothing escaped the store


def test_a_300_character_name_through_the_cli_is_no_traceback(tmp_path, capsys):
    long, _ = long_frame(2, 260, seed=32)
    long = long.assign(symbol=np.where(long["symbol"] == long["symbol"].iloc[0], "Y" * 300, "OKAY"))
    path = vendor_csv(long, tmp_path / "long.csv", symbol_column=True)
    assert main(["data", "import", "--bars", str(path), "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "skipped " + "Y" * 300 in out and "300 characters" in out
    assert list(Store(tmp_path / "s").universe()["symbol"]) == ["OKAY"]


def test_two_files_for_one_symbol_that_disagree_are_reported(tmp_path):
    """Item 4: AAA.csv and aaa.csv: the last one won, without a word."""
    long, syms = long_frame(2, 280, seed=33)
    a = long[long["symbol"] == syms[0]].reset_index(drop=True)
    other = long[long["symbol"] == syms[1]].assign(symbol="BBB")
    vendor_csv(a.iloc[:200], tmp_path / "in" / "AAA.csv")
    b = a.iloc[150:].copy()
    b.loc[b.index[10], ["close", "high"]] = (
        b.loc[b.index[10], "high"] * 1.1
    )  # disagrees on one session
    vendor_csv(b, tmp_path / "in" / "aaa.csv")
    vendor_csv(other, tmp_path / "in" / "BBB.csv")
    report = import_store([str(tmp_path / "in")], tmp_path / "s", **QUIET)
    why = skipped(report)["AAA"][1]
    assert "AAA.csv" in why and "aaa.csv" in why and str(b["date"].iloc[10].date()) in why, why
    assert set(Store(tmp_path / "s").universe()["symbol"]) == {"BBB"}


def test_two_files_for_one_symbol_that_agree_are_combined_and_said_so(tmp_path):
    long, syms = long_frame(1, 280, seed=34)
    a = long.assign(symbol="AAA").reset_index(drop=True)
    vendor_csv(a.iloc[:200], tmp_path / "in" / "AAA.csv")
    vendor_csv(a.iloc[150:], tmp_path / "in" / "aaa.csv")  # overlapping rows are identical
    report = import_store([str(tmp_path / "in")], tmp_path / "s", **QUIET)
    notes = {s: r for _, s, r in report.repaired}
    assert "AAA.csv" in notes["AAA"] and "aaa.csv" in notes["AAA"], report.repaired
    same_rows(rows(tmp_path / "s"), a)


def test_empty_symbol_cells_are_reported(tmp_path):
    """Item 4: rows of a long file with an empty symbol cell went without a word."""
    long, syms = long_frame(2, 270, seed=35)
    path = tmp_path / "long.csv"
    vendor_csv(long, path, symbol_column=True)
    text = path.read_text().splitlines()
    for k in (5, 300):  # blank the symbol of two data rows
        text[k] = "," + text[k].split(",", 1)[1]
    path.write_text("\n".join(text) + "\n")
    report = import_store([str(path)], tmp_path / "s", **QUIET)
    blank = [r for f, s, r in report.skipped if s == "" and f.endswith("long.csv")]
    assert blank and "2 row(s) with an empty symbol (data rows 5, 300)" in blank[0], report.skipped
    assert set(Store(tmp_path / "s").universe()["symbol"]) == set(syms)  # no symbol "NAN"


def _dates_with_offset(df: pd.DataFrame, clock: str) -> pd.Series:
    """Dates as a vendor with time zones writes them: New York time with its UTC offset."""
    ny = pd.to_datetime(df["date"]).dt.tz_localize("America/New_York") + pd.Timedelta(clock)
    return ny.map(lambda t: t.isoformat())


@pytest.mark.parametrize("clock", ["0h", "16h"])
def test_timezone_aware_dates_land_on_their_session(tmp_path, clock):
    """Item 7: a later import with -04:00 dates added second bars at 04:00 beside the 00:00
    ones (75 bars for 70 sessions), and the scan accepted them."""
    long, syms = long_frame(1, 75, seed=36)
    a = long.assign(symbol="TZA").reset_index(drop=True)
    vendor_csv(a.iloc[:70], tmp_path / "first" / "TZA.csv")
    import_store([str(tmp_path / "first")], tmp_path / "s", **QUIET)
    second = vendor_csv(a, tmp_path / "second" / "TZA.csv")
    frame = pd.read_csv(second)
    frame["Date"] = _dates_with_offset(a, clock)
    frame.to_csv(second, index=False)
    report = import_store([str(tmp_path / "second")], tmp_path / "s", **QUIET)
    assert report.corrections == [] and report.appended == {"TZA": 5}
    got = Store(tmp_path / "s").bars("TZA")
    assert len(got) == 75
    np.testing.assert_array_equal(got["date"].to_numpy(), pd.to_datetime(a["date"]).to_numpy())


def test_utc_timestamps_of_a_us_close_are_its_new_york_session(tmp_path):
    long, _ = long_frame(1, 60, seed=37)
    a = long.assign(symbol="UTC").reset_index(drop=True)
    path = vendor_csv(a, tmp_path / "in" / "UTC.csv")
    frame = pd.read_csv(path)
    # 16:00 in New York is 20:00 or 21:00 UTC: still the New York session's date
    ny = pd.to_datetime(a["date"]).dt.tz_localize("America/New_York") + pd.Timedelta("16h")
    frame["Date"] = ny.dt.tz_convert("UTC").map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    frame.to_csv(path, index=False)
    import_store([str(path)], tmp_path / "s", **QUIET)
    got = Store(tmp_path / "s").bars("UTC")
    np.testing.assert_array_equal(got["date"].to_numpy(), pd.to_datetime(a["date"]).to_numpy())
    assert Store(tmp_path / "s").meta["session_timezone"] == "America/New_York"


def test_mixed_representations_of_one_session_are_an_error(tmp_path):
    long, _ = long_frame(1, 60, seed=38)
    a = long.assign(symbol="MIX").reset_index(drop=True)
    path = vendor_csv(a, tmp_path / "in" / "MIX.csv")
    frame = pd.read_csv(path)
    extra = frame.iloc[[30]].copy()
    extra["Date"] = _dates_with_offset(a.iloc[[30]], "16h").to_numpy()
    pd.concat([frame, extra]).to_csv(path, index=False)
    vendor_csv(long.assign(symbol="OKAY"), tmp_path / "in" / "OKAY.csv")
    report = import_store([str(tmp_path / "in")], tmp_path / "s", **QUIET)
    why = skipped(report)["MIX"][1]
    day = str(pd.Timestamp(a["date"].iloc[30]).date())
    assert day in why and "twice" in why, why
    assert set(Store(tmp_path / "s").universe()["symbol"]) == {"OKAY"}


def test_a_one_bar_feed_appends_to_the_stored_history(tmp_path):
    """Item 8: a daily feed file with just today's bar was refused ("too short a history:
    1 bar") although the store held the history."""
    long, syms = long_frame(4, 271, seed=39)
    syms = [s for s in syms if (long["symbol"] == s).sum() == 271][:2]  # full histories
    long = long[long["symbol"].isin(syms)]
    hist = long.groupby("symbol").head(270)
    today = long.groupby("symbol").tail(1)
    write_csvs(tmp_path / "hist", hist, syms)
    import_store([str(tmp_path / "hist")], tmp_path / "s", **QUIET)
    write_csvs(tmp_path / "today", today, syms)
    report = import_store([str(tmp_path / "today")], tmp_path / "s", **QUIET)
    assert report.skipped == [] and report.appended == {s: 1 for s in syms}
    same_rows(rows(tmp_path / "s"), long)
    # a one-bar file for a symbol the store does not hold is still too short
    vendor_csv(today.iloc[:1].assign(symbol="LONE"), tmp_path / "lone" / "LONE.csv")
    report = import_store([str(tmp_path / "lone")], tmp_path / "s", **QUIET)
    assert "too short a history: 1 bar" in skipped(report)["LONE"][1]


def test_reimporting_the_same_files_rewrites_nothing(tmp_path):
    """Item 11: re-importing a file onto its own store cost 28x a fresh import; unchanged
    symbols must cost nothing: no file of theirs is rewritten."""
    long, syms = long_frame(12, 270, seed=40)
    src = write_csvs(tmp_path / "in", long, syms)
    import_store([str(src)], tmp_path / "s", **QUIET)
    bars_dir = tmp_path / "s" / "bars"
    stamp = {p.name: p.stat().st_mtime_ns for p in bars_dir.iterdir()}
    version = Store(tmp_path / "s").version
    report = import_store([str(src)], tmp_path / "s", **QUIET)
    assert report.corrections == [] and report.appended == {}
    assert {p.name: p.stat().st_mtime_ns for p in bars_dir.iterdir()} == stamp
    assert Store(tmp_path / "s").version == version  # nothing changed: no new version
    same_rows(rows(tmp_path / "s"), long)
