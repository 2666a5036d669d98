"""The time-major panel (issue 16): the same bars as the Parquet files, checked before use.

A panel that no longer describes its version (older than the files, truncated, foreign)
is never used: the store says why, in one warning naming the file, and reads the
Parquet files instead, so every scan's table is the one the Parquet files give.
"""

import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from technic_core.scan import results_match, scan
from technic_core.sources import LocalSource
from technic_core.universe import BarBlock, Store, StoreDamaged
from technic_core.universe.panel import PANEL_COLUMNS_FILE, PANEL_FILE
from technic_core.universe.writer import write_store

from ..helpers import make_store, rows_of, update_store

FIELDS = ("open", "high", "low", "close", "volume")


def _irregular(uni, long):
    """A ragged store: a gap in one symbol's sessions, one that stopped trading early, two with
    bad bars (a duplicated date, a NaN close), besides the generator's late listings."""
    syms = list(dict.fromkeys(long["symbol"]))
    long = long.drop(index=rows_of(long, syms[1])[100])  # a missing session
    long = long.drop(index=rows_of(long, syms[2])[-7:])  # delisted a week ago
    dup = rows_of(long, syms[3])[50]
    long.loc[dup, "date"] = long.loc[rows_of(long, syms[3])[49], "date"]  # duplicate date
    long.loc[rows_of(long, syms[4])[-3], "close"] = np.nan  # non-finite value
    return uni, long.reset_index(drop=True)


@pytest.fixture(scope="module")
def ragged(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("ragged") / "s", 40, 280, seed=23, edit=_irregular)


def _parquet_block(root, order):
    long = Store(root, panel=False).long(order)
    return BarBlock.from_long(long, order, errors=long.attrs.get("errors"))


def assert_same_block(got: BarBlock, want: BarBlock):
    assert list(got.symbols) == list(want.symbols)
    assert np.array_equal(got.lengths, want.lengths)
    assert np.array_equal(got.last_date, want.last_date)
    assert got.errors == want.errors
    assert got.error_latest_close == want.error_latest_close
    for f in FIELDS:
        assert got.fields[f].shape == want.fields[f].shape, f
        assert np.array_equal(got.fields[f], want.fields[f], equal_nan=True), f


def test_blocks_from_the_panel_equal_blocks_from_parquet(ragged):
    store = Store(ragged)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        panel = store.panel()
    assert panel is not None
    order = list(store.index().index)
    assert_same_block(store.block(order), _parquet_block(ragged, order))
    rng = np.random.default_rng(3)
    for _ in range(5):  # subsets in any order, symbols the store lacks, a repeated one
        pick = list(rng.choice(order, 12, replace=False)) + ["NOSUCH"]
        got = store.block(pick)
        assert_same_block(got, _parquet_block(ragged, pick))
    # consecutive columns are views of the mapped file, not copies
    run = order[10:20]
    good = [s for s in run if s not in panel.errors]
    block = store.block(good)
    assert np.shares_memory(block.fields["close"], panel.data)
    assert np.array_equal(block.starts, block.shape[0] - block.lengths)


def test_the_panel_knows_each_symbol_and_its_problem(ragged):
    store = Store(ragged)
    panel = store.panel()
    syms = list(store.index().index)
    assert "duplicate date" in panel.errors[syms[3]] and "non-finite" in panel.errors[syms[4]]
    assert not panel.aligned[panel.columns_of([syms[1]])[0]]  # its gap
    assert panel.aligned[panel.columns_of([syms[2]])[0]]  # consecutive, just ending early
    t = panel.shape[0]
    assert (panel.n_bars[panel.good] <= t).all() and t == panel.n_bars[panel.good].max()


