import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from technic_core.universe import Store, StoreDamaged, StoreError, SymbolDataError
from technic_core.universe.generate import generate_universe
from technic_core.universe.writer import collect_garbage, unreferenced_files, write_store

from ..helpers import make_store, update_store


def test_block_equals_generated_arrays(tmp_path):
    g = generate_universe(50, 200, seed=4)
    write_store(tmp_path, g.universe, g.long_frame())
    block = Store(tmp_path).block()
    assert list(block.symbols) == list(g.universe["symbol"])
    for f in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(block.fields[f], getattr(g, f))
    np.testing.assert_array_equal(block.lengths, g.lengths)


def test_one_symbol_read_equals_block_column(tmp_path):
    make_store(tmp_path, 20, 120)
    store = Store(tmp_path)
    block = store.block()
    sym = block.symbols[3]
    df = store.bars(sym)
    n = block.lengths[3]
    np.testing.assert_array_equal(df["close"].to_numpy(), block.fields["close"][-n:, 3])


def test_subset_block_keeps_requested_order(tmp_path):
    make_store(tmp_path, 300, 60)  # several row groups
    store = Store(tmp_path)
    full = store.block()
    pick = [full.symbols[k] for k in (250, 3, 140)]
    sub = store.block(pick)
    assert list(sub.symbols) == pick
    for k, j in zip((250, 3, 140), range(3)):
        n = full.lengths[k]
        np.testing.assert_array_equal(sub.fields["close"][-n:, j], full.fields["close"][-n:, k])


def test_a_write_through_the_writer_is_seen_by_every_reader(tmp_path):
    make_store(tmp_path, 10, 60)
    sym = Store(tmp_path).block().symbols[2]

    def edit(uni, long):
        r = long.index[long["symbol"] == sym][-1]
        long.loc[r, ["close", "high"]] = [12345.0, 20000.0]
        return uni, long

    update_store(tmp_path, edit)
    store = Store(tmp_path)
    assert store.version == 2
    assert store.block().fields["close"][-1, 2] == 12345.0
    assert store.bars(sym)["close"].iloc[-1] == 12345.0
    assert store.snapshot().set_index("symbol").loc[sym, "close"] == 12345.0


def test_an_in_place_edit_is_reported_and_never_served(tmp_path):
    """Files are named by their content and never rewritten; one edited behind the writer's
    back does not hold what the manifest says, and every reader gives the manifest's bars."""
    make_store(tmp_path, 10, 60)
    store = Store(tmp_path)
    sym = store.block().symbols[2]
    want = store.bars(sym)
    path = store.bar_file(sym)
    t = pq.read_table(path).to_pandas()
    t.loc[t.index[-1], ["close", "high"]] = [12345.0, 20000.0]
    pq.write_table(pa.Table.from_pandas(t, preserve_index=False), path)
    store = Store(tmp_path)
    with pytest.warns(StoreDamaged, match="does not hold the bars"):
        got = store.bars(sym)
    pd.testing.assert_frame_equal(got, want)
    assert store.block().fields["close"][-1, 2] == want["close"].iloc[-1]


@pytest.mark.parametrize(
    "damage,needle",
    [
        (lambda p: p.write_bytes(b""), "empty bars file"),
        (lambda p: p.write_bytes(b"not parquet at all"), "unreadable bars file"),
        (lambda p: p.unlink(), "no bars file"),
        (lambda p: pq.write_table(pq.read_table(p).drop(["volume"]), p), "lacks columns: volume"),
    ],
)
def test_a_damaged_symbol_file_is_read_from_the_other_copy(tmp_path, damage, needle):
    make_store(tmp_path, 10, 60)
    store = Store(tmp_path)
    sym = store.block().symbols[4]
    want = store.bars(sym)
    damage(store.bar_file(sym))
    store = Store(tmp_path)
    with pytest.warns(StoreDamaged, match=needle):
        pd.testing.assert_frame_equal(store.bars(sym), want)
    assert sym in set(store.block().symbols)
    store.file("bars").write_bytes(b"PAR1")
    # with bars.parquet unreadable too, the panel is the third copy, in every path
    # (each read also says bars.parquet is damaged: pytest.warns re-emits what does not match)
    store = Store(tmp_path)
    with pytest.warns(StoreDamaged) as seen:
        pd.testing.assert_frame_equal(store.bars(sym), want)
    assert any(needle in str(w.message) for w in seen), [str(w.message) for w in seen]
    with pytest.warns(StoreDamaged) as seen:
        long = Store(tmp_path).long([sym])
    assert any(needle in str(w.message) for w in seen), [str(w.message) for w in seen]
    assert sym not in long.attrs["errors"] and (long["symbol"] == sym).sum() == len(want)
    assert sym in set(store.block().symbols)
    # without it, the symbol is one symbol's error, in every path
    store = Store(tmp_path, panel=False)
    with pytest.warns(StoreDamaged):
        with pytest.raises(SymbolDataError, match=needle):
            store.bars(sym)
        block = store.block()
    assert needle in block.errors[sym]
    assert sym not in set(block.symbols) and len(block.symbols) == 9


