import json
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from technic_core.universe import Store, StoreError, SymbolDataError
from technic_core.universe.generate import generate_universe
from technic_core.universe.store import write_store

from ..helpers import make_store


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


def test_edited_symbol_file_wins_over_consolidated_copy(tmp_path):
    make_store(tmp_path, 10, 60)
    store = Store(tmp_path)
    sym = store.block().symbols[2]
    path = tmp_path / "bars" / f"{sym}.parquet"
    t = pq.read_table(path).to_pandas()
    t.loc[t.index[-1], "close"] = 12345.0
    t.loc[t.index[-1], "high"] = 20000.0
    pq.write_table(pa.Table.from_pandas(t, preserve_index=False), path)
    os.utime(path, ns=(1, 1))
    block = Store(tmp_path).block()
    assert block.fields["close"][-1, 2] == 12345.0


@pytest.mark.parametrize("damage,needle", [
    (lambda p: p.write_bytes(b""), "empty bars file"),
    (lambda p: p.write_bytes(b"not parquet at all"), "unreadable bars file"),
    (lambda p: p.unlink(), "no bars file"),
])
def test_damaged_symbol_file_is_one_symbols_error(tmp_path, damage, needle):
    make_store(tmp_path, 10, 60)
    store = Store(tmp_path)
    sym = store.block().symbols[4]
    damage(tmp_path / "bars" / f"{sym}.parquet")
    store = Store(tmp_path)
    with pytest.raises(SymbolDataError, match=needle):
        store.bars(sym)
    block = store.block()
    assert needle in block.errors[sym]
    assert sym not in set(block.symbols) and len(block.symbols) == 9


def test_missing_store_fails_fast_with_advice(tmp_path):
    with pytest.raises(StoreError, match="technic data generate"):
        Store(tmp_path / "nope")
    with pytest.raises(StoreError, match="no meta.json"):
        Store(tmp_path)


def test_wrong_universe_schema_is_one_clear_error(tmp_path):
    make_store(tmp_path, 5, 40)
    pq.write_table(pa.table({"ticker": ["A"]}), tmp_path / "universe.parquet")
    with pytest.raises(StoreError, match="universe lacks columns symbol"):
        Store(tmp_path).universe()


def test_wrong_format_version_is_refused(tmp_path):
    make_store(tmp_path, 5, 40)
    meta = json.loads((tmp_path / "meta.json").read_text())
    meta["format"] = 99
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match="format 99"):
        Store(tmp_path)


def test_snapshot_is_last_session(tmp_path):
    make_store(tmp_path, 30, 80)
    store = Store(tmp_path)
    snap = store.snapshot()
    assert snap["symbol"].is_unique and len(snap) == 30
    assert (pd.to_datetime(snap["date"]) == pd.Timestamp(store.meta["last_session"])).all()


def test_snapshot_follows_an_edited_symbol_file(tmp_path):
    make_store(tmp_path, 12, 50)
    store = Store(tmp_path)
    sym = store.block().symbols[1]
    path = tmp_path / "bars" / f"{sym}.parquet"
    t = pq.read_table(path).to_pandas()
    t.loc[t.index[-1], ["close", "low"]] = 0.5
    pq.write_table(pa.Table.from_pandas(t, preserve_index=False), path)
    os.utime(path, ns=(2, 2))
    snap = Store(tmp_path).snapshot().set_index("symbol")
    assert snap.loc[sym, "close"] == 0.5 and len(snap) == 12
