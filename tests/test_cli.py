import pandas as pd

from technic_core.cli import main
from technic_core.universe import Store


def test_generate_then_scan_writes_table(tmp_path, capsys):
    store = tmp_path / "u"
    assert main(["data", "generate", "--symbols", "40", "--bars", "260", "--out", str(store)]) == 0
    out = tmp_path / "t.csv"
    assert main(["scan", "--universe", str(store), "--phases", "baseline", "--top", "5",
                 "--output", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "ms/symbol" in text and "projected 5277 symbols" in text
    table = pd.read_csv(out)
    assert len(table) > 10 and table["rank"].tolist() == list(range(1, len(table) + 1))


def test_missing_store_is_one_line_error(tmp_path, capsys):
    assert main(["scan", "--universe", str(tmp_path / "nothing"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("technic: error: no store at") and "Traceback" not in err


def test_unknown_phase_is_refused(tmp_path, capsys):
    main(["data", "generate", "--symbols", "5", "--bars", "30", "--out", str(tmp_path / "u")])
    assert main(["scan", "--universe", str(tmp_path / "u"), "--phases", "warp"]) == 2
    assert "unknown phase" in capsys.readouterr().err


def test_generate_reuses_an_identical_store(tmp_path, capsys):
    args = ["data", "generate", "--symbols", "8", "--bars", "40", "--out", str(tmp_path / "u")]
    assert main(args) == 0
    assert Store(tmp_path / "u").version == 1
    assert main(args) == 0
    assert "reusing it" in capsys.readouterr().out
    assert Store(tmp_path / "u").version == 1
    assert main([*args, "--force"]) == 0
    assert Store(tmp_path / "u").version == 2
