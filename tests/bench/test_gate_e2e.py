"""The gate end to end: real commits in a scratch repository, the real workers, asv_runner, real timings."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from technic_core.bench import gate
from technic_core.bench.gate import report, trials
from technic_core.cli import main
from technic_core.report.gate_section import gate_section, last_gate_runs

pytest.importorskip("asv_runner")
pytest.importorskip("psutil")
ROOT = Path(__file__).resolve().parents[2]
STATE = "technic_core/indicators/kernels/state_step.py"

# real commits, workers and timings (minutes): `pytest -m "not slow"` leaves it out of a quick run
pytestmark = pytest.mark.slow
STORE_BENCH = "benchmarks/bench_store.py"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}
ADVANCE = "bench_cache.StateAdvance.time_advance_one_bar_all_symbols"


def git(repo, *args):
    subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The package and its asv suite as they are, committed once (the base of every test)."""
    os.environ.setdefault("TECHNIC_ASV_DATA", str(tmp_path_factory.mktemp("asvdata")))
    r = tmp_path_factory.mktemp("repo")
    for part in ("technic_core", "benchmarks"):
        shutil.copytree(ROOT / part, r / part, ignore=shutil.ignore_patterns("__pycache__"))
    git(r, "init", "-q")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "base")
    return r


def commit_change(repo, tmp_path, rel, old, new, name):
    """A copy of ``repo`` with one more commit: ``old`` replaced by ``new`` in ``rel``
    (``old`` None: ``new`` appended)."""
    r = tmp_path / name
    shutil.copytree(repo, r)
    text = (r / rel).read_text()
    if old is None:
        text, old = text + new, ""
    assert text.count(old) >= 1 if not old else text.count(old) == 1, (
        f"{rel} changed: the test's edit no longer applies"
    )
    (r / rel).write_text(text.replace(old, new) if old else text)
    git(r, "commit", "-qam", name)
    return r


def test_a_slower_state_advance_is_caught_and_named(repo, tmp_path):
    """The cache path's state advance doing its work twice (on copies): exit 1, that benchmark named."""
    # advance_serial: one bar for every symbol stays under PARALLEL_MIN_BARS
    loop = trials._ADVANCE_LOOP  # the trials' state plant edits the same loop
    planted = (
        "    scratch = S.copy()\n"
        + loop.replace("_chunk(\n            S,", "_chunk(\n            scratch,")
        + loop
    )
    assert planted.count("scratch") == 2
    slow = commit_change(repo, tmp_path, STATE, loop, planted, "slow")
    code, text, out = gate.run_gate(
        base="HEAD~1", head="HEAD", repo=slow, select=["StateAdvance"], rounds=10, scaling=False
    )
    assert code == 1, text
    assert out["regressions"] == [ADVANCE]
    row = {r["name"]: r for r in out["rows"]}[ADVANCE]
    assert row["status"] == "regression" and row["ratio"] > 1.5 and "confirmed" in row["note"]
    assert "REGRESSION" in text and ADVANCE in text
    # the confirmation ran on trees extracted again, in new processes
    confirm = out["raw"]["confirm"]
    assert confirm["benchmarks"][0]["name"] == ADVANCE
    assert all(Path(t).name.endswith("-rebuilt") for t in confirm["versions"].values())
    assert all(not Path(t).name.endswith("-rebuilt") for t in out["raw"]["versions"].values())


def test_a_benchmark_the_head_dropped_is_removed_not_failed(repo, tmp_path):
    old = "    def time_block(self):\n        self.store.block(self.symbols)\n\n"
    dropped = commit_change(repo, tmp_path, STORE_BENCH, old, "", "dropped")
    code, text, out = gate.run_gate(
        base="HEAD~1",
        head="HEAD",
        repo=dropped,
        select=["bench_store.StoreRead"],
        rounds=6,
        scaling=False,
    )
    rows = {r["name"]: r for r in out["rows"]}
    assert code == 0, text
    assert rows["bench_store.StoreRead.time_block"]["status"] == "removed"
    kept = rows["bench_store.StoreRead.time_bars_per_symbol"]
    assert kept["status"] in ("same", "improved") and kept["rounds"] >= 5  # measured, not failed
    assert "removed" in text
    # the report files: latest JSON and Markdown, and the history line the HTML report reads
    written = report.write(out, tmp_path / "reports")
    assert all(p.is_file() for p in written)
    last = last_gate_runs(tmp_path / "reports")
    assert last[0]["exit"] == 0 and last[0]["removed"] == ["bench_store.StoreRead.time_block"]
    assert "bench_store.StoreRead.time_block" in gate_section(tmp_path / "reports")


def test_unknown_revision_is_exit_2(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    assert main(["gate", "--base", "no-such-rev", "--quiet", "--reports", "-"]) == 2
    assert "unknown revision 'no-such-rev'" in capsys.readouterr().err


def test_head_that_cannot_import_is_exit_2(repo, tmp_path):
    bad = commit_change(
        repo,
        tmp_path,
        "technic_core/indicators/__init__.py",
        None,
        '\nraise ImportError("broken on purpose")\n',
        "broken",
    )
    code, text, _ = gate.run_gate(
        base="HEAD~1", head="HEAD", repo=bad, select=["StoreRead"], rounds=3, scaling=False
    )
    assert code == 2 and "broken on purpose" in text