@pytest.mark.parametrize("which", ["last", "previous", "middle", "delisted", "not a session"])
def test_session_rows_equal_the_bars_of_that_session(ragged, which):
    store = Store(ragged)
    cal = store.panel().calendar.astype("datetime64[ms]").astype("datetime64[D]")
    day = {
        "last": cal[-1],
        "previous": cal[-2],
        "middle": cal[100],
        "delisted": cal[-8],
        "not a session": cal[-1] + np.timedelta64(1, "D"),
    }[which]
    got = store.session_rows(day)
    long = Store(ragged, panel=False).long()
    want = long[long["date"].to_numpy().astype("datetime64[D]") == day].drop_duplicates(
        "symbol", keep="last"
    )
    want = want.assign(symbol=want["symbol"].astype(str))[["symbol", "date", *FIELDS]].reset_index(
        drop=True
    )
    got = got.assign(date=got["date"].astype("datetime64[ns]"))
    want = want.assign(date=want["date"].astype("datetime64[ns]"))
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    if which == "last":  # and the snapshot file the writer made agrees
        old = Store(ragged, panel=False).snapshot()
        pd.testing.assert_frame_equal(
            got, old.assign(date=old["date"].astype("datetime64[ns]")), check_dtype=False
        )


def test_every_phase_gives_the_same_table_from_the_panel_and_from_parquet(ragged):
    base = scan(ragged, phases="baseline")
    for phases in ("prefetch,prescreen", "vectorized", "prefetch,prescreen,vectorized"):
        got = scan(LocalSource(ragged), phases=phases)
        off = scan(LocalSource(ragged, panel=False), phases=phases)
        assert results_match(base, got) == [], phases
        assert results_match(base, off) == [], phases
        assert got.table.equals(off.table) and got.errors.equals(off.errors), phases


# -- a store changed behind the panel's back ---------------------------------------------
def _keep_old_panel(root, before: int) -> None:
    """Make the current version name version ``before``'s panel: what a writer that changed
    the store's files without writing a panel would leave."""
    for man_path in (root / "manifest.json", root / "v" / str(before + 1) / "manifest.json"):
        man = json.loads(man_path.read_text())
        man["files"]["panel"] = f"v/{before}/{PANEL_FILE}"
        man["files"]["panel_columns"] = f"v/{before}/{PANEL_COLUMNS_FILE}"
        man_path.write_text(json.dumps(man))


def _correct_a_bar(uni, long):
    i = rows_of(long, long["symbol"].iloc[0])[-30]
    long.loc[i, ["close", "high"]] = long.loc[i, "high"] * 1.02
    return uni, long


def _rewrite_a_symbol(uni, long):
    s = long["symbol"].iloc[-1]
    idx = rows_of(long, s)
    long.loc[idx, ["open", "high", "low", "close"]] *= 0.5  # a split applied to its history
    return uni, long


def _add_a_symbol(uni, long):
    new = long[long["symbol"] == long["symbol"].iloc[0]].assign(symbol="ZZNEW")
    row = uni.iloc[[0]].assign(symbol="ZZNEW")
    return pd.concat([uni, row], ignore_index=True), pd.concat([long, new], ignore_index=True)


def _remove_a_symbol(uni, long):
    gone = long["symbol"].iloc[0]
    return uni[uni["symbol"] != gone], long[long["symbol"] != gone]


