"""Phase 3C: the vectorised engine's blocks as Ray tasks.

Ray is the distributed engine; this module only maps blocks onto it.  Each
task computes one block with the very function the in-process engine uses
(``vectorized.fetch_and_compute``), so a block's answer does not depend on
where it ran, and returns a small ``BlockResult`` (rows, errors, latest
closes, timings, and the node and process that computed it).

Where a task's bars come from:

* a local store: the task gets the store's path and version and its symbols
  and reads its own block, so bars never pass through the driver (every node
  must see the store at that path: a shared or replicated disk), and every
  block comes from the version the driver opened: each worker maps the
  version's panel once and slices its columns (issue 16);
* any other source: the driver reads each block once and ``ray.put``-s it;
  the task gets the object reference.  Only ``window`` blocks are in flight,
  so the driver's memory stays bounded by them too.

A worker that dies mid-task is Ray's to handle: tasks are retried
(``MAX_RETRIES``) on another worker.  Ray missing or failing to start is
reported once and, unless ``strict``, the scan runs on the in-process
engine; ``info['engine']`` always says which engine ran.

``import ray`` happens only here, and only when the phase runs.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...universe.schema import StoreError
from ...universe.store import BarBlock
from . import PhaseUnavailable
from .outcome import BlockOutcome, BlockResult, EngineOptions
from .vectorized import (
    AUTO,
    block_result,
    fetch_and_compute,
    resolve_block_size,
    run_blocks,
    split,
)

# Symbols per task for block_size="auto": per-task cost (scheduling, shipping
# the result, ~10-20 ms here) stays a few percent of a block's compute.
RAY_BLOCK_SIZE = 2048
MAX_RETRIES = 3  # Ray re-runs a task whose worker or node died, this many times
STALL_S = 600.0  # no block finished for this long: the cluster is stuck, stop waiting
PROBE_S = 5.0  # how long to try reaching a cluster address before giving up
WARMUP_S = 300.0  # bound on the warm-up tasks (imports, JIT compilation)
ENGINE = "ray"
IN_PROCESS = "in-process"


class RayUnavailable(PhaseUnavailable):
    """Ray is not installed, or could not start or be reached; the message says which."""


class RayFallback(UserWarning):
    """The ray phase did not run; the in-process engine did."""


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(f"ray is not installed ({exc}); pip install 'technic[ray]'") from None
    return ray


def local_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# -- the task ------------------------------------------------------------------
_WORKER_SOURCES: dict[tuple, object] = {}


def _worker_source(source: tuple[str, int]):
    """A LocalSource per worker process, reused across tasks of the same store version.

    ``source`` is (store path, version): every task reads the version the
    driver opened, whatever a writer has committed since.
    """
    from ...sources.local import LocalSource

    root, version = source
    src = _WORKER_SOURCES.get((root, version))
    if src is None:
        try:
            src = LocalSource(root, version=version)
        except StoreError as exc:
            raise StoreError(
                f"a Ray worker on {socket.gethostname()} cannot read the store at {root} "
                f"({exc}); every node must see the store at this path"
            ) from None
        _WORKER_SOURCES.clear()
        _WORKER_SOURCES[(root, version)] = src
    return src


def block_task(source, chunk: list[str], backend: str | None, strict: bool) -> BlockResult:
    """One block on a Ray worker: ``source`` is (store path, version) or the block itself."""
    import ray

    t0, c0 = time.perf_counter(), time.process_time()
    _task_threads(ray.get_runtime_context().get_assigned_resources().get("CPU", 1))
    if isinstance(source, BarBlock):
        res = block_result(source, backend, strict)
        res.timings = {"fetch": 0.0, **res.timings}
    else:
        src = _worker_source(source)
        res = fetch_and_compute(src, chunk, backend, strict)
        src.block_done()  # a large panel: this worker keeps no block's pages mapped
    res.where = {
        "engine": ENGINE,
        "node": ray.get_runtime_context().get_node_id(),
        "pid": os.getpid(),
        "first": chunk[0] if chunk else None,
        "n": len(chunk),
        "task_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
        "peak_rss_mb": _peak_rss_mb(),
    }
    return res


def _peak_rss_mb() -> float | None:
    """This worker process's peak RSS so far (Linux), to show what a block costs a node."""
    try:
        with open("/proc/self/status") as f:
            kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return None
    return kb / 1024


def _task_threads(cpus: float) -> None:
    """Numba's threads in this task: the CPUs Ray gave it, not every core of the node
    (each of the node's tasks would otherwise start a thread per core)."""
    try:
        import numba
    except ImportError:
        return
    numba.set_num_threads(max(1, min(int(cpus), numba.config.NUMBA_NUM_THREADS)))


def _tiny_block() -> BarBlock:
    """A small valid block: running it imports and compiles (Numba) the backend in a worker."""
    t, n = 300, 2
    rng = np.random.default_rng(0)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.01, (t, n)), axis=0))
    fields = {
        "open": close * 1.001,
        "high": close * 1.01,
        "low": close * 0.99,
        "close": close,
        "volume": np.full((t, n), 1e6),
    }
    return BarBlock(
        np.array(["A", "B"], dtype=object),
        fields,
        np.full(n, t, np.int64),
        np.full(n, np.datetime64("2024-01-01"), "datetime64[D]"),
    )


