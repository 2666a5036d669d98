"""The asv suite: asv accepts it, and its correctness figure measures what it says."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_asv_check_passes():
    pytest.importorskip("asv")
    asv = shutil.which("asv") or str(Path(sys.executable).with_name("asv"))
    if not Path(asv).exists():
        pytest.skip("no asv executable beside this python")
    # existing env: discovery and signature checks only, nothing is built or run.
    proc = subprocess.run(
        [asv, "check", "-E", f"existing:{sys.executable}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No problems found" in proc.stdout


def test_deviation_counts_values_and_nan_places():
    from benchmarks.bench_correctness import deviation

    ref = np.array([[np.nan, 1.0, 200.0], [np.nan, 0.0, 50.0]])
    assert deviation(ref.copy(), ref) == (0.0, 0)
    ours = ref.copy()
    ours[0, 2] = 200.0 * (1 + 1e-6)
    ours[1, 1] = 1e-12  # near zero: absolute
    worst, nans = deviation(ours, ref)
    assert worst == pytest.approx(1e-6) and nans == 0
    ours[0, 0] = 3.0
    assert deviation(ours, ref)[1] == 1
    assert deviation((ours, ours), (ref, ref))[1] == 2  # tuples: every output counted


def test_the_cache_suites_next_session_store_is_made_once(tmp_path, monkeypatch):
    """A second call (the gate's other tree, asv's next benchmark) reuses the store: a completeness
    check that named another format's file rebuilt it and failed the rename onto it."""
    monkeypatch.setenv("TECHNIC_ASV_DATA", str(tmp_path))
    from benchmarks import bench_cache

    monkeypatch.setattr(bench_cache, "SMALL", 40)
    today, tomorrow = bench_cache._small_stores()
    stamp = {p: p.stat().st_mtime_ns for p in tomorrow.rglob("*")}
    assert bench_cache._small_stores() == (today, tomorrow)
    assert {p: p.stat().st_mtime_ns for p in tomorrow.rglob("*")} == stamp
    from technic_core.universe.store import Store

    assert Store(tomorrow).index()["n_bars"].max() == Store(today).index()["n_bars"].max() + 1


def test_a_cached_store_without_a_panel_is_not_reused(tmp_path, monkeypatch):
    """The data cache's directory names the panel format: a store an older writer left
    without a panel (found on this machine: every scan benchmark timed the Parquet fallback)
    is not picked up by a commit that reads panels; that commit makes its own, with one."""
    monkeypatch.setenv("TECHNIC_ASV_DATA", str(tmp_path))
    from benchmarks import common
    from technic_core.universe.panel import PANEL_FORMAT
    from technic_core.universe.store import Store

    old = tmp_path / f"store-f{common._store_format()}" / "u40x504s7"
    old.mkdir(parents=True)
    (old / common.store_marker(common._store_format())).write_text("{}")  # a panel-less leftover
    assert common.store_kind().endswith(f"p{PANEL_FORMAT}")
    root = common.store_path(40)
    assert root != old and root.parent.name == f"store-{common.store_kind()}"
    assert Store(root).panel() is not None
