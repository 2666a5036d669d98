"""The examples run (CI runs this file), and what they print is what the library computes."""

import runpy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

import technic_core
from technic_core.scan import results_match

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str) -> dict:
    return runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name=f"example_{name}")


def test_the_three_examples_are_here():
    assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == [
        "indicators_wide_frame",
        "rescan_new_bar",
        "scan_csv_files",
    ]


def test_scan_csv_files(tmp_path, capsys):
    ex = load("scan_csv_files")
    folder = ex["demo_folder"](tmp_path, n_symbols=20)
    res = ex["main"](folder)
    assert capsys.readouterr().out.startswith("ScanResult(20 symbols")
    # the CSVs round-trip: the same bars scanned from a long frame give the same table
    long = pd.concat(
        [
            pd.read_csv(p).rename(columns=str.lower).assign(symbol=p.stem)
            for p in sorted(folder.glob("*.csv"))
        ]
    )
    direct = technic_core.scan(long, phases="vectorized")
    assert len(res.table) > 0 and results_match(direct, res) == []


def test_indicators_wide_frame(capsys):
    ex = load("indicators_wide_frame")
    last = ex["main"]()
    out = capsys.readouterr().out
    assert "rsi_14 of SYM07" in out
    close = ex["closes"]()
    for sym in ("SYM00", "SYM07", "SYM24"):
        ref = talib.RSI(close[sym], 14)  # TA-Lib's own Series
        np.testing.assert_allclose(last.at[sym, "rsi_14"], ref.iloc[-1], rtol=1e-9)


@pytest.mark.slow
def test_rescan_new_bar(tmp_path, capsys):
    ex = load("rescan_new_bar")
    first, second, counts = ex["main"](tmp_path)
    assert counts == {"unchanged": 0, "advanced": 40, "built": 0, "dropped": 0}
    assert "after the new bar" in capsys.readouterr().out
    cold = technic_core.scan(tmp_path / "store", phases="vectorized")
    assert results_match(cold, second) == []
    assert not first.table.equals(second.table)


def test_the_readme_notebook_path_runs_in_five_lines(tmp_path, monkeypatch, capsys):
    readme = (EXAMPLES.parent / "README.md").read_text()
    block = readme.split("From a notebook", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert len(block.strip().splitlines()) == 5
    from technic_core.universe.generate import generate_universe

    generate_universe(20, 280, 2).long_frame().to_csv(tmp_path / "bars.csv", index=False)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)
    assert capsys.readouterr().out.startswith("ScanResult(20 symbols")
    rsi = scope["rsi"]
    assert isinstance(rsi, pd.DataFrame) and rsi.shape == (280, 20) and rsi.columns.name == "symbol"
