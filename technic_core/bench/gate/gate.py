"""``technic gate``: did HEAD get slower than its base?  Exit 0, 1 (regression) or 2 (failure).

What is timed is the asv suite of each commit (``benchmarks/``, that commit's
own copy), found and run by ``asv_runner`` inside one worker process per
commit (``worker.py``); ``pair.py`` makes the workers take turns so every head
sample has a base sample taken just before or after it, and ``stats.py``
turns the paired samples into a verdict.  By default the benchmarks tagged
for CI are gated (``gate = True``, or a module's ``GATE`` list); ``--all``
gates every time benchmark of the suite.

Three measurements, in this order:

1. CPU time a call, every worker on one thread (CPU time is the work the code
   does, whoever else shares the machine; a parallel kernel's wall time on a
   shared two-core machine depends on when its second thread gets a core).
2. Confirmation: a benchmark flagged in 1 is measured again by fresh worker
   processes on trees extracted and compiled again (``CONFIRM``).  A process's
   code and data placement is fixed for its life and can bias all of its
   samples alike, which pairing cannot cancel; a real slowdown shows again
   after a rebuild, a placement fluke mostly does not (docs/gate.md has the
   trial figures behind this).
3. Parallel scaling of the benchmarks tagged ``gate_scaling``: fresh workers on
   every core time each call on one thread and on all, in turns, and the
   head's speedup is compared with the base's (a commit that stops using the
   second core doubles a scan's wall time and leaves its CPU time unchanged,
   so 1 cannot see it).

Why not ``asv continuous``: it times each commit in its own runs, minutes
apart, so on a shared machine a neighbour's burst lands on one side only.
The cost: both commits run in the current environment, so a commit that
changes dependencies is measured with today's packages.
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

from . import pair
from .pair import WorkerError
from .stats import (
    CLOCKS,
    DEFAULT_CLOCK,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REGRESSION,
    Row,
    compare_entry,
    compare_scaling,
    decide,
)

DEFAULT_FACTOR = 1.2
DEFAULT_ROUNDS = 30
TARGET_S = 0.030  # seconds per sample (the call count is calibrated to this)
MAX_S_PER_BENCH = 6.0  # a benchmark stops taking rounds after this (MIN_ROUNDS at least)
# base / head parallelism (per-thread CPU spread) that counts as lost.  Chosen by the trials
# (docs/gate.md): over 41 runs without a thread change the rows read 0.87-1.06; the numba
# backend forced onto one thread read 1.19-2.08 (1.19 once validation ran on the pool too).
SCALING_FACTOR = 1.12
SPEEDUP_FACTOR = 1.5  # base / head wall-time speedup: noisier (self/null trials read up to 1.35)
SCALING_ROUNDS = 12
SCALING_TARGET_S = 0.15
SCALING_MAX_S = 15.0
CONFIRM = True
TREE_PARTS = ("technic_core", "benchmarks")
# One thread everywhere in the timing workers: single-threaded CPU time is the
# work the code does; a kernel that does 30% more work costs 30% more of it.
ONE_THREAD = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
# The scaling workers get every core (None: unset, numba's default).
ALL_CORES = {k: None for k in ONE_THREAD}
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


def materialize(repo: Path, sha: str, role: str, fresh: bool = False) -> Path:
    """``technic_core`` and ``benchmarks`` as of ``sha``, extracted under .asv/gate/trees/.

    Reused from an earlier run unless ``fresh`` (then extracted again, so that its
    Numba cache is compiled anew).
    """
    trees = repo / ".asv" / "gate" / "trees"
    dest = trees / f"{sha[:12]}-{role}"
    if (dest / ".complete").is_file() and not fresh:
        os.utime(dest)
        return dest
    trees.mkdir(parents=True, exist_ok=True)
    listed = _git(repo, "ls-tree", "--name-only", sha).splitlines()
    parts = [p for p in TREE_PARTS if p in listed]
    if "technic_core" not in parts:
        raise GateError(f"commit {sha[:10]} has no technic_core package")
    # without benchmarks/ the worker says so: a base without a suite has nothing to compare,
    # a head without one fails
    data = _git(repo, "archive", "--format=tar", sha, "--", *parts, binary=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=trees))
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        tf.extractall(tmp, filter="data")
    (tmp / ".complete").write_text(sha)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    _prune(trees)
    return dest


def _prune(trees: Path) -> None:
    done = sorted(
        (p for p in trees.iterdir() if (p / ".complete").is_file()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in done[KEEP_TREES:]:
        shutil.rmtree(old, ignore_errors=True)


# -- choosing what to time -------------------------------------------------------------------
def plan(
    listings: dict[str, dict],
    everything: bool,
    select: list[str] | None,
    base: str = "base",
    head: str = "head",
) -> tuple[list[str], list[dict], list[str]]:
    """(ids both sides have, to time; rows for ids only one side has; scaling ids).

    The head's tags choose, and the base's for a benchmark the head removed.
    ``select``: only ids equal to, starting with or containing one of these.
    """
    hb, bb = listings.get(head, {}), listings.get(base, {})

    def wanted(ident: str, key: str) -> bool:
        tagged = (hb.get(ident) or bb.get(ident))[key]
        if select:
            return any(ident == s or ident.startswith(s) or s in ident for s in select)
        return everything or tagged

    both, only, scaling = [], [], []
    for ident in list(hb) + [i for i in bb if i not in hb]:
        if wanted(ident, "gate"):
            if ident in hb and ident in bb:
                both.append(ident)
            else:
                only.append({"name": ident, "only": head if ident in hb else base, "errors": {}})
        if ident in hb and ident in bb and (hb[ident]["scaling"] or bb[ident]["scaling"]):
            if not select or wanted(ident, "scaling"):
                scaling.append(ident)
    return both, only, scaling


def _timed_pass(trees, ids, rounds, log, tag: str, workers=None) -> dict:
    """Time ``ids`` in lockstep: with ``workers`` already started, or fresh ones (closed after)."""
    results = {
        "benchmarks": [],
        "load_errors": {},
        "versions": {label: str(t) for label, t in trees},
    }
    if not ids:
        return results
    log(f"[gate] {tag}: {len(ids)} benchmark(s)")
    own = workers is None
    if own:
        workers, results["load_errors"] = pair.start(trees, ONE_THREAD, log)
    try:
        if results["load_errors"]:
            return results
        for ident in ids:
            results["benchmarks"].append(
                pair.measure(ident, workers, rounds, TARGET_S, MAX_S_PER_BENCH, log)
            )
    finally:
        if own:
            pair.close(workers)
    return results


def _scaling_pass(trees, ids, log) -> dict:
    results = {
        "benchmarks": [],
        "load_errors": {},
        "versions": {label: str(t) for label, t in trees},
    }
    if not ids:
        return results
    log(f"[gate] parallel scaling: {len(ids)} benchmark(s), every core, one thread vs all")
    workers, errors = pair.start(trees, ALL_CORES, log)
    results["load_errors"] = errors
    try:
        if errors:
            return results
        for ident in ids:
            results["benchmarks"].append(
                pair.measure_scaling(
                    ident, workers, SCALING_ROUNDS, SCALING_TARGET_S, SCALING_MAX_S, log
                )
            )
    finally:
        pair.close(workers)
    return results


def confirm_rows(first: list[Row], second: list[Row]) -> list[Row]:
    """A first-pass regression stands only if the fresh workers flag it too."""
    again = {(r.name, r.kind): r for r in second}
    out = []
    for r in first:
        if r.status != "regression":
            out.append(r)
            continue
        s = again.get((r.name, r.kind))
        if s is None:
            out.append(r)
        elif s.status == "regression":
            s.note = (s.note + "; " if s.note else "") + f"confirmed (first pass {r.ratio:.3f})"
            out.append(s)
        elif s.status == "failed":
            out.append(s)
        else:
            r.status = "same"
            r.note = (
                f"not confirmed: {s.ratio:.3f} in fresh processes" if s.ratio else "not confirmed"
            )
            out.append(r)
    return out


def rows_from(
    results: dict, factor: float, clock: str = DEFAULT_CLOCK, scaling_factor: float = SCALING_FACTOR
) -> list[Row]:
    rows = []
    for entry in results["benchmarks"]:
        for label, why in results.get("load_errors", {}).items():
            entry.setdefault("errors", {})[label] = f"did not load: {why}"
        if entry.get("kind") == "scaling":
            rows += compare_scaling(entry, scaling_factor, speedup_factor=SPEEDUP_FACTOR)
        else:
            rows.append(compare_entry(entry, factor, clock=clock))
    return rows


def _fmt_s(x: float | None, kind: str = "time") -> str:
    if x is None:
        return "-"
    if kind != "time":
        return f"{x:.2f}x"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x * 1e9:.3g} ns"


def format_rows(rows: list[Row], markdown: bool = False) -> str:
    head = ("benchmark", "base", "head", "ratio", "IQR", "rounds", "verdict")
    table = [head]
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.3f}"
        iqr = "-" if r.ratio_q1 is None else f"{r.ratio_q1:.2f}-{r.ratio_q3:.2f}"
        verdict = r.status.upper() if r.status in ("regression", "failed") else r.status
        if r.note:
            verdict += f" ({r.note})"
        name = r.name + (f" [{r.kind}]" if r.kind != "time" else "")
        table.append(
            (
                name,
                _fmt_s(r.base_s, r.kind),
                _fmt_s(r.head_s, r.kind),
                ratio,
                iqr,
                str(r.rounds),
                verdict,
            )
        )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in t) + " |" for t in table[1:]]
        return "\n".join(lines)
    widths = [max(len(t[i]) for t in table) for i in range(len(head) - 1)]
    lines = []
    for j, t in enumerate(table):
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(t, widths))]
        lines.append("  ".join(cells) + "  " + t[-1])
        if j == 0:
            lines.append("  ".join("-" * w for w in widths) + "  -------")
    return "\n".join(lines)


def run_gate(
    base: str = "HEAD~1",
    head: str = "HEAD",
    factor: float = DEFAULT_FACTOR,
    rounds: int = DEFAULT_ROUNDS,
    select: list[str] | None = None,
    everything: bool = False,
    repo: Path | str | None = None,
    json_out: Path | str | None = None,
    clock: str = DEFAULT_CLOCK,
    confirm: bool = CONFIRM,
    scaling: bool = True,
    log=None,
) -> tuple[int, str, dict]:
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
    trees = [
        ("base", materialize(root, base_sha, "base")),
        ("head", materialize(root, head_sha, "head")),
    ]
    log(
        f"[gate] base {base} = {base_sha[:10]}, head {head} = {head_sha[:10]}, factor {factor}, "
        f"up to {rounds} rounds, {'the whole suite' if everything else 'the gated set'}"
    )
    raw: dict = {"versions": {label: str(t) for label, t in trees}}

    def rebuilt():
        # new extractions: new processes and their own Numba cache, compiled again
        return [
            ("base", materialize(root, base_sha, "base-rebuilt", fresh=True)),
            ("head", materialize(root, head_sha, "head-rebuilt", fresh=True)),
        ]

    try:
        workers, errors = pair.start(trees, ONE_THREAD, log)
        try:
            listings = {w.label: w.listing for w in workers}
            raw["load_errors"] = dict(errors)
            ids, only, scaling_ids = [], [], []
            if "head" not in errors:
                ids, only, scaling_ids = plan(listings, everything, select)
                if select and not ids and not only and not scaling_ids:
                    raise GateError(f"no benchmark matches {select}")
            if not errors:
                raw["first"] = _timed_pass(
                    trees, ids, rounds, log, "timing (CPU, one thread)", workers
                )
        finally:
            pair.close(workers)
        rows: list[Row] = []
        if not errors:
            rows = rows_from(raw["first"], factor, clock)
            flagged = [r.name for r in rows if r.status == "regression"]
            if confirm and flagged:
                second = _timed_pass(
                    rebuilt(), flagged, rounds, log, "confirming in fresh processes, trees rebuilt"
                )
                raw["confirm"] = second
                raw["load_errors"].update(second["load_errors"])
                rows = confirm_rows(rows, rows_from(second, factor, clock))
        rows += [compare_entry(e, factor) for e in only]
        if scaling and not raw["load_errors"]:
            raw["scaling"] = _scaling_pass(trees, scaling_ids, log)
            srows = rows_from(raw["scaling"], factor, clock)
            flagged = sorted({r.name for r in srows if r.status == "regression"})
            if confirm and flagged:
                raw["scaling_confirm"] = _scaling_pass(rebuilt(), flagged, log)
                srows = confirm_rows(srows, rows_from(raw["scaling_confirm"], factor, clock))
            rows += srows
    except WorkerError as exc:
        raise GateError(str(exc)) from None
    code = decide(rows, raw.get("load_errors"))
    seconds = time.perf_counter() - t0
    verdict = {
        EXIT_OK: "no regression",
        EXIT_REGRESSION: f"REGRESSION past {factor}x",
        EXIT_FAILED: "FAILED: a benchmark did not run on head",
    }[code]
    regressions = [
        r.name + (f" [{r.kind}]" if r.kind != "time" else "")
        for r in rows
        if r.status == "regression"
    ]
    header = (
        f"technic gate: head {head} ({head_sha[:10]}) vs base {base} ({base_sha[:10]}), "
        f"{'whole suite' if everything else 'gated set'}, {clock} time, factor {factor}, "
        f"parallelism factor {SCALING_FACTOR}, speedup factor {SPEEDUP_FACTOR}"
    )
    notes = [f"{label} did not load: {why}" for label, why in raw.get("load_errors", {}).items()]
    footer = [
        f"ratio: time rows head/base CPU a call, scaling rows base/head speedup (one thread / all "
        f"cores); median of up to {rounds} paired rounds, the sides measured in turns; a regression "
        f"is a median past the factor with most rounds agreeing"
        + (", confirmed by fresh processes" if confirm else "")
        + ".",
        f"verdict: {verdict} (exit {code}) in {seconds:.0f} s"
        + (f": {', '.join(regressions)}" if regressions else ""),
    ]
    text = "\n".join([header, *notes, "", format_rows(rows), "", *footer])
    out = {
        "base": base_sha,
        "head": head_sha,
        "base_ref": base,
        "head_ref": head,
        "factor": factor,
        "scaling_factor": SCALING_FACTOR,
        "speedup_factor": SPEEDUP_FACTOR,
        "rounds": rounds,
        "exit": code,
        "verdict": verdict,
        "regressions": regressions,
        "clock": clock,
        "everything": everything,
        "confirm": confirm,
        "rows": [r.to_json() for r in rows],
        "raw": raw,
        "seconds": seconds,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load": os.getloadavg(),
        "markdown": "\n".join([header, *notes, "", format_rows(rows, True), "", *footer]),
    }
    if json_out:
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps(out, indent=1))
    return code, text, out
