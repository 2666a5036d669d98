"""Issue 14, items 1 and 2 and the writer's promises: one writer at a time, atomic versions.

Every test names the defect it guards and checks that nothing was lost: the
store's rows before and after, and a vectorised scan against the baseline.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from technic_core.cli import main
from technic_core.scan import results_match, scan
from technic_core.universe import Store, StoreError
from technic_core.universe.importer import import_store
from technic_core.universe.store import StoreDamaged

from ..helpers import make_store
from .helpers import (
    REPO,
    assert_panel_agrees,
    consolidated_file,
    long_frame,
    rows,
    run_technic,
    same_rows,
    symbol_file,
    technic_cmd,
    vendor_csv,
    write_csvs,
)

QUIET = {"log": lambda *_: None}


def assert_consistent(root) -> None:
    """The store opens, lists only symbols with bars, and every phase reads the same bars."""
    store = Store(root)
    uni = set(store.universe()["symbol"])
    stored = set(rows(root)["symbol"])
    assert uni == stored, (sorted(uni - stored), sorted(stored - uni))
    base = scan(root, phases="baseline")
    fast = scan(root, phases="prefetch,prescreen,vectorized")
    assert results_match(base, fast) == []
    assert_panel_agrees(root)  # the panel is the manifest's, bar for bar (issue 16)


@pytest.mark.slow
def test_two_imports_at_once_both_land(tmp_path):
    """Item 1: two `technic data import` runs into one --out at once both exited 0, and one
    run's symbols vanished (sometimes leaving bars.parquet corrupt)."""
    long, syms = long_frame(30, 270, seed=3)
    a = write_csvs(tmp_path / "in_a", long, syms[:15])
    b = write_csvs(tmp_path / "in_b", long, syms[15:])
    for trial in range(2):
        out = tmp_path / f"store{trial}"
        procs = [
            subprocess.Popen(
                technic_cmd("data", "import", "--bars", src, "--out", out),
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for src in (a, b)
        ]
        outs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        same_rows(rows(out), long)
        assert_consistent(out)


def test_a_second_writer_waits_and_names_the_holder(tmp_path):
    from technic_core.universe.writer import StoreLock

    root = make_store(tmp_path / "s", 12, 260, seed=5)
    feed_long, feed_syms = long_frame(3, 260, seed=99)
    feed = write_csvs(
        tmp_path / "feed",
        feed_long.assign(symbol=lambda d: "N" + d["symbol"]),
        ["N" + s for s in feed_syms],
    )
    before = rows(root)
    with StoreLock(root, purpose="the test holding the lock"):
        p = subprocess.Popen(
            technic_cmd("data", "import", "--bars", feed, "--out", root, "--lock-timeout", "120"),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = p.stderr.readline()  # blocks until the waiter speaks
        assert (
            "waiting" in line
            and f"pid {os.getpid()}" in line
            and "the test holding the lock" in line
        ), line
        assert p.poll() is None  # it waits, it does not write
        assert rows(root).equals(before)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    after = rows(root)
    same_rows(after[after["symbol"].isin(before["symbol"].unique())], before)
    assert {"N" + s for s in feed_syms} <= set(after["symbol"])


def test_a_writer_without_patience_fails_naming_the_holder(tmp_path, capsys):
    from technic_core.universe.writer import StoreLock

    root = make_store(tmp_path / "s", 8, 260, seed=5)
    feed_long, feed_syms = long_frame(2, 260, seed=98)
    feed = write_csvs(tmp_path / "feed", feed_long, feed_syms)
    before, version = rows(root), Store(root).version
    with StoreLock(root, purpose="another import"):
        t0 = time.monotonic()
        code = main(
            ["data", "import", "--bars", str(feed), "--out", str(root), "--lock-timeout", "0.5"]
        )
        assert time.monotonic() - t0 < 10
    err = capsys.readouterr().err
    assert code == 2 and f"pid {os.getpid()}" in err and "another import" in err, err
    assert Store(root).version == version and rows(root).equals(before)


# A writer in a child process that SIGKILLs itself at one named step of the commit.
CRASH = """
import os, signal, sys
import technic_core.universe.writer as w
def checkpoint(step):
    if step == sys.argv[1]:
        os.kill(os.getpid(), signal.SIGKILL)
w._checkpoint = checkpoint
from technic_core.universe.importer import import_store
import_store([sys.argv[2]], sys.argv[3], log=lambda *_: None)
"""


def _feed(tmp_path, root):
    """Corrections, new sessions for a few symbols, and a new symbol: a typical vendor update."""
    store = Store(root)
    syms = store.universe()["symbol"].tolist()
    parts = []
    for k, s in enumerate(syms[:4]):
        b = store.bars(s).assign(symbol=s)
        b.loc[b.index[-50], ["close", "high"]] = b.loc[b.index[-50], "high"] * 1.05
        nxt = b.iloc[[-1]].assign(date=b["date"].iloc[-1] + pd.offsets.BDay(1 + k))
        parts.append(pd.concat([b, nxt]))
    new_long, new_syms = long_frame(1, 270, seed=77)
    parts.append(new_long.assign(symbol="NEWSY"))
    feed = pd.concat(parts, ignore_index=True)
    return vendor_csv(feed, tmp_path / "feed.csv", symbol_column=True), feed


@pytest.fixture(scope="module")
def expected_after_feed(tmp_path_factory):
    """The store a completed import of the feed gives (computed once, uncrashed)."""
    tmp = tmp_path_factory.mktemp("want")
    root = make_store(tmp / "s", 14, 270, seed=8)
    path, _ = _feed(tmp, root)
    import_store([str(path)], root, **QUIET)
    return rows(root), Store(root).universe()


STEPS = ("symbol-file", "symbol-files", "panel", "artifacts", "manifest-staged", "committed")


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS)
def test_a_writer_killed_at_any_step_leaves_a_whole_version(tmp_path, step, expected_after_feed):
    """A crash at any point leaves the previous version intact and readable (or, once the
    manifest is switched, the new one), and the next writer clears the dead writer's files."""
    root = make_store(tmp_path / "s", 14, 270, seed=8)
    before, version = rows(root), Store(root).version
    path, _ = _feed(tmp_path, root)
    p = subprocess.run(
        [sys.executable, "-c", CRASH, step, str(path), str(root)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == -signal.SIGKILL, p.stderr
    want_rows, want_uni = expected_after_feed
    if step == "committed":
        assert Store(root).version == version + 1
        same_rows(rows(root), want_rows)
    else:
        assert Store(root).version == version
        same_rows(rows(root), before)
    assert_consistent(root)
    # the next writer finishes the job and leaves no file no version names
    import_store([str(path)], root, **QUIET)
    same_rows(rows(root), want_rows)
    from technic_core.universe.writer import unreferenced_files

    assert unreferenced_files(root) == []


@pytest.mark.slow
def test_a_writer_killed_at_random_moments(tmp_path, expected_after_feed):
    """Item 1's corrupt bars.parquet: SIGKILL at random moments of a real import."""
    want_rows, _ = expected_after_feed
    rng = random.Random(14)
    root = make_store(tmp_path / "s", 14, 270, seed=8)
    before, version = rows(root), Store(root).version
    path, _ = _feed(tmp_path, root)
    script = (
        "import sys; from technic_core.universe.importer import import_store; print('go', flush=True); "
        "import_store([sys.argv[1]], sys.argv[2], log=lambda *_: None)"
    )
    for _ in range(5):
        p = subprocess.Popen(
            [sys.executable, "-c", script, str(path), str(root)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert p.stdout.readline().strip() == "go"
        time.sleep(rng.uniform(0.0, 1.2))
        p.send_signal(signal.SIGKILL)
        p.wait(60)
        p.stdout.close()
        v = Store(root).version
        same_rows(rows(root), before if v == version else want_rows)
        if v != version:
            break
    assert_consistent(root)


def test_importing_into_a_store_with_an_unreadable_symbol_file_keeps_it(tmp_path):
    """Item 2: a symbol whose file could not be read was deleted by the next import (its intact
    rows in bars.parquet and its universe row), with exit 0."""
    root = make_store(tmp_path / "s", 16, 270, seed=6)
    victim = Store(root).universe()["symbol"].iloc[3]
    before = rows(root)
    symbol_file(root, victim).write_bytes(b"not parquet")
    new_long, new_syms = long_frame(2, 270, seed=61)
    feed = write_csvs(
        tmp_path / "feed",
        new_long.assign(symbol=lambda d: "Q" + d["symbol"]),
        ["Q" + s for s in new_syms],
    )
    report = import_store([str(feed)], root, **QUIET)
    assert victim not in report.unlisted
    assert victim in set(Store(root).universe()["symbol"])
    after = rows(root)
    same_rows(after[after["symbol"].isin(before["symbol"].unique())], before)
    assert_consistent(root)


def test_a_symbol_unreadable_in_every_copy_is_kept_as_it_is(tmp_path):
    """Item 2, worse: its file, the consolidated file and the panel all damaged. The import keeps the
    symbol listed with its files untouched (the scan still reports it), loses no other bars."""
    root = make_store(tmp_path / "s", 16, 270, seed=6)
    store = Store(root)
    victim = store.universe()["symbol"].iloc[3]
    before = rows(root)
    symbol_file(root, victim).write_bytes(b"not parquet")
    cfile = consolidated_file(root)
    cfile.write_bytes(cfile.read_bytes()[: cfile.stat().st_size // 2])
    pfile = store.file("panel")  # the third copy (issue 16)
    pfile.write_bytes(pfile.read_bytes()[: pfile.stat().st_size // 2])
    new_long, new_syms = long_frame(1, 270, seed=62)
    feed = write_csvs(tmp_path / "feed", new_long.assign(symbol="QNEW"), ["QNEW"])
    with pytest.warns(StoreDamaged, match=r"bars\.parquet is damaged|not using the panel"):
        report = import_store([str(feed)], root, **QUIET)
    assert any(s == victim and "kept as it is" in r for _, s, r in report.skipped), report.skipped
    assert victim in set(Store(root).universe()["symbol"])
    after = rows(root)
    others = before[before["symbol"] != victim]
    same_rows(after[after["symbol"].isin(others["symbol"].unique())], others)
    res = scan(root, phases="prefetch,prescreen,vectorized")
    assert "unreadable" in dict(zip(res.errors["symbol"], res.errors["reason"]))[victim]


def test_cli_import_reports_and_exit_codes(tmp_path):
    """The CLI import prints what it did; a run that imports nothing is not exit 0."""
    long, syms = long_frame(3, 260, seed=4)
    feed = write_csvs(tmp_path / "feed", long, syms)
    p = run_technic("data", "import", "--bars", feed, "--out", tmp_path / "s")
    assert p.returncode == 0 and "store version 1" in p.stdout, p.stdout + p.stderr
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "X.csv").write_text("a,b\n1,2\n")
    p = run_technic("data", "import", "--bars", tmp_path / "junk", "--out", tmp_path / "s")
    assert p.returncode != 0 and "Traceback" not in p.stderr


def test_an_import_never_overwrites_a_format_2_store(tmp_path):
    """A store of the old layout is refused with the advice to rebuild it, its files untouched."""
    old = tmp_path / "old"
    (old / "bars").mkdir(parents=True)
    (old / "meta.json").write_text('{"format": 2}')
    (old / "bars" / "AAA.parquet").write_bytes(b"old bars")
    long, syms = long_frame(1, 260, seed=5)
    feed = write_csvs(tmp_path / "feed", long, syms)
    with pytest.raises(StoreError, match="format 2.*rebuild"):
        import_store([str(feed)], old, **QUIET)
    assert (old / "bars" / "AAA.parquet").read_bytes() == b"old bars" and not (
        old / "manifest.json"
    ).exists()
