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
    proc = subprocess.run([asv, "check", "-E", f"existing:{sys.executable}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No problems found" in proc.stdout


def test_deviation_counts_values_and_nan_places():
    from benchmarks.bench_correctness import deviation
    ref = np.array([[np.nan, 1.0, 200.0], [np.nan, 0.0, 50.0]])
    assert deviation(ref.copy(), ref) == (0.0, 0)
    ours = ref.copy()
    ours[0, 2] = 200.0 * (1 + 1e-6)
    ours[1, 1] = 1e-12          # near zero: absolute
    worst, nans = deviation(ours, ref)
    assert worst == pytest.approx(1e-6) and nans == 0
    ours[0, 0] = 3.0
    assert deviation(ours, ref)[1] == 1
    assert deviation((ours, ours), (ref, ref))[1] == 2   # tuples: every output counted
