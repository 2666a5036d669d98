"""``technic bench``: SPEC's phase ladder, measured in one process.

Every step switches on one more phase (baseline, +prefetch, +prescreen,
+vectorized, +cache, +ray, +gpu) and scans the same universe.  Each step's
table is checked against the baseline's with ``results_match``; a step that
is not built, or cannot run here, is listed with the reason, never dropped
and never given a figure.  The plan's claimed speedups sit beside the
measured ones, as claims.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..scan import LADDER, PHASES, PhaseUnavailable, scan
from ..scan.compare import max_deviation, results_match
from ..scan.result import BUDGET_S, FULL_UNIVERSE
from ..sources import open_source
from .machine import commit_info, machine_info, now_utc

# Steps that run the per-symbol engine; they get a small warm-up rather than a full one.
PER_SYMBOL = ("prefetch", "prescreen")
WARMUP_SYMBOLS = 20


@dataclass
class Step:
    label: str                       # "baseline", "+prefetch", ...
    spec_step: str                   # SPEC's name for it
    claim: float | None              # the plan's projected speedup of this step (a claim)
    status: str = "pending"          # ran | not built | unavailable | failed
    why: str | None = None
    phases: tuple[str, ...] = ()     # the phases switched on
    walls: list[float] = field(default_factory=list)
    wall_s: float | None = None      # median of walls
    n_symbols: int | None = None
    seconds_per_symbol: float | None = None
    projected_full_s: float | None = None
    speedup_prev: float | None = None
    prev_label: str | None = None
    speedup_base: float | None = None
    claim_cumulative: float | None = None   # product of the plan's claims up to this step
    matched: bool | None = None             # None: no baseline to compare with
    max_deviation: float | None = None
    differences: list[str] = field(default_factory=list)
    backend: str | None = None
    path: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    info: dict = field(default_factory=dict)


@dataclass
class LadderReport:
    steps: list[Step]
    source: str
    n_symbols: int | None
    repeat: int
    backend_requested: str | None
    date: str
    machine: dict
    commit: dict
    budget_s: float = BUDGET_S
    full_universe: int = FULL_UNIVERSE

    @property
    def ok(self) -> bool:
        return all(s.status != "failed" and s.matched is not False for s in self.steps)

    def to_json(self) -> dict:
        return {"kind": "technic-bench-ladder", "version": 1, **asdict(self),
                "ok": self.ok}


def plan_steps() -> list[Step]:
    steps = [Step("baseline", "0 baseline", None)]
    for name in LADDER:
        p = PHASES[name]
        steps.append(Step(f"+{name}", p.step, p.claim))
    return steps


def _describe_path(res) -> str:
    if not res.phases:
        return "baseline: pandas, one symbol at a time"
    parts = [",".join(res.phases), f"backend {res.backend}"]
    if res.info.get("backend_fallback"):
        parts.append(f"after fallback ({res.info['backend_fallback']})")
    for key in ("blocks", "workers", "cache", "device"):
        if key in res.info:
            parts.append(f"{key} {res.info[key]}")
    return ", ".join(parts)


def _jsonable(info: dict) -> dict:
    out = {}
    for k, v in info.items():
        if k.startswith("_"):
            continue
        try:
            json.dumps(v)
            out[k] = v
        except TypeError:
            out[k] = repr(v)
    return out


def _classify_error(exc: BaseException) -> tuple[str, str]:
    name = type(exc).__name__
    if isinstance(exc, (PhaseUnavailable, ImportError)) or name == "BackendUnavailable":
        return "unavailable", f"{name}: {exc}"
    return "failed", f"{name}: {exc}"


def _scan(source, **kwargs):
    """One scan with a source opened for it and closed after, as a user's scan would."""
    src = open_source(source)
    try:
        return scan(src, **kwargs)
    finally:
        src.close()


def _scan_args(phases: tuple[str, ...], backend: str | None) -> dict:
    if "gpu" in phases:
        # The GPU step is the cupy backend or nothing: a silent fallback to a CPU
        # backend would put a CPU figure on the GPU's row.
        return dict(phases=list(phases), backend=None, strict=True)
    if not phases:
        return dict(phases="baseline", backend=None, strict=False)
    return dict(phases=list(phases), backend=backend, strict=backend is not None)


# The cache, Ray and GPU rungs each build on the vectorised step, not on one
# another: the cache computes with its own state kernel, so it cannot be
# combined with Ray or the GPU, and each is compared with the vectorised step.
SIBLINGS = ("cache", "ray", "gpu")


