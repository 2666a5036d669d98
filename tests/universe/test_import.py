"""Real bars in: GOOG daily bars shipped by the `backtesting` package, in vendor layouts."""

import importlib.resources
import json

import numpy as np
import pandas as pd
import pytest
import talib

from technic_core import indicators as ind
from technic_core.scan import results_match, scan
from technic_core.universe import Store
from technic_core.universe.importer import import_store

DATA = importlib.resources.files("backtesting") / "test"


@pytest.fixture(scope="module")
def goog():
    df = pd.read_csv(DATA / "GOOG.csv")
    df = df.rename(columns={"Unnamed: 0": "Date"})
    df["Date"] = pd.to_datetime(df["Date"])
    return df


def _write_layouts(root, goog):
    """Four vendor layouts of real bars: the original file, renamed columns, Parquet, a long file."""
    root.mkdir()
    (root / "GOOG.csv").write_bytes((DATA / "GOOG.csv").read_bytes())  # unnamed first index column
    b = goog.iloc[:700].rename(columns=str.lower).rename(columns={"date": "Datetime"})
    b[["volume", "close", "Datetime", "open", "low", "high"]].to_csv(root / "GOOB.csv", index=False)
    c = goog.iloc[300:1100].rename(columns={"Date": "timestamp"})
    c["Adj Close"] = c["Close"] * 0.98
    c["Volume"] = c["Volume"].astype(float)
    c.to_parquet(root / "GOOC.parquet", index=False)
    d = pd.concat(
        [
            goog.iloc[1000:].assign(symbol="GOOD"),
            goog.iloc[500:1500].assign(symbol="GOOE", Close=goog["Close"].iloc[500:1500] * 1.0),
        ]
    )
    d.to_csv(root / "long_export.csv", index=False)
    return {
        "GOOG": goog,
        "GOOB": goog.iloc[:700],
        "GOOC": goog.iloc[300:1100],
        "GOOD": goog.iloc[1000:],
        "GOOE": goog.iloc[500:1500],
    }


@pytest.fixture(scope="module")
def imported(tmp_path_factory, goog):
    base = tmp_path_factory.mktemp("imp")
    sources = _write_layouts(base / "in", goog)
    report = import_store([str(base / "in")], base / "store", log=lambda *_: None)
    return base / "store", sources, report


def test_stored_bars_equal_the_source(imported):
    root, sources, report = imported
    assert set(report.imported) == set(sources)
    store = Store(root)
    for sym, src in sources.items():
        got = store.bars(sym)
        assert len(got) == len(src), sym
        np.testing.assert_array_equal(
            got["date"].to_numpy(), src["Date"].to_numpy().astype("datetime64[ms]")
        )
        for f in ("Open", "High", "Low", "Close", "Volume"):
            np.testing.assert_array_equal(
                got[f.lower()].to_numpy(), src[f].to_numpy(np.float64), err_msg=sym
            )
    assert report.defaults["sector"] == len(sources)
    assert store.frequency == "daily"


def test_baseline_and_optimised_scans_agree(imported):
    root, sources, _ = imported
    base = scan(root, phases="baseline")
    fast = scan(root, phases="prefetch,prescreen,vectorized")
    assert len(base.table) == len(sources)
    assert results_match(base, fast) == []


@pytest.mark.parametrize(
    "name,ours,ref",
    [
        (
            "rsi",
            lambda b: ind.rsi(b["close"].to_numpy(), 14),
            lambda s: talib.RSI(s["Close"].to_numpy(float), 14),
        ),
        (
            "macd",
            lambda b: ind.macd(b["close"].to_numpy())[2],
            lambda s: talib.MACD(s["Close"].to_numpy(float))[2],
        ),
        (
            "adx",
            lambda b: ind.adx(*(b[f].to_numpy() for f in ("high", "low", "close"))),
            lambda s: talib.ADX(*(s[f].to_numpy(float) for f in ("High", "Low", "Close"))),
        ),
        (
            "mfi",
            lambda b: ind.mfi(*(b[f].to_numpy() for f in ("high", "low", "close", "volume"))),
            lambda s: talib.MFI(
                *(s[f].to_numpy(float) for f in ("High", "Low", "Close", "Volume"))
            ),
        ),
    ],
)
def test_indicators_on_imported_bars_equal_talib_on_the_source(imported, name, ours, ref):
    root, sources, _ = imported
    got = ours(Store(root).bars("GOOC"))
    want = ref(sources["GOOC"])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    m = ~np.isnan(want)
    np.testing.assert_allclose(got[m], want[m], rtol=1e-9, atol=1e-9 * np.abs(want[m]).max())


