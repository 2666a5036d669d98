"""``technic gate``: did HEAD get slower than its base?  Exit 0, 1 (regression) or 2 (failure).

Both commits' ``technic_core`` are extracted (``git archive``) under
``.asv/gate/trees/``; one worker process per commit (``gate_worker``) times
the curated benchmarks when told to, and ``gate_pair`` makes them take turns
so that every head sample has a base sample taken just before or after it;
``gate_stats`` turns the paired samples into a verdict.  Why not ``asv
continuous``: it times each commit in its own runs, minutes apart, so on a
shared two-core machine a neighbour's burst lands on one side only.  The
cost: both commits run in the current environment, so a commit that changes
dependencies is measured with today's packages (``asv run`` builds each
commit in its own environment when that matters).
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from .gate_pair import WorkerError, run_pair
from .gate_stats import CLOCKS, Row, compare_entry, decide

DEFAULT_FACTOR = 1.2
DEFAULT_ROUNDS = 30
TARGET_S = 0.020          # seconds per sample (the loop count is calibrated to this)
MAX_S_PER_BENCH = 8.0     # a benchmark stops taking rounds after this
GATE_SYMBOLS = 1000       # (504, GATE_SYMBOLS) indicator inputs
SCAN_SYMBOLS = 500        # the store the scan benchmarks read
BASELINE_SYMBOLS = 10     # the per-symbol baseline scans this many
# One thread everywhere in the worker: a parallel kernel's wall time on a shared
# two-core machine depends on when its second thread gets a core, and its CPU
# time on how long idle threads spin.  Single-threaded CPU time is the work the
# code does; a kernel that does 30% more work costs 30% more of it.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}
KEEP_TREES = 8


class GateError(RuntimeError):
    """The gate could not measure (unknown revision, no package in the tree, worker crash)."""


def _git(repo: Path, *args: str, binary: bool = False):
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise GateError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout if binary else proc.stdout.decode().strip()


def repo_of(path: Path | str | None = None) -> Path:
    try:
        return Path(_git(Path(path or os.getcwd()), "rev-parse", "--show-toplevel"))
    except (GateError, OSError) as exc:
        raise GateError(f"{path or os.getcwd()} is not inside a git repository ({exc})") from None


def resolve(repo: Path, rev: str) -> str:
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except GateError:
        raise GateError(f"unknown revision {rev!r} in {repo}") from None


def materialize(repo: Path, sha: str, role: str) -> Path:
    """``technic_core`` as of ``sha``, extracted once under .asv/gate/trees/ (reused after)."""
    trees = repo / ".asv" / "gate" / "trees"
    dest = trees / f"{sha[:12]}-{role}"
    if (dest / ".complete").is_file():
        os.utime(dest)
        return dest
    trees.mkdir(parents=True, exist_ok=True)
    data = _git(repo, "archive", "--format=tar", sha, "--", "technic_core", binary=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=trees))
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        tf.extractall(tmp, filter="data")
    if not (tmp / "technic_core" / "__init__.py").is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        raise GateError(f"commit {sha[:10]} has no technic_core package")
    (tmp / ".complete").write_text(sha)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    _prune(trees)
    return dest


def _prune(trees: Path) -> None:
    done = sorted((p for p in trees.iterdir() if (p / ".complete").is_file()),
                  key=lambda p: p.stat().st_mtime, reverse=True)
    for old in done[KEEP_TREES:]:
        shutil.rmtree(old, ignore_errors=True)


def rows_from(results: dict, factor: float, clock: str = "cpu") -> list[Row]:
    rows = []
    for entry in results["benchmarks"]:
        for label, why in results.get("load_errors", {}).items():
            entry.setdefault("errors", {})[label] = f"did not load: {why}"
        rows.append(compare_entry(entry, factor, clock=clock))
    return rows


def _fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x * 1e9:.3g} ns"


def format_rows(rows: list[Row]) -> str:
    head = ("benchmark", "base", "head", "head/base", "IQR", "rounds", "verdict")
    table = [head]
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.3f}"
        iqr = "-" if r.ratio_q1 is None else f"{r.ratio_q1:.2f}-{r.ratio_q3:.2f}"
        verdict = r.status.upper() if r.status in ("regression", "failed") else r.status
        if r.note:
            verdict += f" ({r.note})"
        table.append((r.name, _fmt_s(r.base_s), _fmt_s(r.head_s), ratio, iqr, str(r.rounds), verdict))
    widths = [max(len(t[i]) for t in table) for i in range(len(head) - 1)]
    lines = []
    for j, t in enumerate(table):
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(t, widths))]
        lines.append("  ".join(cells) + "  " + t[-1])
        if j == 0:
            lines.append("  ".join("-" * w for w in widths) + "  -------")
    return "\n".join(lines)


def run_gate(base: str = "HEAD~1", head: str = "HEAD", factor: float = DEFAULT_FACTOR,
             rounds: int = DEFAULT_ROUNDS, select: list[str] | None = None,
             backend: str | None = None, repo: Path | str | None = None,
             json_out: Path | str | None = None, clock: str = "cpu",
             log=None) -> tuple[int, str, dict]:
    """(exit code, printable report, results with rows) for ``head`` against ``base``."""
    if factor <= 1.0:
        raise ValueError(f"--factor must be above 1 (the slowdown allowed), got {factor}")
    if clock not in CLOCKS:
        raise ValueError(f"--clock must be one of {', '.join(CLOCKS)}, got {clock!r}")
    if rounds < 3:
        raise ValueError(f"--rounds must be at least 3, got {rounds}")
    log = log or (lambda msg: None)
    t0 = time.perf_counter()
    root = repo_of(repo)
    base_sha, head_sha = resolve(root, base), resolve(root, head)
    trees = [("base", materialize(root, base_sha, "base")), ("head", materialize(root, head_sha, "head"))]
    from .datasets import arrays_dir, store_path
    store = store_path(SCAN_SYMBOLS)
    ctx = {"arrays": str(arrays_dir(GATE_SYMBOLS)), "store": str(store),
           "baseline_symbols": _first_symbols(store, BASELINE_SYMBOLS), "backend": backend}
    t_setup = time.perf_counter()
    log(f"[gate] base {base} = {base_sha[:10]}, head {head} = {head_sha[:10]}, factor {factor}, "
        f"{rounds} rounds")
    try:
        results = run_pair(trees, ctx, select, rounds, TARGET_S, MAX_S_PER_BENCH, WORKER_ENV, log)
    except WorkerError as exc:
        raise GateError(str(exc)) from None
    results["worker_seconds"] = time.perf_counter() - t_setup
    rows = rows_from(results, factor, clock)
    code = decide(rows, results.get("load_errors"))
    verdict = {0: "no regression", 1: f"REGRESSION past {factor}x",
               2: "FAILED: a benchmark did not run on head"}[code]
    text = "\n".join([
        f"technic gate: head {head} ({head_sha[:10]}) vs base {base} ({base_sha[:10]}), "
        f"backend {results.get('backend')} (one thread), {clock} time, factor {factor}",
        *(f"{label} did not load: {why}" for label, why in results.get("load_errors", {}).items()),
        "",
        format_rows(rows),
        "",
        f"head/base: median of up to {rounds} paired rounds, base and head measured in turns; "
        f"regression = median > {factor} and most rounds agree.",
        f"verdict: {verdict} (exit {code}) in {time.perf_counter() - t0:.0f} s",
    ])
    out = {"base": base_sha, "head": head_sha, "factor": factor, "rounds": rounds, "exit": code,
           "clock": clock,
           "backend": results.get("backend"), "rows": [r.to_json() for r in rows],
           "raw": results, "seconds": time.perf_counter() - t0}
    if json_out:
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps(out, indent=1))
    return code, text, out


def _first_symbols(store: Path, n: int) -> list[str]:
    from ..universe.store import Store
    return Store(store).universe()["symbol"].tolist()[:n]
