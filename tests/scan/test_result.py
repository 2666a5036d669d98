"""ScanResult's face: to_frame, to_parquet (the rest in its metadata), a readable repr."""

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

import technic_core
from technic_core.universe.generate import generate_universe


@pytest.fixture(scope="module")
def result():
    g = generate_universe(40, 280, 4)
    return technic_core.scan(g.long_frame(), g.universe, phases="vectorized")


def test_to_frame_is_the_table_with_the_rest_in_attrs(result):
    df = result.to_frame()
    pd.testing.assert_frame_equal(df, result.table)
    assert df is not result.table
    assert df.attrs["rejections"] == result.rejections
    assert df.attrs["errors"] == dict(zip(result.errors["symbol"], result.errors["reason"]))
    assert df.attrs["n_symbols"] == 40


def test_to_parquet_round_trips(result, tmp_path):
    path = result.to_parquet(tmp_path / "scan.parquet")
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, result.table, check_dtype=False)
    meta = json.loads(pq.read_schema(path).metadata[b"technic"])
    assert meta["rejections"] == result.rejections and meta["phases"] == list(result.phases)
    assert set(meta["timings"]) == set(result.timings)


def test_repr_is_short_and_says_what_ran(result):
    text = repr(result)
    first = text.splitlines()[0]
    assert first.startswith(f"ScanResult(40 symbols: {len(result.table)} passed")
    assert "phases vectorized" in first
    assert len(text.splitlines()) <= 8
    assert result.table["symbol"].iat[0] in text


def test_scan_docstring_is_numpydoc_and_names_every_parameter():
    import inspect

    import technic_core

    doc = inspect.getdoc(technic_core.scan.pipeline.scan)
    assert doc in technic_core.scan.__doc__  # help(technic_core.scan) shows it
    assert inspect.signature(technic_core.scan) == inspect.signature(
        technic_core.scan.pipeline.scan
    )
    for section in ("Parameters", "Returns", "Raises", "Examples"):
        assert f"{section}\n{'-' * len(section)}" in doc, section
    for name in inspect.signature(technic_core.scan).parameters:
        assert f"\n{name} : " in doc, name
