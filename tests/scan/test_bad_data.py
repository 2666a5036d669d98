"""One bad symbol never sinks a scan: every bad-data case lands in the errors table."""

import warnings

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from technic_core.scan import results_match, scan
from technic_core.scan.compare import table_differences
from technic_core.universe import Store, StoreDamaged, SymbolDataError

from ..helpers import make_store, rows_of

PHASE_SETS = ["baseline", "prefetch,prescreen", "prefetch,prescreen,vectorized"]


def _first_good(uni):
    ok = (
        uni["symbol"].str.fullmatch(r"[A-Z]{1,5}")
        & ~uni["is_leveraged"]
        & (uni["market_cap"].isna() | (uni["market_cap"] > 1e9))
    )
    return list(uni["symbol"][ok])


def _set(long, sym, col, pos, value):
    idx = rows_of(long, sym)
    long.loc[idx[pos], col] = value


EDITS = {
    "nan price": (lambda L, s: _set(L, s, "close", -30, np.nan), "non-finite value (close=nan)"),
    "infinite price": (lambda L, s: _set(L, s, "high", -40, np.inf), "non-finite value (high=inf)"),
    "zero price": (lambda L, s: _set(L, s, "low", -50, 0.0), "non-positive value (low=0)"),
    "negative price": (lambda L, s: _set(L, s, "open", -55, -3.0), "non-positive value (open=-3)"),
    "high below low": (
        lambda L, s: (_set(L, s, "high", -60, 1.0), _set(L, s, "low", -60, 2.0)),
        "high < low on",
    ),
    "duplicate date": (
        lambda L, s: _set(L, s, "date", -70, L.loc[rows_of(L, s)[-71], "date"]),
        "duplicate date",
    ),
    "unsorted dates": (
        lambda L, s: _set(L, s, "date", -80, L.loc[rows_of(L, s)[-60], "date"]),
        "dates not sorted",
    ),
}


def _edit(kind, victim):
    def edit(uni, long):
        long = long.copy()
        EDITS[kind][0](long, victim)
        return uni, long

    return edit


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_bad_rows_are_reported_and_others_untouched(tmp_path, kind):
    clean = make_store(tmp_path / "clean", 40, 280, seed=21)
    ref = scan(clean, phases="prefetch,prescreen,vectorized", backend="numpy")
    victim = next(s for s in _first_good(Store(clean).universe()) if s in set(ref.table["symbol"]))
    bad = make_store(tmp_path / "bad", 40, 280, seed=21, edit=_edit(kind, victim))
    results = {}
    for phases in PHASE_SETS:
        res = scan(bad, phases=phases, backend="numpy")
        errs = dict(zip(res.errors["symbol"], res.errors["reason"]))
        assert victim in errs, (phases, errs)
        assert EDITS[kind][1] in errs[victim], (phases, errs[victim])
        assert victim not in set(res.table["symbol"])
        # the other symbols' rows are exactly the clean scan's (ranks close up over the gap)
        others = ref.table[ref.table["symbol"] != victim].drop(columns=["rank", "sector_pct"])
        got = res.table.drop(columns=["rank", "sector_pct"]).reset_index(drop=True)
        assert table_differences(others.reset_index(drop=True), got) == []
        results[phases] = res
    for phases in PHASE_SETS[1:]:
        assert results_match(results["baseline"], results[phases]) == []


def _victim(root, k=5):
    return _first_good(Store(root).universe())[k]


DAMAGE = {
    "empty": (lambda p: p.write_bytes(b""), "empty bars file"),
    "corrupt": (
        lambda p: p.write_bytes(b"PAR1 this is not a parquet file"),
        "unreadable bars file",
    ),
    "no_volume": (
        lambda p: pq.write_table(pq.read_table(p).drop(["volume"]), p),
        "lacks columns: volume",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_a_damaged_file_is_healed_or_reported_alike_in_every_phase(tmp_path, how):
    """Every symbol's bars are held three times (its own file, bars.parquet, the panel): a damaged
    copy is read from another in every phase; with all damaged, the symbol is the same error
    everywhere."""
    root = make_store(tmp_path, 30, 260, seed=5)
    clean = [scan(root, phases=p, backend="numpy") for p in PHASE_SETS]
    sym = _victim(root)
    damage, needle = DAMAGE[how]
    damage(Store(root).bar_file(sym))
    for want, p in zip(clean, PHASE_SETS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StoreDamaged)
            assert results_match(want, scan(root, phases=p, backend="numpy")) == [], p
    Store(root).file("bars").write_bytes(b"PAR1")
    for want, p in zip(clean, PHASE_SETS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StoreDamaged)
            assert results_match(want, scan(root, phases=p, backend="numpy")) == [], p
    Store(root).file("panel").write_bytes(b"\x93NUMPY garbage")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StoreDamaged)
        outs = [scan(root, phases=p, backend="numpy") for p in PHASE_SETS]
    for res in outs:
        errs = dict(zip(res.errors["symbol"], res.errors["reason"]))
        assert needle in errs.get(sym, ""), errs
        assert len(res.table) > 5
    for res in outs[1:]:
        assert results_match(outs[0], res) == []


@pytest.mark.parametrize("rows,needle", [(1, "too short a history: 1 bar"), (0, "no bars")])
def test_short_stored_histories_are_reported_in_every_phase(tmp_path, rows, needle):
    root = make_store(tmp_path / "probe", 30, 260, seed=5)
    sym = _victim(root)

    def edit(uni, long):
        idx = rows_of(long, sym)
        return uni, long.drop(index=idx[: len(idx) - rows]).reset_index(drop=True)

    root = make_store(tmp_path / "s", 30, 260, seed=5, edit=edit)
    outs = [scan(root, phases=p, backend="numpy") for p in PHASE_SETS]
    for res in outs:
        errs = dict(zip(res.errors["symbol"], res.errors["reason"]))
        assert needle in errs.get(sym, ""), errs
    for res in outs[1:]:
        assert results_match(outs[0], res) == []


def test_symbol_in_universe_without_bars(tmp_path):
    def edit(uni, long):
        extra = uni.iloc[[0]].copy()
        extra["symbol"] = "GHOST"
        extra["market_cap"] = 5e9
        return pd.concat([uni, extra], ignore_index=True), long

    root = make_store(tmp_path, 20, 260, seed=2, edit=edit)
    for p in PHASE_SETS:
        res = scan(root, phases=p, backend="numpy")
        errs = dict(zip(res.errors["symbol"], res.errors["reason"]))
        assert "GHOST" in errs and ("no bars" in errs["GHOST"]), (p, errs)


def test_unreadable_bar_file_read_directly(tmp_path):
    root = make_store(tmp_path, 10, 60)
    store = Store(root)
    sym = _first_good(store.universe())[1]
    store.bar_file(sym).write_bytes(b"garbage")
    store.file("bars").write_bytes(b"garbage")
    store.file("panel").write_bytes(b"garbage")
    with pytest.warns(StoreDamaged), pytest.raises(SymbolDataError) as info:
        Store(root).bars(sym)
    assert info.value.symbol == sym and f"{sym}@" in info.value.reason
