"""Assemble the report from ``technic bench`` JSON and the asv results database."""
from __future__ import annotations

import html
from pathlib import Path

from . import charts
from .gate_section import gate_section
from .inputs import load_asv, load_bench
from .page import page, table

KEY_BENCHMARKS = ("bench_phases.Ladder.time_scan", "bench_indicators.FullSet.time_full_set",
                  "bench_indicators.Fused.time_fused")


def _fmt(x, spec=".3g"):
    return "-" if x is None else format(x, spec)


def build_report(out="reports/report.html", bench="reports/bench-latest.json",
                 asv_results=".asv/results") -> Path:
    doc = load_bench(bench)
    asv = load_asv(asv_results)
    sections: list[tuple[str, str]] = []
    if doc is None:
        header = f"<p>No <code>technic bench</code> results at {html.escape(str(bench))}: run it first.</p>"
        sections.append(("The phase ladder", charts.no_data("The phase ladder", "no technic bench results")))
    else:
        m = doc.get("machine", {})
        c = doc.get("commit", {})
        header = (f"<p>Universe: {doc['n_symbols']:,} symbols from {html.escape(doc['source'])}; "
                  f"median of {doc['repeat']} run(s) per step. Machine: {html.escape(str(m))}. "
                  f"Commit: {html.escape(str(c))}. Date: {html.escape(doc['date'])}.</p>")
        rows = []
        for s in doc["steps"]:
            match = {True: "<span class=ok>yes</span>", False: "<span class=bad>NO</span>",
                     None: "n/a"}[s["matched"]] if s["status"] == "ran" else "-"
            rows.append([s["label"], s["spec_step"], s["status"], _fmt(s["wall_s"]),
                         _fmt(s["seconds_per_symbol"] and s["seconds_per_symbol"] * 1e3),
                         _fmt(s["projected_full_s"]), _fmt(s["speedup_prev"], ".2f"),
                         _fmt(s["claim"], ".1f"), match, html.escape(s.get("path") or s.get("why") or "")])
        sections.append(("The phase ladder", charts.ladder(doc) + table(
            rows, ["step", "SPEC step", "status", "wall s", "ms/symbol", "projected full s",
                   "speedup", "plan", "matches baseline", "what ran / why not"])))
        sections.append(("Measured against projected speedups", charts.speedups(doc)))
        def verdict(s):
            if s["matched"] is None:
                return "n/a (the baseline did not run)"
            if s["matched"]:
                return "<span class=ok>identical</span>"
            return f"<span class=bad>{len(s.get('differences') or [])} difference(s)</span>"
        corr = [[s["label"], _fmt(s.get("max_deviation"), ".2e"), verdict(s)]
                for s in doc["steps"][1:] if s["status"] == "ran"]
        sections.append(("Correctness against the baseline", table(
            corr, ["step", "largest relative deviation", "table"]) if corr else "<p>no step ran</p>"))
    sections.append(("Per-indicator time by backend", charts.indicators(asv)))
    sections.append(("Growth with the universe", charts.scaling(asv)))
    dev = asv[asv["benchmark"].str.contains("BackendVsTALib.track_max_deviation", regex=False)]
    if len(dev):
        latest = dev[dev["date"] == dev["date"].max()]
        ran = [(p, v) for p, v in zip(latest["params"], latest["value"]) if v is not None and v == v]
        rows = [[p[0], p[1], _fmt(v, ".2e")] for p, v in ran]
        # a backend asv skipped here (no device, not built) has no figure: say so, never "nan"
        skipped = sorted({p[1] for p in latest["params"]} - {p[1] for p, _ in ran})
        note = (f"<p>not run on this machine: {html.escape(', '.join(skipped))}</p>" if skipped else "")
        sections.append(("Deviation from TA-Lib (asv)",
                         table(rows, ["indicator", "backend", "max relative"]) + note))
    svg, flagged = charts.history(asv, list(KEY_BENCHMARKS))
    flags = ("<p class=bad>Regressions: " + "; ".join(html.escape(f) for f in flagged) + "</p>") if flagged \
        else "<p class=ok>No regression flagged.</p>"
    sections.append(("History across commits", svg + flags))
    sections.append(("Regression gate: last verdicts", gate_section(Path(out).parent)))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page("technic performance report", header, sections))
    return path
