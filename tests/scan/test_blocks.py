"""The vectorised engine over blocks: the same answer for every block size, memory bounded by a block."""

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from technic_core.cli import main
from technic_core.scan import results_match, scan
from technic_core.scan.phases.vectorized import split
from technic_core.universe import Store

from ..helpers import make_store

BACKEND = "talib"  # exact; the engine's own backends are compared with it elsewhere
PHASES = "prefetch,prescreen,vectorized"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store"), 100, 280, seed=13)


@pytest.fixture(scope="module")
def one_block(store):
    return scan(store, phases=PHASES, backend=BACKEND, block_size=None)


def test_one_block_is_the_baseline_answer(store, one_block):
    try:
        base = scan(store, phases="baseline")
    except ImportError as exc:  # the pandas backend is another helper's
        pytest.skip(f"baseline backend not here yet: {exc}")
    assert results_match(base, one_block) == []


@pytest.mark.parametrize("block_size", [1, 2, 3, 17, 64, 99, 100, 1000])
def test_every_block_size_gives_one_answer(store, one_block, block_size):
    res = scan(store, phases=PHASES, backend=BACKEND, block_size=block_size)
    assert results_match(one_block, res) == []
    assert res.info["blocks"] == len(
        split(list(range(res.n_symbols - res.info["history_fetches_saved"])), block_size)
    )


def test_blocks_split_sectors(store):
    # blocks of 3 cut every sector into pieces: percentiles must come after the merge
    uni = Store(store).universe()
    pieces = [set(uni["sector"].iloc[i : i + 3]) for i in range(0, len(uni), 3)]
    sectors = set(uni["sector"])
    assert all(any(s in p for p in pieces[1:]) for s in sectors)
    assert any(len(p) > 1 for p in pieces)


def test_block_size_is_validated():
    with pytest.raises(ValueError, match="positive number of symbols"):
        split(["A", "B"], 0)
    assert split(["A", "B", "C"], 2) == [["A", "B"], ["C"]]
    assert split([], 5) == [[]]
    assert len(split(["A"] * 1100, "auto")) == 3  # "auto" in-process: 512 a block


def test_ray_auto_block_size_is_even_over_cpus():
    from technic_core.scan.phases.ray_phase import RAY_BLOCK_SIZE, ray_block_size

    assert ray_block_size(4538, 2) == 1135  # 4 equal blocks, two rounds on 2 CPUs
    assert ray_block_size(120, 3) == 40  # one block per CPU
    assert ray_block_size(100_000, 16) == 1563  # 64 blocks: 4 rounds on 16 CPUs
    assert ray_block_size(10, 32) == 1
    for n, cpus in [(5277, 2), (50_000, 7), (3, 1)]:
        size = ray_block_size(n, cpus)
        k = -(-n // size)
        assert size <= max(RAY_BLOCK_SIZE, 1) and (k % cpus == 0 or size == 1 or k < cpus)


def test_cli_block_size(store, capsys, tmp_path):
    out = tmp_path / "t.csv"
    assert (
        main(
            [
                "scan",
                "--universe",
                str(store),
                "--phases",
                PHASES,
                "--backend",
                BACKEND,
                "--block-size",
                "5",
                "--quiet",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    blocks = re.search(r"^blocks: (\d+)$", capsys.readouterr().out, re.M)
    assert blocks and int(blocks.group(1)) > 10
    with pytest.raises(SystemExit):
        main(["scan", "--universe", str(store), "--block-size", "0"])
    assert "not a positive number of symbols, 'auto' or 'all'" in capsys.readouterr().err


_PEAK = textwrap.dedent("""
    import json, sys
    from technic_core.scan import scan

    def status(key):  # this process's own figures (ru_maxrss would include the parent's at fork)
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(key))

    root, size = sys.argv[1], (None if sys.argv[2] == "all" else int(sys.argv[2]))
    from technic_core.universe import Store
    few = list(Store(root).universe()["symbol"][:20])  # imports and JIT compilation, not measured
    scan(root, phases="prefetch,prescreen,vectorized", backend="talib", block_size=8, symbols=few)
    before = status("VmRSS:")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current RSS
    scan(root, phases="prefetch,prescreen,vectorized", backend="talib", block_size=size)
    print(json.dumps({"before_kb": before, "peak_kb": status("VmHWM:")}))
""")


def _scan_growth_mb(root, size: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _PEAK, str(root), size],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return (r["peak_kb"] - r["before_kb"]) / 1024


@pytest.mark.slow
def test_peak_memory_is_bounded_by_the_block(tmp_path):
    # 2,000 symbols x 400 bars: one block holds ~6 MB per field; its indicators ~100 MB more
    root = make_store(tmp_path, 2000, 400, seed=4)
    whole = _scan_growth_mb(root, "all")
    blocks = _scan_growth_mb(root, "64")
    assert whole > 100, f"the one-block scan grew only {whole:.0f} MB: the test cannot tell"
    assert blocks < whole / 3, f"blocks of 64 grew {blocks:.0f} MB vs {whole:.0f} MB for one block"