BROKEN = {
    "NANP": (
        lambda d: d.assign(Close=d["Close"].where(d.index != 50)),
        "non-finite value (close=nan)",
    ),
    "ZERO": (
        lambda d: d.assign(Low=d["Low"].where(d.index != 60, 0.0)),
        "non-positive value (low=0)",
    ),
    "INVR": (lambda d: d.assign(High=d["High"].where(d.index != 70, 1.0)), "high < low on"),
    "DUPD": (
        lambda d: d.assign(Date=d["Date"].where(d.index != 80, d["Date"].shift(1))).assign(
            Close=lambda x: x["Close"] + (x.index == 80)
        ),
        "duplicate date",
    ),
    "ONEB": (lambda d: d.iloc[:1], "too short a history: 1 bar"),
    "NOVL": (lambda d: d.drop(columns=["Volume"]), "missing columns: volume"),
}


def test_broken_files_are_reported_by_name_and_the_rest_scan(tmp_path, goog):
    src = tmp_path / "in"
    src.mkdir()
    base = goog.iloc[:400].reset_index(drop=True)
    base.to_csv(src / "OKAY.csv", index=False)
    for sym, (edit, _) in BROKEN.items():
        edit(base.copy()).to_csv(src / f"{sym}.csv", index=False)
    base.sample(frac=1.0, random_state=1).to_csv(src / "SHUF.csv", index=False)  # repairable
    (src / "EMPT.csv").write_text("")
    (src / "GARB.parquet").write_bytes(b"not parquet")
    report = import_store([str(src / "*")], tmp_path / "store", log=lambda *_: None)
    skipped = {(f.rsplit("/", 1)[-1], r) for f, _, r in report.skipped}
    for sym, (_, reason) in BROKEN.items():
        assert any(f == f"{sym}.csv" and reason in r for f, r in skipped), (sym, skipped)
    assert any(f == "EMPT.csv" for f, _ in skipped) and any(
        f == "GARB.parquet" and "unreadable" in r for f, r in skipped
    )
    assert [s for _, s, r in report.repaired] == ["SHUF"]
    assert set(report.imported) == {"OKAY", "SHUF"}
    res = scan(tmp_path / "store", phases="prefetch,prescreen,vectorized")
    assert set(res.table["symbol"]) == {"OKAY", "SHUF"}
    okay, shuf = (res.table.set_index("symbol").loc[s] for s in ("OKAY", "SHUF"))
    assert okay["tech_rating"] == shuf["tech_rating"]


def test_intraday_and_monthly_files_are_labelled_and_refused(tmp_path):
    report = import_store(
        [str(DATA / "GOOG.csv"), str(DATA / "EURUSD.csv"), str(DATA / "BTCUSD.csv")],
        tmp_path / "s",
        log=lambda *_: None,
    )
    assert report.frequencies == {"GOOG": "daily", "EURUSD": "intraday", "BTCUSD": "monthly"}
    with pytest.raises(
        ValueError, match=r"mixed \(daily: GOOG, intraday: EURUSD, monthly: BTCUSD\)"
    ):
        scan(tmp_path / "s")


def test_exchange_listing_file(tmp_path):
    listing = tmp_path / "nasdaqlisted.txt"
    listing.write_text(
        "Symbol|Security Name|Market Category|Test Issue|Financial Status|Round Lot Size|ETF|NextShares\n"
        "GOOG|Alphabet Inc. - Class C Capital Stock|Q|N|N|100|N|N\n"
        "SQQQ|ProShares UltraPro Short QQQ 3x|G|N|N|100|Y|N\n"
        "ZXZZT|NASDAQ TEST STOCK|G|Y|N|100|N|N\n"
        "File Creation Time: 1124202621:00|||||||\n"
    )
    report = import_store(
        [str(DATA / "GOOG.csv")], tmp_path / "s", universe=listing, log=lambda *_: None
    )
    uni = Store(tmp_path / "s").universe().set_index("symbol")
    assert list(uni.index) == ["GOOG"] and uni.loc["GOOG", "name"].startswith("Alphabet")
    assert report.unlisted == ["SQQQ"]
    assert report.defaults["sector"] == 2 and report.defaults["market_cap (unknown)"] == 2
    from technic_core.universe.readers import read_universe

    full, _ = read_universe(listing)
    assert full.set_index("symbol").loc["SQQQ", "is_leveraged"] and "ZXZZT" not in set(
        full["symbol"]
    )


def test_incremental_import_appends_and_reports_corrections(tmp_path, goog):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    goog.iloc[:2000].to_csv(first / "GOOG.csv", index=False)
    fixed = goog.copy()
    fixed.loc[1500, "Close"] = fixed.loc[1500, "Close"] + 1.0
    fixed.loc[1500, "High"] = max(fixed.loc[1500, "High"], fixed.loc[1500, "Close"])
    fixed.to_csv(second / "GOOG.csv", index=False)
    import_store([str(first / "GOOG.csv")], tmp_path / "s", log=lambda *_: None)
    report = import_store([str(second / "GOOG.csv")], tmp_path / "s", log=lambda *_: None)
    assert report.appended == {"GOOG": len(goog) - 2000}
    assert [c["date"] for c in report.corrections] == [str(goog.loc[1500, "Date"].date())]
    assert len(Store(tmp_path / "s").bars("GOOG")) == len(goog)
    log = json.loads((tmp_path / "s" / "corrections.json").read_text())
    assert log[-1]["corrections"][0]["symbol"] == "GOOG"