def warm_task(backend: str | None) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        block_result(_tiny_block(), backend, False)
    return os.getpid()


# -- the session ----------------------------------------------------------------
@dataclass
class RaySession:
    ray: object
    owned: bool  # we connected (and must disconnect / shut down)
    local: bool  # we started the cluster ourselves
    address: str
    start_s: float
    cpus: int


def _probe(address: str) -> None:
    """Fail fast on an unreachable address (``ray.init`` would retry for minutes)."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise RayUnavailable(f"Ray address {address!r} is not HOST:PORT (or ray://HOST:PORT, auto)")
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_S).close()
    except OSError as exc:
        raise RayUnavailable(f"cannot reach a Ray cluster at {address}: {exc}") from None


def open_session(address: str | None = None) -> RaySession:
    """Join ``address`` (or ``$RAY_ADDRESS``), or start a local Ray on this machine's cores.

    A Ray this process is already connected to is used as it is and left
    alone at the end (a benchmark or test that started Ray once).
    """
    t0 = time.perf_counter()
    ray = _ray()  # importing Ray is part of its start (~0.3 s)
    if ray.is_initialized():
        return RaySession(
            ray,
            False,
            False,
            ray.get_runtime_context().gcs_address,
            0.0,
            int(ray.cluster_resources().get("CPU", 0)),
        )
    address = address or os.environ.get("RAY_ADDRESS") or None
    quiet = {"logging_level": logging.WARNING, "log_to_driver": False}
    try:
        if address:
            _probe(address)
            import technic_core

            # Ship this process's package so every node runs the same code as the driver.
            ray.init(
                address=address,
                runtime_env={"py_modules": [str(Path(technic_core.__file__).parent)]},
                **quiet,
            )
        else:
            ray.init(address="local", num_cpus=local_cpus(), include_dashboard=False, **quiet)
    except RayUnavailable:
        raise
    except Exception as exc:  # any failure to start or join means: no Ray here
        if ray.is_initialized():
            ray.shutdown()
        where = f"join the Ray cluster at {address}" if address else "start a local Ray"
        raise RayUnavailable(f"could not {where}: {type(exc).__name__}: {exc}") from None
    return RaySession(
        ray,
        True,
        not address,
        ray.get_runtime_context().gcs_address,
        time.perf_counter() - t0,
        int(ray.cluster_resources().get("CPU", 0)),
    )


def close_session(session: RaySession) -> float:
    """Disconnect (a joined cluster keeps running) or stop the local Ray we started."""
    if not session.owned:
        return 0.0
    t0 = time.perf_counter()
    session.ray.shutdown()
    return time.perf_counter() - t0


def warm_up(session: RaySession, backend: str | None) -> float:
    """Import and compile the engine in every worker slot, outside the scan's time."""
    ray = session.ray
    t0 = time.perf_counter()
    task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES, scheduling_strategy="SPREAD")(warm_task)
    ray.get([task.remote(backend) for _ in range(max(1, session.cpus))], timeout=WARMUP_S)
    return time.perf_counter() - t0


# -- the run --------------------------------------------------------------------
def _store_root(src) -> tuple[str, int] | None:
    from ...sources.local import LocalSource

    if isinstance(src, LocalSource):
        return str(src.store.root.resolve()), src.store.version
    return None


def _describe(chunk: list[str]) -> str:
    if not chunk:
        return "an empty block"
    return f"the block {chunk[0]}..{chunk[-1]} ({len(chunk)} symbols)"


def _result(ray, ref, chunk: list[str]) -> BlockResult:
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        cause = getattr(err, "cause", None)
        if isinstance(cause, Exception):  # our own code raised: re-raise it as itself
            cause.add_note(f"(in the Ray task computing {_describe(chunk)})")
            raise cause from None
        raise
    except (
        ray.exceptions.WorkerCrashedError,
        ray.exceptions.NodeDiedError,
        ray.exceptions.ObjectLostError,
    ) as err:
        raise RuntimeError(
            f"Ray could not compute {_describe(chunk)} after {MAX_RETRIES} "
            f"retries: {type(err).__name__}: {err}"
        ) from None


