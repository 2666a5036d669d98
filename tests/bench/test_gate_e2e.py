"""The gate end to end: real commits in a scratch repository, the real worker, real timings."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from technic_core.bench import gate
from technic_core.cli import main

pytest.importorskip("talib")
ROOT = Path(__file__).resolve().parents[2]
RSI = "technic_core/indicators/backends/talib_backend.py"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """Two commits: the package as it is, then the same with TA-Lib's RSI doing 60% more work."""
    os.environ.setdefault("TECHNIC_ASV_DATA", str(tmp_path_factory.mktemp("asvdata")))
    r = tmp_path_factory.mktemp("repo")
    shutil.copytree(ROOT / "technic_core", r / "technic_core",
                    ignore=shutil.ignore_patterns("__pycache__"))
    git(r, "init", "-q")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "base")
    src = (r / RSI).read_text()
    old = "def rsi(close, timeperiod):\n    return _loop(talib.RSI, close, timeperiod=timeperiod)"
    assert old in src
    (r / RSI).write_text(src.replace(old, old.replace("return _loop", "_loop(talib.RSI, close[:, : round(0.6 * close.shape[1])], timeperiod=timeperiod)\n    return _loop")))
    git(r, "commit", "-qam", "planted slowdown")
    return r


def run(repo, base, head):
    return gate.run_gate(base=base, head=head, repo=repo, select=["kernel.rsi", "kernel.sma"],
                         backend="talib", rounds=6)


def test_a_commit_against_itself_passes(repo):
    code, text, out = run(repo, "HEAD", "HEAD")
    assert code == 0, text
    rows = {r["name"]: r for r in out["rows"]}
    assert set(rows) == {"kernel.rsi", "kernel.sma"}
    assert all(r["status"] == "same" and r["rounds"] == 6 for r in rows.values())


def test_a_planted_slowdown_is_caught_and_named(repo):
    code, text, out = run(repo, "HEAD~1", "HEAD")
    rows = {r["name"]: r for r in out["rows"]}
    assert code == 1, text
    assert rows["kernel.rsi"]["status"] == "regression" and rows["kernel.rsi"]["ratio"] > 1.3
    assert rows["kernel.sma"]["status"] == "same"
    assert "REGRESSION" in text


def test_unknown_revision_is_exit_2(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    assert main(["gate", "--base", "no-such-rev", "--quiet"]) == 2
    assert "unknown revision 'no-such-rev'" in capsys.readouterr().err


def test_head_that_cannot_import_is_exit_2(repo, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(repo, bad)
    (bad / "technic_core" / "indicators" / "__init__.py").write_text("raise ImportError('broken on purpose')\n")
    git(bad, "commit", "-qam", "broken")
    code, text, _ = run(bad, "HEAD~1", "HEAD")
    assert code == 2 and "broken on purpose" in text
