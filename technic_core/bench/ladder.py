"""``technic bench``: the phase ladder of docs/scan.md, measured in one process.

Every step switches on one more phase (baseline, +prefetch, +prescreen,
+vectorized, +cache, +ray, +gpu) and scans the same universe.  A step that
is not built, or cannot run here, is listed with the reason, never dropped
and never given a figure.  The plan's claimed speedups sit beside the
measured ones, as claims.

By default the per-symbol steps (baseline, +prefetch, +prescreen: minutes
for the whole universe) scan a fixed stratified sample of it (``sample.py``)
and their time for the whole universe is projected with an interval
(``projection.py``); the vectorised and later steps scan everything.
``sample=None`` (``--full``) scans everything at every step.  Each figure
carries its spread: the projection's interval, or the min-max of the runs.
Every step's answer is checked against the baseline's on the same symbols
(the sample, or everything with ``--full``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..fmt import interval
from ..indicators import BackendUnavailable
from ..progress import tracker
from ..scan import LADDER, PHASES, PhaseUnavailable, scan
from ..scan.compare import max_deviation, results_match
from ..scan.result import BUDGET_S, FULL_UNIVERSE
from ..sources import open_source
from . import sweep as sweeps
from .machine import commit_info, machine_info, now_utc
from .projection import SampledRun, SymbolTimer, project, ratio, spread, within_noise
from .sample import DEFAULT_SAMPLE, Sample, sample_source

# Steps that run the per-symbol engine (with the baseline); they get a small warm-up.
PER_SYMBOL = ("prefetch", "prescreen")
WARMUP_SYMBOLS = 20
# The cache, Ray and GPU rungs each build on the vectorised step, not on one
# another: the cache computes with its own state kernel, so it cannot be
# combined with Ray or the GPU, and each is compared with the vectorised step.
SIBLINGS = ("cache", "ray", "gpu")
GROWTH_PHASES = ("prefetch", "prescreen", "vectorized")
SINGLE_THREADED = ("baseline", "+prefetch", "+prescreen")


@dataclass
class Step:
    label: str  # "baseline", "+prefetch", ...
    spec_step: str  # SPEC's name for it
    claim: float | None  # the plan's projected speedup of this step (a claim)
    status: str = "pending"  # ran | not built | unavailable | failed
    why: str | None = None
    phases: tuple[str, ...] = ()  # the phases switched on
    runs_on: str | None = None  # "sample" (projected to the universe) or "all"
    measured_symbols: int | None = None  # symbols each timed run scanned
    walls: list[float] = field(default_factory=list)  # the timed runs, as measured
    cpu_share: list[float] = field(default_factory=list)  # per run: this process's CPU time / wall
    projections: list[float] = field(default_factory=list)  # sampled: each run projected
    wall_s: float | None = None  # the universe's scan time: median (of runs or projections)
    wall_lo: float | None = None  # its interval (see ``interval``)
    wall_hi: float | None = None
    interval: str | None = None
    n_symbols: int | None = None  # the universe the figures are for
    seconds_per_symbol: float | None = None
    projected_full_s: float | None = None
    projected_lo: float | None = None
    projected_hi: float | None = None
    speedup_prev: float | None = None
    speedup_prev_lo: float | None = None
    speedup_prev_hi: float | None = None
    within_noise: bool | None = None  # the speedup's interval includes 1x
    prev_label: str | None = None
    speedup_base: float | None = None
    speedup_base_lo: float | None = None
    speedup_base_hi: float | None = None
    claim_cumulative: float | None = None  # product of the plan's claims up to this step
    start_s: float | None = None  # outside the scan's time: Ray's start and worker warm-up
    stop_s: float | None = None  # and its stop
    matched: bool | None = None  # None: no baseline to compare with
    checked_on: str | None = None  # which symbols the comparison covered
    max_deviation: float | None = None
    differences: list[str] = field(default_factory=list)
    backend: str | None = None
    path: str | None = None  # what ran, in words
    timings: dict[str, float] = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    @property
    def figure(self) -> tuple[float, float, float]:
        return self.wall_s, self.wall_lo, self.wall_hi


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
    mode: str = "sample"  # "sample" or "full"
    sample: dict | None = None
    sweep: dict | None = None
    load: dict = field(default_factory=dict)  # 1-minute load average before and after
    bench_s: float | None = None  # the whole `technic bench`, warm-ups and sweeps included
    budget_s: float = BUDGET_S
    full_universe: int = FULL_UNIVERSE

    @property
    def ok(self) -> bool:
        return all(s.status != "failed" and s.matched is not False for s in self.steps)

    def to_json(self) -> dict:
        return {"kind": "technic-bench-ladder", "version": 2, **asdict(self), "ok": self.ok}


def plan_steps() -> list[Step]:
    steps = [Step("baseline", "0 baseline", None)]
    for name in LADDER:
        p = PHASES[name]
        steps.append(Step(f"+{name}", p.step, p.claim))
    return steps


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def describe_run(res) -> str:
    """What a scan ran, in words (the report's and the table's "what ran")."""
    info = res.info
    if not res.phases:
        return "pandas, one symbol at a time, each symbol's bars read on its own"
    parts: list[str] = []
    if "vectorized" not in res.phases:
        parts.append("pandas, one symbol at a time")
    if "prefetch" in res.phases and "vectorized" not in res.phases:
        parts.append("bars prefetched in batch")
    if "prescreen" in res.phases and "history_fetches_saved" in info:
        parts.append(
            f"{_plural(info['history_fetches_saved'], 'symbol')} dropped before their history was read"
        )
    if "cache" in res.phases:
        c = info.get("cache") or {}
        counts = [
            f"{c[k]:,} {k}"
            for k in ("hits", "incremental", "rebuilt", "fetched", "corrupt")
            if c.get(k)
        ]
        parts.append("Redis cache: " + (", ".join(counts) if counts else "empty"))
    elif "vectorized" in res.phases:
        text = f"{res.backend} kernels"
        blocks = info.get("blocks")
        if info.get("engine") == "ray":
            text += f", {_plural(blocks, 'Ray task')}" if blocks else ""
        elif blocks:
            size = info.get("block_size")
            text += f", {_plural(blocks, 'block')}" + (
                f" of up to {size:,} symbols" if size else ""
            )
        parts.append(text)
    if info.get("engine") == "ray":
        parts.append(
            f"Ray on {_plural(info.get('ray_cpus', 0), 'CPU')}, "
            f"{_plural(info.get('ray_nodes', 1), 'node')}; {info.get('ray_bars', '')}"
        )
    elif str(info.get("engine", "")).startswith("in-process (ray unavailable"):
        parts.append(info["engine"])
    if info.get("backend_fallback"):
        parts.append(f"after a fallback ({info['backend_fallback']})")
    return "; ".join(p for p in parts if p)


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
    if isinstance(exc, (PhaseUnavailable, BackendUnavailable, ImportError)):
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


def _start_ray(backend: str | None):
    """Start (or join) Ray once for the ray step; its scans then run on it.

    Timed apart from the scans: a user's one-off scan pays this start and the
    stop on top of the scan; a long-lived service pays it once.
    """
    from ..scan.phases import ray_phase

    session = ray_phase.open_session(None)
    warm = 0.0
    if session.owned:
        warm = ray_phase.warm_up(session, backend)
    return session, session.start_s, warm


def _stop_ray(session) -> float:
    from ..scan.phases import ray_phase

    return ray_phase.close_session(session)


def _timestamped(log, t0: float):
    """``[bench 12.3s] ...``: every line says when it came, so a slow part shows in any log."""

    def say(msg: str) -> None:
        log(msg.replace("[bench]", f"[bench {time.perf_counter() - t0:5.1f}s]", 1))

    return say


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def run_ladder(
    source=None,
    *,
    repeat: int = 3,
    backend: str | None = None,
    symbols: int | None = None,
    sample: int | None = DEFAULT_SAMPLE,
    sweep: bool = True,
    log=None,
    progress: bool = False,
) -> LadderReport:
    """Scan ``source`` once per ladder step (``repeat`` timed runs) and compare with the baseline.

    ``sample``: symbols the per-symbol steps scan (a stratified sample; their
    figures are projected to the universe); ``None`` scans everything.
    ``sweep``: also time each indicator by backend and the growth with the
    universe (``sweep.py``), for the report.
    Each step adds its phase to those of the steps before it that ran (the
    cache, Ray and GPU rungs each add theirs to the vectorised step); a phase
    that is not built or cannot run here is reported on its row and left out
    of the later steps (their ``phases`` say what they switched on).
    """
    if repeat < 1:
        raise ValueError(f"--repeat must be at least 1, got {repeat}")
    if sample is not None and sample < 1:
        raise ValueError(f"--sample must be at least 1 symbol, got {sample}")
    t_bench = time.perf_counter()
    log = _timestamped(log or (lambda msg: None), t_bench)
    load_before = _loadavg()
    with open_source(source) as src:
        universe = src.universe()["symbol"].tolist()
        described = src.describe()
        if symbols is not None:
            if symbols < 1:
                raise ValueError(f"--symbols must be at least 1, got {symbols}")
            universe = universe[:symbols]
        smp: Sample | None = None
        if sample is not None and sample < len(universe):
            smp = sample_source(src, sample, universe)
    chosen = universe if symbols is not None else None
    n_universe = len(universe)
    steps = plan_steps()
    report = LadderReport(
        steps=steps,
        source=described,
        n_symbols=n_universe,
        repeat=repeat,
        backend_requested=backend,
        date=now_utc(),
        machine=machine_info(),
        commit=commit_info(),
        mode="sample" if smp is not None else "full",
        sample=smp.to_json() | {"description": smp.describe()} if smp else None,
    )
    if smp is not None:
        log(f"[bench] per-symbol steps on a sample: {smp.describe()}")
    on: list[str] = []
    base_check = None
    base_step: Step | None = None
    prev: Step | None = None
    trunk: Step | None = None  # the vectorised step the sibling rungs build on
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
        per_symbol = not phases or name in PER_SYMBOL
        sampled = per_symbol and smp is not None
        run_syms = smp.symbols if sampled else chosen
        step.runs_on = "sample" if sampled else "all"
        step.measured_symbols = len(run_syms) if run_syms is not None else n_universe
        kwargs = _scan_args(phases, backend)
        session = None
        ray_times: dict[str, float] = {}
        first = check = None
        runs: list[SampledRun] = []
        try:
            if name == "gpu":
                # no device: say so now instead of after a warm-up scan of the universe
                from .. import indicators

                reason = indicators.unavailable_reason("cupy")
                if reason is not None:
                    raise PhaseUnavailable(f"the cupy backend cannot run here: {reason}")
            if name == "ray":
                session, start, warm = _start_ray(kwargs["backend"])
                step.start_s = start + warm
                ray_times = {"ray_start_s": round(start, 3), "ray_warmup_s": round(warm, 3)}
                log(
                    f"[bench] {step.label:<12} Ray started in {start:.1f} s, workers warmed in {warm:.1f} s"
                )
            warm_syms = (run_syms or universe)[:WARMUP_SYMBOLS] if per_symbol else run_syms
            log(
                f"[bench] {step.label:<12} warm-up ({len(warm_syms) if warm_syms else n_universe} symbols)"
            )
            _scan(source, symbols=warm_syms, **kwargs)
            for r in range(repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                if per_symbol:
                    display = (
                        tracker(f"[bench] {step.label} run {r + 1}/{repeat}", "sym")
                        if progress
                        else None
                    )
                    timer = SymbolTimer(display)
                    res = _scan(source, symbols=run_syms, progress=timer, **kwargs)
                    if sampled:
                        runs.append(SampledRun.from_scan(res, timer, smp.symbols))
                else:
                    res = _scan(source, symbols=run_syms, progress=progress, **kwargs)
                step.walls.append(res.wall_s)
                step.cpu_share.append(
                    round((time.process_time() - c0) / max(time.perf_counter() - t0, 1e-9), 3)
                )
                what = (
                    f"on the {smp.size}-symbol sample"
                    if sampled
                    else f"on {res.n_symbols:,} symbols"
                )
                log(
                    f"[bench] {step.label:<12} run {r + 1}/{repeat}: {res.wall_s:.3f} s {what} "
                    f"({time.perf_counter() - t0:.1f} s with checks)"
                )
                if first is None:
                    first = res
            check = first
            if smp is not None and not sampled:
                # the baseline ran on the sample: compare this step's answer on the same symbols
                check = _scan(source, symbols=smp.symbols, **kwargs)
        except Exception as exc:  # a step that cannot run is reported, the ladder goes on
            step.status, step.why = _classify_error(exc)
            log(f"[bench] {step.label:<12} {step.status}: {step.why}")
            continue
        finally:
            if session is not None:
                step.stop_s = _stop_ray(session)
                log(f"[bench] {step.label:<12} Ray stopped in {step.stop_s:.1f} s")
        if i > 0 and name not in SIBLINGS:
            on.append(name)
        step.status = "ran"
        if sampled:
            proj = project(runs, smp)
            step.projections = proj.per_run
            step.wall_s, step.wall_lo, step.wall_hi = proj.estimate, proj.low, proj.high
            step.interval = proj.method
        else:
            step.wall_s, step.wall_lo, step.wall_hi = spread(step.walls)
            step.interval = f"min-max of {len(step.walls)} runs"
        step.n_symbols = n_universe
        step.seconds_per_symbol = step.wall_s / n_universe
        scale = FULL_UNIVERSE / n_universe
        step.projected_full_s = step.wall_s * scale
        step.projected_lo, step.projected_hi = step.wall_lo * scale, step.wall_hi * scale
        step.backend = first.backend
        step.path = describe_run(first) + (
            "; Ray started once for the step, its start and stop timed apart" if session else ""
        )
        step.timings = dict(first.timings)
        step.info.update(_jsonable(first.info))
        if session is not None:  # the scans joined the bench's Ray: its start and stop are these
            step.info.update(ray_times, ray_shutdown_s=round(step.stop_s, 3))
        ref = trunk if name in SIBLINGS and trunk is not None else prev
        if ref is not None:
            sp = ratio(ref.figure, step.figure)
            step.speedup_prev, step.speedup_prev_lo, step.speedup_prev_hi = sp
            step.within_noise = within_noise(sp)
            step.prev_label = ref.label
        step.checked_on = (
            f"the {smp.size}-symbol sample" if smp is not None else f"all {n_universe:,} symbols"
        )
        if not phases:
            base_check, base_step = check, step
            step.matched = True
        elif base_check is not None:
            step.differences = results_match(base_check, check)
            step.matched = not step.differences
            dev = max_deviation(base_check.table, check.table)
            step.max_deviation = dev if dev != float("inf") else None
            step.speedup_base, step.speedup_base_lo, step.speedup_base_hi = ratio(
                base_step.figure, step.figure
            )
        prev = step
        if name == "vectorized":
            trunk = step
    if sweep:
        report.sweep = _sweeps(source, universe, chosen, trunk, backend, repeat, log)
    report.bench_s = time.perf_counter() - t_bench
    report.load = {"before": load_before, "after": _loadavg()}
    return report


def _sweeps(
    source, universe: list[str], chosen, trunk: Step | None, backend, repeat: int, log
) -> dict:
    """The per-indicator sweep and the growth with the universe (``sweep.py``)."""
    out: dict = {
        "reference_note": sweeps.REFERENCE_NOTE,
        "baseline_symbols": sweeps.BASELINE_SYMBOLS,
    }
    try:
        with open_source(source) as src:
            block = src.block(universe)
            sizes = sweeps.growth_sizes(len(universe))
            samples = {k: sample_source(src, k, universe).symbols for k in sizes}
        rows = sweeps.indicator_sweep(block.fields, block.lengths, repeat=repeat, log=log)
        del block
        out.update(
            indicators=rows, full_set=sweeps.full_sets(rows), backends=sweeps.sweep_backends()
        )
    except Exception as exc:  # the ladder's figures stand without the sweep; say why it is missing
        out["error"] = f"{type(exc).__name__}: {exc}"
        log(f"[bench] sweep failed: {out['error']}")
        return out
    if trunk is not None:
        kwargs = _scan_args(tuple(p for p in GROWTH_PHASES if p in trunk.phases), backend)

        def scan_at(k: int) -> float:
            return _scan(source, symbols=samples[k], **kwargs).wall_s

        rows = sweeps.scan_growth(scan_at, sizes, repeat, log) if sizes else []
        rows.append({"symbols": len(universe), "times": list(trunk.walls)})
        out["scan"] = {"phases": list(kwargs["phases"]), "backend": trunk.backend, "rows": rows}
    return out


# -- presentation ---------------------------------------------------------------


def _fmt(x: float | None, spec: str, suffix: str = "") -> str:
    return "-" if x is None else f"{x:{spec}}{suffix}"


def format_table(report: LadderReport) -> str:
    head = (
        "step",
        "on",
        "wall s (interval)",
        "ms/symbol",
        f"proj {report.full_universe} s",
        "vs prev (interval)",
        "plan",
        "vs base (interval)",
        "plan",
        "start s",
        "stop s",
        "matches",
        "what ran",
    )
    rows = [head]
    for s in report.steps:
        plan_step = _fmt(s.claim, ".1f", "x")
        plan_cum = _fmt(s.claim_cumulative, ".1f", "x")
        if s.status != "ran":
            rows.append(
                (
                    s.label,
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    plan_step,
                    "-",
                    plan_cum,
                    "-",
                    "-",
                    "-",
                    f"{s.status.upper()}: {s.why}",
                )
            )
            continue
        match = {True: "yes", False: "NO", None: "n/a"}[s.matched]
        if s.label == "baseline":
            match = "reference"
        vs_prev = interval(s.speedup_prev, s.speedup_prev_lo, s.speedup_prev_hi, "x")
        if s.within_noise:
            vs_prev += " within noise"
        rows.append(
            (
                s.label,
                "sample" if s.runs_on == "sample" else "all",
                interval(s.wall_s, s.wall_lo, s.wall_hi),
                _fmt(s.seconds_per_symbol * 1e3, ".3f"),
                interval(s.projected_full_s, s.projected_lo, s.projected_hi),
                vs_prev,
                plan_step,
                interval(s.speedup_base, s.speedup_base_lo, s.speedup_base_hi, "x"),
                plan_cum,
                _fmt(s.start_s, ".1f"),
                _fmt(s.stop_s, ".1f"),
                match,
                s.path or "-",
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head) - 1)]
    lines = []
    for j, r in enumerate(rows):
        cells = [
            str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))
        ]
        lines.append("  ".join(cells) + "  " + str(r[-1]))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 9)
    return "\n".join(lines)


def format_report(report: LadderReport) -> str:
    c = report.commit
    commit = (c.get("commit") or "unknown")[:10] + (" (dirty)" if c.get("dirty") else "")
    m = report.machine
    how = (
        "per-symbol steps on a sample, projected to the universe"
        if report.mode == "sample"
        else "every step on every symbol"
    )
    lines = [
        f"technic bench: {report.source}, {report.n_symbols:,} symbols; {how}; "
        f"{report.repeat} timed run(s) per step",
        f"commit {commit}  {report.date}  {m['cpu']} x{m['cpu_count']}  python {m['python']}  "
        f"load {report.load.get('before')} -> {report.load.get('after')}",
    ]
    if report.sample:
        lines.append(f"sample: {report.sample['description']}")
    lines += [
        "",
        format_table(report),
        "",
        "wall s: the universe's scan time, the median with its interval: for steps on the sample, "
        "the projection's 95% bootstrap interval (runs and symbols resampled); for steps on all, "
        "the min-max of the runs.",
        "within noise: the speedup's interval includes 1x (the two steps' intervals overlap).",
        f"plan = the original plan's projected speedup (a claim, not a measurement); "
        f"budget: {report.full_universe} symbols in {report.budget_s:.0f} s. start/stop s: Ray's "
        f"start (with the workers' warm-up) and stop, outside the scan's time.",
    ]
    ran = [s for s in report.steps if s.status == "ran"]
    if ran:
        best = min(ran, key=lambda s: s.projected_full_s)
        verdict = (
            "within"
            if best.projected_hi <= report.budget_s
            else ("OVER" if best.projected_lo > report.budget_s else "at the edge of")
        )
        lines.append(
            f"fastest step: {best.label}, projected "
            f"{interval(best.projected_full_s, best.projected_lo, best.projected_hi)} s "
            f"({verdict} the {report.budget_s:.0f} s budget)"
        )
    busy = busy_note(report)
    if busy:
        lines.append(busy)
    for s in report.steps:
        if s.matched is False:
            lines.append(f"MISMATCH {s.label} (on {s.checked_on}): " + "; ".join(s.differences[:3]))
    if report.sweep and report.sweep.get("error"):
        lines.append(f"sweep failed: {report.sweep['error']}")
    if report.bench_s is not None:
        lines.append(f"technic bench took {report.bench_s:.1f} s")
    return "\n".join(lines)


def busy_note(report: LadderReport) -> str | None:
    """A warning when the single-threaded steps got much less than a whole core.

    The per-symbol steps run on one thread: on a quiet machine their CPU time
    equals their wall time.  Less means other jobs took the CPU; a short run
    on the sample and a long one on everything then see different shares, and
    their figures differ by more than their intervals say (measured: -29% for
    a 5 s sample run against a 3 min full run at load 5 on 2 cores, while
    their CPU times agreed within 3%).
    """
    shares = [c for s in report.steps if s.label in SINGLE_THREADED for c in s.cpu_share]
    if not shares or min(shares) >= 0.9:
        return None
    return (
        f"busy machine: the single-threaded steps got {100 * min(shares):.0f}-{100 * max(shares):.0f}% "
        f"of a core (CPU time / wall time); other jobs inflate and scatter their figures"
    )


def write_json(report: LadderReport, path: Path | str) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(report.to_json(), indent=1, default=str))
    return p


def default_json_path() -> Path:
    return Path.cwd() / "reports" / "bench-latest.json"


def stderr_log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