def run_tasks(
    session: RaySession,
    src,
    chunks: list[list[str]],
    backend: str | None,
    strict: bool,
    progress=None,
) -> BlockOutcome:
    """Every chunk as one Ray task; results merged as they finish (order does not matter:
    the pipeline ranks after the merge)."""
    ray = session.ray
    # SPREAD: blocks are alike and independent; spreading them keeps every node busy
    # and spares the head node, which also runs the driver.
    task = ray.remote(
        num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False, scheduling_strategy="SPREAD"
    )(block_task)
    root = _store_root(src)
    # Enough tasks queued to keep every slot busy; bounded so put blocks stay few.
    window = max(2, 2 * session.cpus)
    out = BlockOutcome()
    pending: dict = {}
    todo = iter(range(len(chunks)))
    bar = progress(range(len(chunks))) if progress else None
    try:
        while True:
            while len(pending) < window:
                i = next(todo, None)
                if i is None:
                    break
                if root is not None:
                    pending[task.remote(root, chunks[i], backend, strict)] = i
                else:
                    t0 = time.perf_counter()
                    ref = ray.put(src.block(chunks[i]))  # read once, shipped once
                    out.add_time("fetch", time.perf_counter() - t0)
                    pending[task.remote(ref, chunks[i], backend, strict)] = i
            if not pending:
                break
            done, _ = ray.wait(list(pending), num_returns=1, timeout=STALL_S)
            if not done:
                raise RuntimeError(
                    f"no block finished in {STALL_S:.0f}s with {len(pending)} in flight on the Ray "
                    f"cluster at {session.address} (out of CPUs, or nodes lost?)"
                )
            for ref in done:
                i = pending.pop(ref)
                out.merge(_result(ray, ref, chunks[i]))
                if root is not None:
                    src.requests += 1  # the worker's read of the store
                if bar is not None:
                    bar.update(1)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    return out


def ray_block_size(n_symbols: int, cpus: int) -> int:
    """About RAY_BLOCK_SIZE symbols a task, in a multiple of ``cpus`` equal blocks so
    that every CPU gets the same work and none waits on a short last block."""
    cpus = max(1, cpus)
    k = max(1, -(-n_symbols // RAY_BLOCK_SIZE))
    k = -(-k // cpus) * cpus
    return max(1, -(-n_symbols // k))


def run(src, symbols: list[str], options: EngineOptions) -> BlockOutcome:
    """The engine contract (``outcome.Engine``): the blocks on Ray."""
    out = run_on_ray(
        src,
        symbols,
        options.backend,
        options.strict,
        options.block_size,
        options.ray_address,
        options.progress,
    )
    out.engine_info["blocks"] = out.blocks
    return out


def run_on_ray(
    src,
    symbols: list[str],
    backend: str | None,
    strict: bool,
    block_size: int | str | None,
    address: str | None,
    progress=None,
) -> BlockOutcome:
    """The blocks of ``symbols`` on Ray, or on the in-process engine if Ray cannot run.

    The outcome's ``engine_info`` names the engine that ran and Ray's costs; its
    ``outside_s`` holds the seconds spent starting (and warming) and stopping Ray,
    which the scan's total leaves out.
    """
    info: dict = {}
    split(symbols, block_size)  # a bad size fails before Ray starts
    try:
        session = open_session(address)
    except RayUnavailable as exc:
        if strict:
            raise
        warnings.warn(
            f"the ray phase cannot run ({exc}); running the blocks in-process",
            RayFallback,
            stacklevel=4,
        )
        out = run_blocks(src, symbols, backend, strict, block_size, progress)
        out.engine_info.update(
            engine=f"{IN_PROCESS} (ray unavailable: {exc})",
            block_size=resolve_block_size(block_size),
        )
        return out
    if block_size == AUTO:
        block_size = ray_block_size(len(symbols), session.cpus)
    info["block_size"] = block_size
    chunks = split(symbols, block_size)
    start = session.start_s
    shut = 0.0
    try:
        info["ray_start_s"] = round(session.start_s, 3)
        if session.owned:
            warm = warm_up(session, backend)
            info["ray_warmup_s"] = round(warm, 3)
            start += warm
        t0 = time.perf_counter()
        out = run_tasks(session, src, chunks, backend, strict, progress)
        wall = time.perf_counter() - t0
    finally:
        shut = close_session(session)
    out.outside_s.update(ray_start=start, ray_shutdown=shut)
    busy = sum(w.get("task_s", 0.0) for w in out.where)
    slots = max(1, min(session.cpus, len(chunks)))
    info.update(
        {
            "engine": ENGINE,
            "ray_cluster": (
                "local (started for this scan)"
                if session.local
                else f"{session.address} ({'joined' if session.owned else 'already connected'})"
            ),
            "ray_cpus": session.cpus,
            "ray_nodes": len({w["node"] for w in out.where}),
            "ray_tasks": len(chunks),
            "ray_bars": (
                "each task read its block from the store"
                if _store_root(src)
                else f"the driver read and ray.put {len(chunks)} blocks, one per task"
            ),
            "ray_shutdown_s": round(shut, 3),
            "ray_wall_s": round(wall, 3),
            "ray_task_s": round(busy, 3),
            "ray_task_cpu_s": round(sum(w.get("cpu_s", 0.0) for w in out.where), 3),
            # share of the slots' time not spent inside tasks: scheduling, transfer, imbalance
            "ray_idle_pct": round(100.0 * max(0.0, 1.0 - busy / (wall * slots)), 1)
            if wall > 0
            else 0.0,
            "ray_worker_peak_rss_mb": round(
                max((w["peak_rss_mb"] or 0.0 for w in out.where), default=0.0), 1
            ),
            "_blocks_where": out.where,
        }
    )
    out.engine_info.update(info)
    return out
