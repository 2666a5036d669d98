import argparse
import subprocess
import sys

import pandas as pd
import pytest

from technic_core.cli import build_parser, main
from technic_core.universe import Store


def test_generate_then_scan_writes_table(tmp_path, capsys):
    store = tmp_path / "u"
    assert main(["data", "generate", "--symbols", "40", "--bars", "260", "--out", str(store)]) == 0
    out = tmp_path / "t.csv"
    assert (
        main(
            [
                "scan",
                "--universe",
                str(store),
                "--phases",
                "baseline",
                "--top",
                "5",
                "--output",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
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


# -- fail fast: a bad option is refused before any work ------------------------------
# Each command points at a store that does not exist: if the option were checked only after
# the work began, the error would be about the missing store, not about the option.


@pytest.mark.parametrize(
    "argv, message",
    [
        (["scan", "--output", "out.xlsx"], "--output out.xlsx: use a .csv, .parquet or .json file"),
        (["scan", "--backend", "warp"], "unknown indicator backend 'warp'"),
        (["scan", "--phases", "prefetch,warp"], "unknown phase(s) warp"),
        (["scan", "--phases", "cache"], "phase cache runs on the vectorised engine"),
        (["bench", "--backend", "warp"], "unknown indicator backend 'warp'"),
        (["bench", "--json", "results.txt"], "--json results.txt: use a .json file"),
        (["report", "--out", "report.pdf"], "--out report.pdf: use a .html or .htm file"),
    ],
)
def test_bad_outputs_backends_and_phases_fail_before_any_work(tmp_path, capsys, argv, message):
    missing = ["--universe", str(tmp_path / "no-store")] if argv[0] != "report" else []
    assert main([*argv, *missing]) == 2
    err = capsys.readouterr().err
    assert err.startswith("technic: error: ") and message in err and "no store" not in err


def test_a_backend_that_cannot_run_is_refused_before_the_bench_starts(tmp_path, capsys):
    from technic_core import indicators

    down = [b for b in indicators.registered_backends() if indicators.unavailable_reason(b)]
    if not down:
        pytest.skip("every backend runs here")
    assert main(["bench", "--backend", down[0], "--universe", str(tmp_path / "no-store")]) == 2
    assert f"--backend {down[0]} cannot run here" in capsys.readouterr().err


def test_an_output_in_an_unwritable_place_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert (
        main(
            [
                "scan",
                "--universe",
                str(tmp_path / "no-store"),
                "--output",
                str(tmp_path / "file" / "t.csv"),
            ]
        )
        == 2
    )
    assert "is a file, not a directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "--repeat", "0"],
        ["bench", "--sample", "-5"],
        ["data", "generate", "--symbols", "0"],
        ["serve", "--port", "70000"],
        ["serve", "--error-rate", "2"],
        ["scan", "--cache-ttl", "-1"],
    ],
)
def test_bad_numbers_are_refused_by_the_parser(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and "error: argument" in capsys.readouterr().err


def _commands(parser, prefix=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*prefix, name))
    yield prefix, parser


def test_every_option_has_help_that_gives_its_default():
    parser = build_parser()
    for names, sub in _commands(parser):
        text = sub.format_help()
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"technic {' '.join(names)} {action.option_strings}: no help"
            if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
                continue  # a switch: off unless given
            shown = sub._get_formatter()._get_help_string(action) % {"default": action.default}
            assert "default" in shown.lower() or "required" in shown.lower(), (
                names,
                action.option_strings,
            )
        assert "(default: None)" not in text, names


def test_top_level_help_is_for_users_not_a_docstring(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "parse arguments, call one function" not in out
    assert "stock scanner" in out and "bench" in out and "report" in out


def test_report_piped_to_a_log_has_no_escape_codes(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "technic_core",
            "report",
            "--bench",
            str(tmp_path / "none.json"),
            "--asv-results",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "r.html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "wrote " in proc.stdout and "\x1b" not in proc.stdout + proc.stderr
