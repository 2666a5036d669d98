"""Assemble the report from ``technic bench`` JSON and the asv results database.

The page is a list of sections, each built by one function from the inputs
(``SECTIONS``); a section with nothing to show says which command fills it,
never just "no data".  New sections (e.g. the regression gate's last
verdicts) are one more function and one more entry in ``SECTIONS``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..fmt import interval
from . import charts
from .gate_section import gate_section
from .inputs import load_asv, load_bench
from .page import page, table

KEY_BENCHMARKS = (
    "bench_phases.Ladder.time_scan",
    "bench_indicators.FullSet.time_full_set",
    "bench_indicators.Fused.time_fused",
)
BENCH_CMD = "bash .ci/bench"
ASV_HISTORY_CMD = "asv run --quick HEAD~5..HEAD"
ASV_HEAD_CMD = "asv run --python=same --quick --set-commit-hash $(git rev-parse HEAD)"


@dataclass
class Inputs:
    bench: dict | None
    bench_path: Path
    asv: pd.DataFrame
    asv_path: Path
    reports_dir: Path  # where technic gate keeps gate-history.jsonl


def _esc(x) -> str:
    return html.escape(str(x))


def _fmt(x, spec=".3g") -> str:
    return "-" if x is None else format(x, spec)


def _needs(what: str, command: str) -> str:
    return f"<p class=todo>{_esc(what)}: run <code>{_esc(command)}</code>, then <code>technic report</code>.</p>"


# -- the header ------------------------------------------------------------------


def _gb(n) -> str:
    return "-" if not n else f"{n / 2**30:.0f} GB"


def header(inp: Inputs) -> str:
    doc = inp.bench
    if doc is None:
        return _needs(f"No technic bench results at {inp.bench_path}", BENCH_CMD)
    m, c = doc.get("machine", {}), doc.get("commit", {})
    load = doc.get("load") or {}
    sample = doc.get("sample") or {}
    mode = (
        "per-symbol steps on a stratified sample of "
        f"{sample.get('size', '?'):,} symbols, projected to the universe; the other steps on every symbol"
        if doc.get("mode", "full") == "sample"
        else "every step on every symbol"
    )
    run = [
        ["date (UTC)", _esc(doc["date"])],
        ["universe", f"{doc['n_symbols']:,} symbols from {_esc(doc['source'])}"],
        ["how", _esc(mode)],
        ["timed runs per step", str(doc["repeat"])],
        [
            "load average (1 min)",
            f"{load.get('before', '-')} before, {load.get('after', '-')} after",
        ],
    ]
    shares = [
        c
        for s in doc["steps"]
        if s["label"] in ("baseline", "+prefetch", "+prescreen")
        for c in s.get("cpu_share") or []
    ]
    if shares:
        busy = min(shares) < 0.9
        run.append(
            [
                "CPU share of the single-threaded steps",
                f"{100 * min(shares):.0f}–{100 * max(shares):.0f}% of a core (CPU time / wall time)"
                + (
                    " <span class=bad>busy machine: other jobs inflated and scattered these "
                    "figures</span>"
                    if busy
                    else ""
                ),
            ]
        )
    if doc.get("bench_s"):
        run.append(["technic bench took", f"{doc['bench_s']:.0f} s (warm-ups and sweeps included)"])
    pk = m.get("packages") or {}
    machine = [
        [
            "CPU",
            f"{_esc(m.get('cpu', '?'))} × {m.get('cpu_count', '?')}"
            + (
                f" ({m['affinity_cpus']} usable)"
                if m.get("affinity_cpus") not in (None, m.get("cpu_count"))
                else ""
            ),
        ],
        ["memory", _gb(m.get("memory_bytes"))],
        ["GPU", _esc(m.get("gpu") or "none found")],
        ["Python", _esc(m.get("python", "?"))],
        ["platform", _esc(m.get("platform", "?"))],
        ["packages", _esc(", ".join(f"{k} {v}" for k, v in pk.items()))],
    ]
    commit = [
        [
            "commit",
            f"<code>{_esc((c.get('commit') or 'unknown')[:12])}</code>"
            + (" <span class=bad>with uncommitted changes</span>" if c.get("dirty") else ""),
        ],
        ["branch", _esc(c.get("branch") or "-")],
        ["subject", _esc(c.get("subject") or "-")],
    ]
    return (
        "<div class=cards>"
        + "".join(
            f"<div><h3>{t}</h3>{table(rows, None)}</div>"
            for t, rows in (("This run", run), ("Machine", machine), ("Commit", commit))
        )
        + "</div>"
    )


# -- sections ----------------------------------------------------------------------


def ladder_section(inp: Inputs) -> str:
    doc = inp.bench
    if doc is None:
        return _needs("The ladder comes from technic bench", BENCH_CMD)
    rows = []
    for s in doc["steps"]:
        if s["status"] != "ran":
            rows.append(
                [
                    s["label"],
                    _esc(s["spec_step"]),
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    _fmt(s["claim"], ".1f"),
                    "-",
                    "-",
                    "-",
                    "-",
                    f"<span class=muted>{_esc(s['status'])}: {_esc(s.get('why') or '')}</span>",
                ]
            )
            continue
        match = {
            True: "<span class=ok>yes</span>",
            False: "<span class=bad>NO</span>",
            None: "n/a",
        }[s["matched"]]
        if s["label"] == "baseline":
            match = "reference"
        prev = interval(
            s.get("speedup_prev"),
            s.get("speedup_prev_lo"),
            s.get("speedup_prev_hi"),
            "x",
            html=True,
        )
        if s.get("within_noise"):
            prev += f" <span class=noise>{charts.NOISE}</span>"
        on = "sample" if s.get("runs_on") == "sample" else "all"
        rows.append(
            [
                s["label"],
                _esc(s["spec_step"]),
                on,
                interval(
                    s["wall_s"],
                    s.get("wall_lo", s["wall_s"]),
                    s.get("wall_hi", s["wall_s"]),
                    html=True,
                ),
                _fmt(s["seconds_per_symbol"] and s["seconds_per_symbol"] * 1e3, ".3f"),
                interval(
                    s["projected_full_s"],
                    s.get("projected_lo", s["projected_full_s"]),
                    s.get("projected_hi", s["projected_full_s"]),
                    html=True,
                ),
                prev,
                _fmt(s["claim"], ".1f"),
                interval(
                    s.get("speedup_base"),
                    s.get("speedup_base_lo"),
                    s.get("speedup_base_hi"),
                    "x",
                    html=True,
                ),
                _fmt(s.get("start_s"), ".1f"),
                _fmt(s.get("stop_s"), ".1f"),
                match,
                _esc(s.get("path") or ""),
            ]
        )
    head = [
        "step",
        "SPEC step",
        "on",
        "wall s (interval)",
        "ms/symbol",
        f"{doc['full_universe']:,} symbols, s",
        "vs previous",
        "plan",
        "vs baseline",
        "Ray start s",
        "Ray stop s",
        "matches baseline",
        "what ran",
    ]
    notes = ["<p class=note><b>wall s</b>: the universe's scan time, median and interval. "]
    if doc.get("mode") == "sample":
        smp = doc.get("sample") or {}
        per = next((s.get("interval") for s in doc["steps"] if s.get("runs_on") == "sample"), "")
        notes.append(
            f"Steps <b>on the sample</b> scanned {_esc(smp.get('description', 'a sample'))}; "
            f"their time is projected to the universe, interval: {_esc(per)}. "
        )
    notes.append(
        "Steps <b>on all</b>: min–max of the timed runs. <b>within noise</b>: the speedup's "
        "interval includes 1x (the two steps' intervals overlap), so the step bought nothing "
        "measurable here. <b>plan</b>: the original plan's projected speedup, a claim. "
        "<b>Ray start/stop</b>: Ray's start (with the workers' warm-up) and stop, paid by a "
        "one-off scan on top of its time. Each step's answer is compared with the baseline's "
        f"on {_esc(next((s.get('checked_on') for s in doc['steps'] if s.get('checked_on')), 'the same symbols'))}.</p>"
    )
    return charts.ladder(doc) + table(rows, head) + "".join(notes)


def speedups_section(inp: Inputs) -> str:
    if inp.bench is None:
        return _needs("The speedups come from technic bench", BENCH_CMD)
    svg = charts.speedups(inp.bench)
    if svg is None:
        return (
            "<p>Only the baseline ran, so there is no speedup to show (see the ladder for why).</p>"
        )
    return svg


def correctness_section(inp: Inputs) -> str:
    doc = inp.bench
    if doc is None:
        return _needs("The comparison with the baseline comes from technic bench", BENCH_CMD)

    def verdict(s):
        if s["matched"] is None:
            return "n/a (the baseline did not run)"
        if s["matched"]:
            return "<span class=ok>identical</span>"
        return f"<span class=bad>{len(s.get('differences') or [])} difference(s)</span>"

    corr = [
        [
            s["label"],
            _esc(s.get("checked_on") or "-"),
            _fmt(s.get("max_deviation"), ".2e"),
            verdict(s),
        ]
        for s in doc["steps"][1:]
        if s["status"] == "ran"
    ]
    if not corr:
        return "<p>No step beyond the baseline ran here (see the ladder for why).</p>"
    return table(
        corr, ["step", "compared on", "largest relative deviation", "table, rejections, errors"]
    )


def indicators_section(inp: Inputs) -> str:
    sweep = (inp.bench or {}).get("sweep") or {}
    svg = charts.indicators_from_sweep(sweep) if sweep else None
    if svg is not None:
        return svg + (
            f"<p class=note>Measured by technic bench's sweep: each backend through the public "
            f"API on the universe's (T, N) arrays; the pandas baseline on "
            f"{sweep.get('baseline_symbols')} symbols (per-symbol figures make the sizes "
            f"comparable); {_esc(sweep.get('reference_note', ''))}. asv's "
            f"<code>bench_indicators</code> measures the same at more sizes and across commits.</p>"
        )
    svg = charts.indicators_from_asv(inp.asv)
    if svg is not None:
        return (
            svg + "<p class=note>From asv's results (<code>bench_indicators.Indicator</code>).</p>"
        )
    why = sweep.get("error") and f"the sweep failed ({sweep['error']})"
    return _needs(
        f"Per-indicator times come from technic bench's sweep{'; ' + why if why else ''}", BENCH_CMD
    )


def growth_section(inp: Inputs) -> str:
    sweep = (inp.bench or {}).get("sweep") or {}
    svg = charts.growth_from_sweep(sweep) if sweep else None
    if svg is not None:
        return svg + (
            "<p class=note>The full set (the thirteen indicator calls) per backend and the "
            "whole vectorised scan at growing universes; sub-universes are stratified samples "
            "with the universe's mix. A flat per-symbol line is linear growth.</p>"
        )
    svg = charts.scaling_from_asv(inp.asv)
    if svg is not None:
        return svg + "<p class=note>From asv's results (<code>bench_indicators.FullSet</code>).</p>"
    return _needs("Growth with the universe comes from technic bench's sweep", BENCH_CMD)


def deviation_section(inp: Inputs) -> str | None:
    asv = inp.asv
    dev = asv[asv["benchmark"].str.contains("BackendVsTALib.track_max_deviation", regex=False)]
    if not len(dev):
        return None  # an asv-only section: absent, not empty, without asv results
    latest = dev[dev["date"] == dev["date"].max()]
    ran = [(p, v) for p, v in zip(latest["params"], latest["value"]) if v is not None and v == v]
    rows = [[p[0], p[1], _fmt(v, ".2e")] for p, v in ran]
    # a backend asv skipped here (no device, not built) has no figure: say so, never "nan"
    skipped = sorted({p[1] for p in latest["params"]} - {p[1] for p, _ in ran})
    note = f"<p>not run on this machine: {_esc(', '.join(skipped))}</p>" if skipped else ""
    return table(rows, ["indicator", "backend", "max relative"]) + note


def history_section(inp: Inputs) -> str:
    svg, flagged, compared = charts.history(inp.asv, list(KEY_BENCHMARKS))
    if svg is None:
        return (
            f"<p class=todo>History needs asv results across commits (none in "
            f"<code>{_esc(inp.asv_path)}</code>): run <code>{ASV_HISTORY_CMD}</code> (builds and "
            f"measures the last five commits, about 5 minutes a commit on the 2-core machine), "
            f"then <code>technic report</code>.</p>"
        )
    if flagged:
        verdict = "<p class=bad>Regressions: " + "; ".join(_esc(f) for f in flagged) + "</p>"
    elif compared:
        verdict = (
            f"<p class=ok>No regression flagged by asv.step_detect in the {compared} series "
            f"measured at three or more commits.</p>"
        )
    else:
        verdict = (
            f"<p class=todo>Fewer than three commits measured: nothing compared yet. Run "
            f"<code>{ASV_HISTORY_CMD}</code>.</p>"
        )
    return svg + verdict


SECTIONS: list[tuple[str, Callable[[Inputs], str | None]]] = [
    ("The phase ladder", ladder_section),
    ("Measured against projected speedups", speedups_section),
    ("Correctness against the baseline", correctness_section),
    ("Per-indicator time by backend", indicators_section),
    ("Growth with the universe", growth_section),
    ("Deviation from TA-Lib (asv)", deviation_section),
    ("History across commits", history_section),
    ("Regression gate: last verdicts", lambda inp: gate_section(inp.reports_dir)),
]


def build_report(
    out="reports/report.html", bench="reports/bench-latest.json", asv_results=".asv/results"
) -> Path:
    inp = Inputs(
        load_bench(bench), Path(bench), load_asv(asv_results), Path(asv_results), Path(out).parent
    )
    sections: list[tuple[str, str]] = []
    for title, build in SECTIONS:
        content = build(inp)
        if content is not None:
            sections.append((title, content))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page("technic performance report", header(inp), sections))
    return path