CHANGES = {
    "a bar corrected": (_correct_a_bar, "other bars in the store"),
    "a symbol's file rewritten": (_rewrite_a_symbol, "other bars in the store"),
    "a symbol added": (_add_a_symbol, "not in it (e.g. ZZNEW)"),
    "a symbol removed": (_remove_a_symbol, "no longer in the store"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_store_changed_behind_the_panels_back_is_detected(tmp_path, change):
    edit, cause = CHANGES[change]
    root = make_store(tmp_path / "s", 24, 270, seed=31)
    before = Store(root).version
    update_store(root, edit)
    want_base = scan(root, phases="baseline")
    _keep_old_panel(root, before)
    store = Store(root)
    with pytest.warns(StoreDamaged) as caught:
        assert store.panel() is None
    msg = str(caught[0].message)
    assert (
        cause in msg and f"v/{before}/{PANEL_FILE}" in msg and "older than the store's files" in msg
    ), msg
    assert len(msg.splitlines()) == 1
    # every phase reads the Parquet files instead: the stale bars are never used
    for phases in ("prefetch,prescreen", "vectorized", "prefetch,prescreen,vectorized"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StoreDamaged)
            assert results_match(want_base, scan(root, phases=phases)) == [], phases


def test_a_symbol_file_edited_in_place_changes_no_answer(tmp_path):
    """Files are never rewritten in place; one that is is caught when read (its bars are not
    its content version), and the panel, like bars.parquet, holds the manifest's bars."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = make_store(tmp_path / "s", 20, 270, seed=32)
    want = scan(root, phases="prefetch,prescreen,vectorized")
    store = Store(root)
    sym = store.block().symbols[2]
    path = store.bar_file(sym)
    t = pq.read_table(path).to_pandas()
    t.loc[t.index[-1], ["close", "high"]] = [9999.0, 9999.5]
    pq.write_table(pa.Table.from_pandas(t, preserve_index=False), path)
    with pytest.warns(StoreDamaged, match="does not hold the bars"):
        base = scan(root, phases="baseline")
    assert results_match(want, base) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the panel agrees with the manifest: no warning
        assert results_match(want, scan(root, phases="prefetch,prescreen,vectorized")) == []


def test_an_index_rewritten_in_place_is_detected(tmp_path):
    root = make_store(tmp_path / "s", 20, 270, seed=33)
    before = Store(root).version
    update_store(root, _correct_a_bar)
    new_index = Store(root).file("index").read_bytes()
    shutil.copy(Store(root).file("index"), tmp_path / "keep")
    # the old version's index replaced by the new one's, behind the writer's back
    Store(root, version=before).file("index").write_bytes(new_index)
    with pytest.warns(StoreDamaged, match="older than the store's files"):
        assert Store(root, version=before).panel() is None


DAMAGE = {
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "truncated"),
    "empty": (lambda p: p.write_bytes(b""), "not a panel"),
    "garbage": (lambda p: p.write_bytes(b"this is no panel" * 100), "not a panel"),
    "another shape": (lambda p: np.save(p, np.zeros((5, 3, 2))), "not the (5,"),
    "longer": (lambda p: p.write_bytes(p.read_bytes() + b"\0" * 64), "longer than its header says"),
    "missing": (lambda p: p.unlink(), "is missing"),
}


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_a_truncated_or_foreign_panel_is_named_and_the_scan_falls_back(tmp_path, how):
    root = make_store(tmp_path / "s", 24, 270, seed=34)
    want = scan(root, phases="baseline")
    path = Store(root).file("panel")
    damage, reason = DAMAGE[how]
    damage(path)
    for phases in ("prefetch,prescreen", "prefetch,prescreen,vectorized"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = scan(root, phases=phases)
        assert results_match(want, res) == [], phases
        said = [str(w.message) for w in caught if issubclass(w.category, StoreDamaged)]
        assert said and str(path) in said[0] and reason in said[0], said


def test_another_stores_panel_of_the_same_shape_is_foreign(tmp_path):
    a = make_store(tmp_path / "a", 24, 270, seed=35)
    b = make_store(tmp_path / "b", 24, 270, seed=36)
    shutil.copy(Store(b).file("panel"), Store(a).file("panel"))
    with pytest.warns(StoreDamaged, match="does not hold the store's last bars"):
        assert Store(a).panel() is None
    shutil.copy(Store(b).file("panel_columns"), Store(a).file("panel_columns"))
    with pytest.warns(StoreDamaged, match="older than the store's files|another order"):
        assert Store(a).panel() is None


def test_a_store_without_a_panel_says_so_and_scans_from_parquet(tmp_path):
    root = make_store(tmp_path / "s", 20, 270, seed=37)
    want = scan(root, phases="baseline")
    for man_path in (root / "manifest.json", root / "v" / "1" / "manifest.json"):
        man = json.loads(man_path.read_text())
        del man["files"]["panel"], man["files"]["panel_columns"]
        man_path.write_text(json.dumps(man))
    with pytest.warns(StoreDamaged, match="has no panel"):
        res = scan(root, phases="prefetch,prescreen,vectorized")
    assert results_match(want, res) == []


def test_an_empty_store_has_an_empty_panel(tmp_path):
    g = make_store(tmp_path / "src", 3, 30, seed=1)
    uni = Store(g).universe().iloc[:0]
    write_store(tmp_path / "s", uni, Store(g).long().iloc[:0])
    store = Store(tmp_path / "s")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.panel().shape == (0, 0)
        assert store.block().shape == (0, 0)


def test_a_store_written_block_by_block_equals_its_parquet_files(tmp_path, monkeypatch):
    """``technic data generate`` of a large universe generates and writes it a block of symbols at a
    time (``write_store_blocks``): the panel, filled column block by column block, is the same
    bars as the Parquet files, and every phase scans it alike."""
    from technic_core.universe.generate import generate_blocks
    from technic_core.universe.make import generate_store

    monkeypatch.setenv("TECHNIC_STORE_FSYNC", "0")
    root = generate_store(tmp_path / "s", 700, 270, seed=3, block_size=160, log=lambda *_: None)
    store = Store(root)
    assert store.meta["block_size"] == 160 and store.panel().shape == (270, 700)
    blocks = list(generate_blocks(700, 270, 3, 160))
    assert [len(b.universe) for b in blocks] == [160, 160, 160, 160, 60]
    want = np.concatenate([b.close for b in blocks], axis=1)
    assert np.array_equal(store.panel().field("close"), want, equal_nan=True)
    order = list(store.index().index)
    assert_same_block(store.block(order), _parquet_block(root, order))
    base = scan(root, phases="baseline", symbols=order[:60])
    for phases in ("prefetch,prescreen,vectorized", "vectorized"):
        assert results_match(base, scan(root, phases=phases, symbols=order[:60])) == [], phases
    # deterministic: the same blocks again
    again = list(generate_blocks(700, 270, 3, 160))
    assert all(np.array_equal(a.close, b.close, equal_nan=True) for a, b in zip(blocks, again))


def test_a_large_panel_is_read_block_by_block_not_mapped(ragged, monkeypatch):
    """Past POPULATE_MAX_BYTES the panel's columns are read (``pread``), not faulted in through
    the map, and each block's pages are given back: a scan's resident memory is one block's bars
    (measured at 100,000 symbols: tools/scale_run.py).  The bars are the same either way."""
    import technic_core.universe.panel as P

    small = Store(ragged)
    order = list(small.index().index)
    want_rows = small.session_rows(small.panel().calendar[-2].astype("datetime64[ms]"))
    monkeypatch.setattr(P, "POPULATE_MAX_BYTES", 1)
    calls = []
    real = P.BarPanel.release
    monkeypatch.setattr(P.BarPanel, "release", lambda self: (calls.append(1), real(self)))
    from technic_core.universe.store import OPENED

    OPENED.clear()
    store = Store(ragged)
    assert store.panel().large
    for pick in (order, order[3:17], order[::3]):
        assert_same_block(store.block(pick), _parquet_block(ragged, pick))
    got = store.session_rows(store.panel().calendar[-2].astype("datetime64[ms]"))
    pd.testing.assert_frame_equal(got, want_rows)
    res = scan(LocalSource(ragged), phases="prefetch,prescreen,vectorized", block_size=8)
    assert (
        len(calls) == res.info["blocks"] > 1
        and results_match(scan(ragged, phases="baseline"), res) == []
    )
    OPENED.clear()