def run_ladder(source=None, *, repeat: int = 1, backend: str | None = None,
               symbols: int | None = None, log=None, progress: bool = False) -> LadderReport:
    """Scan ``source`` once per ladder step (``repeat`` times, median) and compare with the baseline.

    Each step adds its phase to those of the steps before it that ran (the
    cache, Ray and GPU rungs each add theirs to the vectorised step); a phase
    that is not built or cannot run here is reported on its row and left out
    of the later steps (their ``phases`` say what they switched on).
    """
    if repeat < 1:
        raise ValueError(f"--repeat must be at least 1, got {repeat}")
    log = log or (lambda msg: None)
    with open_source(source) as src:
        universe = src.universe()["symbol"].tolist()
        described = src.describe()
    if symbols is not None:
        if symbols < 1:
            raise ValueError(f"--symbols must be at least 1, got {symbols}")
        universe = universe[:symbols]
    chosen = universe if symbols is not None else None
    steps = plan_steps()
    report = LadderReport(steps=steps, source=described, n_symbols=len(universe), repeat=repeat,
                          backend_requested=backend, date=now_utc(), machine=machine_info(),
                          commit=commit_info())
    on: list[str] = []
    base_res = None
    base_step: Step | None = None
    prev: Step | None = None
    trunk: Step | None = None   # the vectorised step the sibling rungs build on
    claim = 1.0
    for i, step in enumerate(steps):
        name = step.label.lstrip("+")
        if step.claim is not None:
            claim *= step.claim
            step.claim_cumulative = claim
        if i > 0 and not PHASES[name].built:
            step.status, step.why = "not built", f"phase {name!r} is not built yet"
            log(f"[bench] {step.label:<12} not built")
            continue
        phases = (*on, name) if i > 0 else ()
        step.phases = phases
        kwargs = _scan_args(phases, backend)
        first = None
        try:
            warm = universe[:WARMUP_SYMBOLS] if (not phases or name in PER_SYMBOL) else chosen
            log(f"[bench] {step.label:<12} warm-up ({len(warm) if warm else len(universe)} symbols)")
            _scan(source, symbols=warm, **kwargs)
            for r in range(repeat):
                t0 = time.perf_counter()
                res = _scan(source, symbols=chosen, progress=progress, **kwargs)
                step.walls.append(res.wall_s)
                log(f"[bench] {step.label:<12} run {r + 1}/{repeat}: {res.wall_s:.3f} s "
                    f"({time.perf_counter() - t0:.1f} s with checks)")
                if first is None:
                    first = res
        except Exception as exc:  # a step that cannot run is reported, the ladder goes on
            step.status, step.why = _classify_error(exc)
            log(f"[bench] {step.label:<12} {step.status}: {step.why}")
            continue
        if i > 0 and name not in SIBLINGS:
            on.append(name)
        step.status = "ran"
        step.wall_s = statistics.median(step.walls)
        step.n_symbols = first.n_symbols
        step.seconds_per_symbol = step.wall_s / first.n_symbols
        step.projected_full_s = step.seconds_per_symbol * FULL_UNIVERSE
        step.backend = first.backend
        step.path = _describe_path(first)
        step.timings = dict(first.timings)
        step.info = _jsonable(first.info)
        ref = trunk if name in SIBLINGS and trunk is not None else prev
        if ref is not None:
            step.speedup_prev, step.prev_label = ref.wall_s / step.wall_s, ref.label
        if not phases:
            base_res, base_step = first, step
            step.matched = True
        elif base_res is not None:
            step.differences = results_match(base_res, first)
            step.matched = not step.differences
            dev = max_deviation(base_res.table, first.table)
            step.max_deviation = dev if dev != float("inf") else None
            step.speedup_base = base_step.wall_s / step.wall_s
        prev = step
        if name == "vectorized":
            trunk = step
    return report


# -- presentation ---------------------------------------------------------------

def _fmt(x: float | None, spec: str, suffix: str = "") -> str:
    return "-" if x is None else f"{x:{spec}}{suffix}"


def format_table(report: LadderReport) -> str:
    head = ("step", "SPEC step", "wall s", "ms/symbol", f"proj {report.full_universe}",
            "vs prev", "plan", "vs base", "plan", "matches", "what ran")
    rows = [head]
    for s in report.steps:
        plan_step = _fmt(s.claim, ".1f", "x")
        plan_cum = _fmt(s.claim_cumulative, ".1f", "x")
        if s.status != "ran":
            rows.append((s.label, s.spec_step, "-", "-", "-", "-", plan_step, "-", plan_cum, "-",
                         f"{s.status.upper()}: {s.why}"))
            continue
        match = {True: "yes", False: "NO", None: "n/a"}[s.matched]
        if s.label == "baseline":
            match = "reference"
        rows.append((
            s.label, s.spec_step, _fmt(s.wall_s, ".3f"), _fmt(s.seconds_per_symbol * 1e3, ".3f"),
            _fmt(s.projected_full_s, ".1f", " s"), _fmt(s.speedup_prev, ".2f", "x"), plan_step,
            _fmt(s.speedup_base, ".2f", "x"), plan_cum, match, s.path or "-",
        ))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head) - 1)]
    lines = []
    for j, r in enumerate(rows):
        cells = [str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells) + "  " + str(r[-1]))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 9)
    return "\n".join(lines)


def format_report(report: LadderReport) -> str:
    c = report.commit
    commit = (c.get("commit") or "unknown")[:10] + (" (dirty)" if c.get("dirty") else "")
    m = report.machine
    lines = [
        f"technic bench: {report.source}, {report.n_symbols} symbols, median of {report.repeat} run(s)",
        f"commit {commit}  {report.date}  {m['cpu']} x{m['cpu_count']}  python {m['python']}",
        "",
        format_table(report),
        "",
        f"plan = the original plan's projected speedup (a claim, not a measurement); "
        f"budget: {report.full_universe} symbols in {report.budget_s:.0f} s.",
    ]
    ran = [s for s in report.steps if s.status == "ran"]
    if ran:
        best = min(ran, key=lambda s: s.projected_full_s)
        verdict = "within" if best.projected_full_s <= report.budget_s else "OVER"
        lines.append(f"fastest step: {best.label}, projected {best.projected_full_s:.1f} s "
                     f"({verdict} the {report.budget_s:.0f} s budget)")
    for s in report.steps:
        if s.matched is False:
            lines.append(f"MISMATCH {s.label}: " + "; ".join(s.differences[:3]))
    return "\n".join(lines)


def write_json(report: LadderReport, path: Path | str) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(report.to_json(), indent=1, default=str))
    return p


def default_json_path() -> Path:
    return Path.cwd() / "reports" / "bench-latest.json"


def stderr_log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
