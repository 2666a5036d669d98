"""The gate's verdict from timing samples: pure functions, tested on synthetic data.

Each benchmark has ``rounds`` samples per side, taken in turns (base, head,
head, base, ...) within one process.  Round ``i``'s ratio head/base compares
two samples taken a fraction of a second apart, so a slow spell on a shared
machine slows both; the median of those paired ratios is the estimate.  A
benchmark regresses when that median exceeds ``factor`` and at least
``min_agree`` of the rounds also have head slower than base by half the
factor's margin: one lucky streak cannot fail a build, one unlucky one
cannot hide a real slowdown that shows in most rounds.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

EXIT_OK, EXIT_REGRESSION, EXIT_FAILED = 0, 1, 2


@dataclass
class Row:
    name: str
    status: str  # same | regression | improved | failed | new | removed | n/a
    ratio: float | None = None  # median paired head/base ratio
    ratio_q1: float | None = None
    ratio_q3: float | None = None
    agree: float | None = None  # share of rounds past half the margin (slower for >1)
    base_s: float | None = None  # median seconds per call
    head_s: float | None = None
    rounds: int = 0
    note: str = ""
    kind: str = "time"  # time (CPU a call, head/base) | speedup | parallelism (base/head)

    def to_json(self) -> dict:
        return asdict(self)


def _quartiles(xs: list[float]) -> tuple[float, float, float]:
    if len(xs) == 1:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], statistics.median(xs), q[2]


def compare_samples(
    name: str, base: list[float], head: list[float], factor: float, min_agree: float = 0.6
) -> Row:
    """Row for one benchmark whose both sides ran; ``factor`` > 1 is the allowed slowdown."""
    if factor <= 1.0:
        raise ValueError(f"factor must be above 1, got {factor}")
    n = min(len(base), len(head))
    if n == 0:
        return Row(name, "failed", note="no samples")
    ratios = [h / b for b, h in zip(base[:n], head[:n]) if b > 0]
    if not ratios:
        return Row(name, "failed", note="base samples are zero")
    q1, med, q3 = _quartiles(ratios)
    half_up = 1.0 + (factor - 1.0) / 2
    half_down = 1.0 / half_up
    slower = sum(r > half_up for r in ratios) / len(ratios)
    faster = sum(r < half_down for r in ratios) / len(ratios)
    row = Row(
        name, "same", med, q1, q3, None, statistics.median(base[:n]), statistics.median(head[:n]), n
    )
    if med > factor and slower >= min_agree:
        row.status, row.agree = "regression", slower
    elif med < 1.0 / factor and faster >= min_agree:
        row.status, row.agree = "improved", faster
    else:
        row.agree = slower if med >= 1.0 else faster
    return row


# The clock a row compares, by --clock.  CPU time is the worker's and its children's
# (redis-server, Ray): what the code costs, whoever shares the machine.  "cpu-min", the
# default, takes each sample's fastest call: a neighbour, an interrupt or a page-fault
# storm only ever adds time, and on the millisecond kernels the fastest call's paired
# ratio has a third of the spread of the mean's (docs/gate.md).
CLOCKS = {
    "cpu-min": "cpu_min",
    "cpu": "cpu",
    "process-cpu": "proc_cpu",
    "wall": "wall",
    "wall-min": "wall_min",
}
DEFAULT_CLOCK = "cpu-min"


def compare_entry(
    entry: dict,
    factor: float,
    base: str = "base",
    head: str = "head",
    min_agree: float = 0.6,
    clock: str = DEFAULT_CLOCK,
) -> Row:
    """Row for one benchmark as the workers reported it (samples and errors per side)."""
    name, errors = entry["name"], entry.get("errors", {})
    if entry.get("only") == base:
        return Row(name, "removed", note="in the base's suite, not in the head's")
    if entry.get("only") == head:
        return Row(name, "new", note="in the head's suite, not in the base's")
    be, he = errors.get(base), errors.get(head)
    if he is not None:
        if he.startswith("n/a") and be is None:
            # the base ran it: a head that can no longer run a benchmark is not let through
            return Row(name, "failed", note=f"skipped on head, ran on base: {he[4:].strip()}")
        if he.startswith("n/a"):
            return Row(name, "n/a", note=f"head {he}")
        return Row(name, "failed", note=f"head: {he}")
    samples = entry.get(CLOCKS[clock], {})
    if be is not None:
        return Row(
            name,
            "new",
            head_s=_median(samples.get(head)),
            note=f"base {'n/a' if be.startswith('n/a') else 'failed'}: {be}",
        )
    return compare_samples(name, samples.get(base, []), samples.get(head, []), factor, min_agree)


# A side with less speedup (or parallelism) than this has none worth guarding: no core was
# free to give it one, or the code has none to use.
MIN_SPEEDUP = 1.25


def compare_scaling(
    entry: dict,
    factor: float,
    base: str = "base",
    head: str = "head",
    min_agree: float = 0.6,
    speedup_factor: float | None = None,
) -> list[Row]:
    """Two rows for a scaling measurement: the wall-time speedup and the parallelism.

    ``speedup``: wall seconds on one thread over wall seconds on all cores, each
    round's pair a moment apart in one worker.  ``parallelism``: in the all-core
    samples, the threads' CPU seconds over the busiest thread's (1 when one
    thread did everything).  Each row's ratio is the median over rounds of
    base / head, so that, as for time rows, above 1 is worse; ``factor`` is the
    loss of parallelism allowed, ``speedup_factor`` (default: ``factor``) that of
    speedup, whose wall-time pairs are the noisier.  A base below MIN_SPEEDUP has nothing to lose: a busy
    machine leaves no core for a wall-time speedup, which is why parallelism,
    counted in CPU time per thread, is measured beside it.
    """
    name, errors = entry["name"], entry.get("errors", {})
    be, he = errors.get(base), errors.get(head)
    kinds = ("speedup", "parallelism")
    if he is not None:
        status = "n/a" if he.startswith("n/a") else "failed"
        return [Row(name, status, note=f"head {he}", kind=k) for k in kinds]
    if be is not None:
        return [Row(name, "new", note=f"base: {be}", kind=k) for k in kinds]
    one, allc, par = entry.get("one", {}), entry.get("all", {}), entry.get("parallelism", {})
    n = min(
        len(one.get(base, [])),
        len(one.get(head, [])),
        len(allc.get(base, [])),
        len(allc.get(head, [])),
    )
    if n == 0:
        return [Row(name, "failed", note="no samples", kind=k) for k in kinds]
    series = {
        "speedup": (
            [a / b for a, b in zip(one[base][:n], allc[base][:n])],
            [a / b for a, b in zip(one[head][:n], allc[head][:n])],
        ),
        "parallelism": (par.get(base, [])[:n], par.get(head, [])[:n]),
    }
    rows = []
    for kind, (sb, sh) in series.items():
        if not sb or not sh:
            rows.append(Row(name, "n/a", note="no per-thread CPU clocks here", kind=kind))
            continue
        f = speedup_factor if kind == "speedup" and speedup_factor else factor
        row = compare_samples(name, sh, sb, f, min_agree)  # base/head: >1 is a loss
        row.kind = kind
        row.base_s, row.head_s = statistics.median(sb), statistics.median(sh)
        if row.status == "regression" and row.base_s < MIN_SPEEDUP:
            row.status = "same"
            row.note = f"base {kind} {row.base_s:.2f}x: none to lose on this machine now"
        rows.append(row)
    return rows


def _median(xs):
    return statistics.median(xs) if xs else None


def decide(rows: list[Row], load_errors: dict[str, str] | None = None, head: str = "head") -> int:
    """0: no regression; 1: a regression past the factor; 2: a benchmark (or the head) failed."""
    if load_errors and head in load_errors:
        return EXIT_FAILED
    if any(r.status == "failed" for r in rows):
        return EXIT_FAILED
    if any(r.status == "regression" for r in rows):
        return EXIT_REGRESSION
    return EXIT_OK
