"""The ray phase on a real local Ray: identical answers, faults, fallback."""

import os
import sys
import warnings

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from technic_core.cli import main  # noqa: E402
from technic_core.scan import results_match, scan  # noqa: E402
from technic_core.scan.compare import table_differences  # noqa: E402
from technic_core.scan.phases.ray_phase import RayFallback, RayUnavailable  # noqa: E402
from technic_core.scan.phases.vectorized import split  # noqa: E402
from technic_core.sources import LocalSource  # noqa: E402
from technic_core.sources.http_client import HttpSource  # noqa: E402
from technic_core.sources.http_server import serve_in_thread  # noqa: E402
from technic_core.universe import Store  # noqa: E402
from technic_core.universe.schema import StoreError  # noqa: E402

from ..helpers import make_store, rows_of  # noqa: E402
from .helpers import BACKEND, PHASES, RAY_PHASES, WorkerKiller, reference  # noqa: E402

UNREACHABLE = "127.0.0.1:1"  # nothing listens on port 1: refused at once

# a real local Ray per test module: `pytest -m "not slow"` leaves it out of a quick run
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store"), 90, 280, seed=5)


@pytest.fixture(scope="module")
def ref(store):
    return reference(store)


def _to_fetch(res):
    """How many symbols reached the block engine (after pre-screening)."""
    return res.n_symbols - res.info["history_fetches_saved"]


def test_scan_starts_a_local_ray_and_stops_it(store, ref):
    assert not ray.is_initialized()
    res = scan(store, phases=RAY_PHASES, backend=BACKEND, block_size=16)
    assert not ray.is_initialized(), "the scan must shut down the Ray it started"
    assert results_match(ref, res) == []
    assert res.info["engine"] == "ray"
    assert res.info["ray_cluster"].startswith("local")
    # Ray's start is reported apart and is not part of the scan's total
    assert res.timings["ray_start"] > 0 and res.info["ray_start_s"] > 0
    assert res.timings["total"] < sum(res.timings[k] for k in res.timings if k != "total")
    assert (
        res.info["blocks"] == res.info["ray_tasks"] == len(split(list(range(_to_fetch(res))), 16))
    )
    assert res.info["ray_bars"] == "each task read its block from the store"