def test_a_reader_keeps_its_version_while_writers_commit(tmp_path):
    make_store(tmp_path, 12, 60, seed=1)
    first = Store(tmp_path)
    want = first.long()
    for seed in (2, 3):
        make_store(tmp_path, 12, 60, seed=seed)
    assert Store(tmp_path).version == 3
    # retained versions stay readable, whole, by whoever opened them
    pd.testing.assert_frame_equal(first.long(), want)
    pd.testing.assert_frame_equal(Store(tmp_path, version=1).long(), want)
    assert unreferenced_files(tmp_path) == []
    # once superseded for longer than the retention, a version and its files go
    collect_garbage(tmp_path, keep_s=0)
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["2", "3"]
    with pytest.raises(StoreError, match="version 1 is not retained"):
        Store(tmp_path, version=1)
    # a reader that opened it before is told so, never handed other bars
    with pytest.raises(StoreError, match="version 1, which this reader opened, has been removed"):
        first.long()
    live = set(Store(tmp_path).index()["file"]) | set(Store(tmp_path, version=2).index()["file"])
    assert {f"bars/{p.name}" for p in (tmp_path / "bars").iterdir()} == live


def test_a_format_2_store_is_refused_with_advice(tmp_path):
    (tmp_path / "meta.json").write_text(json.dumps({"format": 2}))
    with pytest.raises(StoreError, match="format 2.*technic data generate --force"):
        Store(tmp_path)


def test_missing_store_fails_fast_with_advice(tmp_path):
    with pytest.raises(StoreError, match="technic data generate"):
        Store(tmp_path / "nope")
    with pytest.raises(StoreError, match="no manifest.json"):
        Store(tmp_path)


def test_wrong_universe_schema_is_one_clear_error(tmp_path):
    make_store(tmp_path, 5, 40)
    pq.write_table(pa.table({"ticker": ["A"]}), Store(tmp_path).file("universe"))
    with pytest.raises(StoreError, match="universe lacks columns symbol"):
        Store(tmp_path).universe()


def test_wrong_format_version_is_refused(tmp_path):
    make_store(tmp_path, 5, 40)
    meta = json.loads((tmp_path / "manifest.json").read_text())
    meta["format"] = 99
    (tmp_path / "manifest.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match="format 99"):
        Store(tmp_path)


def test_snapshot_is_last_session(tmp_path):
    make_store(tmp_path, 30, 80)
    store = Store(tmp_path)
    snap = store.snapshot()
    assert snap["symbol"].is_unique and len(snap) == 30
    assert (pd.to_datetime(snap["date"]) == pd.Timestamp(store.meta["last_session"])).all()


def test_snapshot_follows_a_written_symbol(tmp_path):
    make_store(tmp_path, 12, 50)
    sym = Store(tmp_path).block().symbols[1]

    def edit(uni, long):
        r = long.index[long["symbol"] == sym][-1]
        long.loc[r, ["close", "low"]] = 0.5
        return uni, long

    update_store(tmp_path, edit)
    snap = Store(tmp_path).snapshot().set_index("symbol")
    assert snap.loc[sym, "close"] == 0.5 and len(snap) == 12