def test_unreachable_cluster_falls_back_and_says_so(store, ref, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.warns(RayFallback, match="cannot reach a Ray cluster at 127.0.0.1:1"):
        res = scan(
            store, phases=RAY_PHASES, backend=BACKEND, block_size=16, ray_address=UNREACHABLE
        )
    assert res.info["engine"].startswith("in-process (ray unavailable: cannot reach")
    assert results_match(ref, res) == []
    with pytest.raises(RayUnavailable, match="127.0.0.1:1"):
        scan(store, phases=RAY_PHASES, backend=BACKEND, ray_address=UNREACHABLE, strict=True)
    # RAY_ADDRESS is the default address
    monkeypatch.setenv("RAY_ADDRESS", UNREACHABLE)
    with pytest.warns(RayFallback, match="127.0.0.1:1"):
        res = scan(store, phases=RAY_PHASES, backend=BACKEND, block_size=16)
    assert "ray unavailable" in res.info["engine"]


def test_ray_not_installed_falls_back(store, ref, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets without the package
    with pytest.warns(RayFallback, match="ray is not installed"):
        res = scan(store, phases=RAY_PHASES, backend=BACKEND, block_size=16)
    assert res.info["engine"].startswith("in-process (ray unavailable: ray is not installed")
    assert results_match(ref, res) == []
    with pytest.raises(RayUnavailable, match="not installed"):
        scan(store, phases=RAY_PHASES, backend=BACKEND, strict=True)


def test_cli_reports_the_engine_and_strict_errors(store, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RayFallback)
        assert (
            main(
                [
                    "scan",
                    "--universe",
                    str(store),
                    "--phases",
                    RAY_PHASES,
                    "--backend",
                    BACKEND,
                    "--block-size",
                    "8",
                    "--ray-address",
                    UNREACHABLE,
                    "--quiet",
                ]
            )
            == 0
        )
    out = capsys.readouterr().out
    assert "engine: in-process (ray unavailable: cannot reach a Ray cluster at 127.0.0.1:1" in out
    assert (
        main(
            [
                "scan",
                "--universe",
                str(store),
                "--phases",
                RAY_PHASES,
                "--backend",
                BACKEND,
                "--ray-address",
                UNREACHABLE,
                "--strict",
                "--quiet",
            ]
        )
        == 2
    )
    assert "cannot reach a Ray cluster" in capsys.readouterr().err


def test_ray_needs_the_vectorized_phase(store):
    with pytest.raises(ValueError, match="runs on the vectorised engine: add it"):
        scan(store, phases="prefetch,ray")


# -- one local Ray for the rest of the module -----------------------------------
@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.mark.parametrize("block_size", [1, 7, 32, None])
def test_every_block_size_gives_the_reference_answer(local_ray, store, ref, block_size):
    res = scan(store, phases=RAY_PHASES, backend=BACKEND, block_size=block_size)
    assert res.info["engine"] == "ray"
    assert "already connected" in res.info["ray_cluster"]
    assert ray.is_initialized(), "a Ray the caller started must be left running"
    assert res.info["blocks"] == len(split(list(range(_to_fetch(res))), block_size))
    assert results_match(ref, res) == []


def test_a_source_that_is_not_a_store_ships_blocks(local_ray, store, ref):
    with serve_in_thread(store) as (url, _), HttpSource(url) as src:
        res = scan(src, phases=RAY_PHASES, backend=BACKEND, block_size=10)
    assert res.info["engine"] == "ray"
    assert res.info["source"].startswith("HTTP API")
    assert (
        res.info["ray_bars"]
        == f"the driver read and ray.put {res.info['blocks']} blocks, one per task"
    )
    assert results_match(ref, res) == []


def test_a_killed_worker_is_retried_by_ray(local_ray, tmp_path):
    root = make_store(tmp_path, 160, 504, seed=9)
    want = reference(root)
    for _ in range(3):  # the scan may end before a worker is caught mid-block; try again
        killer = WorkerKiller()
        killer.start()
        try:
            res = scan(root, phases=RAY_PHASES, backend=BACKEND, block_size=3)
        finally:
            killer.stop.set()
            killer.join(5)
        assert results_match(want, res) == []
        if killer.killed:
            break
    assert killer.killed, "no worker was caught computing a block"
    # every block came back although one died mid-task: Ray ran it again
    assert res.info["blocks"] == len(split(list(range(_to_fetch(res))), 3))
    print(
        f"killed worker {killer.killed[0]}; blocks by pid:",
        sorted({w["pid"] for w in res.info["_blocks_where"]}),
    )


def _bad_store(tmp_path, victims):
    def edit(uni, long):
        long = long.copy()
        long.loc[rows_of(long, victims[0])[-30], "close"] = np.nan
        long.loc[rows_of(long, victims[1])[-5], "low"] = -1.0
        return uni, long

    root = make_store(tmp_path, 90, 280, seed=5, edit=edit)
    store = Store(root)
    store.bar_file(victims[2]).write_bytes(b"not parquet")  # every copy of its bars damaged
    cfile = store.file("bars")
    cfile.write_bytes(cfile.read_bytes()[:100])
    pfile = store.file("panel")
    pfile.write_bytes(pfile.read_bytes()[:100])
    return root


# The damaged files are the scenario (their warnings are asserted in tests/reliability).
@pytest.mark.filterwarnings("ignore::technic_core.universe.store.StoreDamaged")
def test_a_block_with_bad_data_reports_its_symbols(local_ray, store, ref, tmp_path):
    # three neighbours (one or two blocks of 8) that pass every rule when their data is clean
    passing = list(ref.table.sort_values("symbol")["symbol"])
    uni = list(Store(store).universe()["symbol"])
    victims = sorted(passing[10:13], key=uni.index)
    root = _bad_store(tmp_path, victims)
    res = scan(root, phases=RAY_PHASES, backend=BACKEND, block_size=8)
    errs = dict(zip(res.errors["symbol"], res.errors["reason"]))
    assert "non-finite value (close=nan)" in errs[victims[0]]
    assert "non-positive value (low=-1)" in errs[victims[1]]
    assert "unreadable bars file" in errs[victims[2]]
    # the same errors as the in-process engine; the other symbols' rows stand
    inproc = scan(root, phases=PHASES, backend=BACKEND, block_size=8)
    assert results_match(inproc, res) == []
    others = ref.table[~ref.table["symbol"].isin(victims)].drop(columns=["rank", "sector_pct"])
    got = res.table.drop(columns=["rank", "sector_pct"])
    assert table_differences(others.reset_index(drop=True), got.reset_index(drop=True)) == []


def test_a_store_no_worker_can_read_fails_loudly(local_ray, tmp_path):
    # the driver has opened the store; then the consolidated file goes away
    root = make_store(tmp_path / "s", 30, 120, seed=2)
    src = LocalSource(root)
    src.universe()
    os.rename(root, tmp_path / "moved")
    with pytest.raises(StoreError, match="cannot read the store at .*no store at") as info:
        scan(src, phases="vectorized,ray", backend=BACKEND, block_size=10)
    assert "in the Ray task computing the block" in str(info.value.__notes__)
