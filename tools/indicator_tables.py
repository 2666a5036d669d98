"""The indicator tables of docs/indicators.md, from asv's results database.

    python tools/indicator_tables.py [--results .asv/results] [--commit HASH]

Prints markdown: the ratios (``bench_indicators`` ``track_`` benchmarks), the
per-indicator times of technic against both TA-Lib references and the peers
at 5,277 symbols, the full sets, and which contenders are TA-Lib-exact.
Whatever was not measured in that run prints as "-".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from technic_core.report.inputs import load_asv  # noqa: E402

EXACT = 1e-9


def _pick(d, suffix):
    return d[d["benchmark"].str.endswith(suffix)].dropna(subset=["value"])


def _fmt_ms(v):
    return "-" if v is None else (f"{v * 1e3:.1f} ms" if v < 1 else f"{v:.2f} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default=".asv/results")
    ap.add_argument("--commit", default=None)
    args = ap.parse_args(argv)
    d = load_asv(args.results)
    if d.empty:
        print("no asv results")
        return 1
    commit = (args.commit or d.sort_values("date")["commit"].iloc[-1])[:8]
    d = d[d["commit"] == commit]
    print(f"commit {commit}\n")

    for suffix, title in [
        (
            "bench_indicators.SpeedupOverTALib.track_speedup",
            "full set: TA-Lib at its best / technic (wall)",
        ),
        ("CPUOverTALib.track_cpu_speedup", "full set: CPU-time ratio"),
        ("bench_indicators.FusedSpeedupOverTALib.track_speedup", "TA-Lib full set / fused pass"),
        ("TALibPanelCost.track_ratio", "TA-Lib from a panel / TA-Lib at its best"),
        ("LateStartCost.track_cost", "10% late / clean (panel)"),
        ("ValidationShare.track_share", "validation / full set (panel)"),
    ]:
        g = _pick(d, suffix)
        if g.empty:
            continue
        print(f"**{title}**\n")
        for p, v in zip(g["params"], g["value"]):
            print(f"- {', '.join(p)}: {v:.3g}")
        print()

    times = _pick(d, "bench_indicators.Indicator.time_indicator")
    times = times[times["params"].str[2] == "5277"]
    peers = _pick(d, "PeerIndicator.time_indicator")
    table: dict[str, dict[str, float]] = {}
    for p, v in zip(times["params"], times["value"]):
        table.setdefault(p[0], {})[p[1]] = v
    for p, v in zip(peers["params"], peers["value"]):
        table.setdefault(p[0], {})[p[1]] = v
    cols = ["talib-best", "talib-panel", "numba", "tulipy", "polars-talib", "ta-numba"]
    if table:
        print(
            "| indicator | " + " | ".join(cols) + " | TA-Lib best / numba | TA-Lib panel / numba |"
        )
        print("|---|" + "---:|" * (len(cols) + 2))
        for name, row in table.items():
            cells = [_fmt_ms(row.get(c)) for c in cols]
            r1 = (
                f"{row['talib-best'] / row['numba']:.1f}x"
                if "talib-best" in row and "numba" in row
                else "-"
            )
            r2 = (
                f"{row['talib-panel'] / row['numba']:.1f}x"
                if "talib-panel" in row and "numba" in row
                else "-"
            )
            print(f"| {name} | " + " | ".join(cells) + f" | {r1} | {r2} |")
        print()

    full = _pick(d, "FullSet.time_full_set")
    full = full[full["params"].str[1] == "5277"]
    pfull = _pick(d, "PeerFullSet.time_full_set")
    rows = [(p[0], v) for p, v in zip(full["params"], full["value"])]
    rows += [(p[0] + " (peer run)", v) for p, v in zip(pfull["params"], pfull["value"])]
    if rows:
        print("| full set, 5,277 symbols | time |\n|---|---:|")
        for who, v in rows:
            print(f"| {who} | {_fmt_ms(v)} |")
        print()

    dev = _pick(d, "PeerDeviation.track_max_deviation")
    nan = _pick(d, "PeerDeviation.track_value_places_differing")
    ours = _pick(d, "BackendVsTALib.track_max_deviation")
    if len(dev) or len(ours):
        print(
            "| indicator | contender | max relative deviation from TA-Lib | places only one gives a value | exact |"
        )
        print("|---|---|---:|---:|---|")
        nanmap = {tuple(p): v for p, v in zip(nan["params"], nan["value"])}
        for p, v in list(zip(ours["params"], ours["value"])) + list(
            zip(dev["params"], dev["value"])
        ):
            n = nanmap.get(tuple(p), 0)
            print(
                f"| {p[0]} | {p[1]} | {v:.1e} | {int(n)} | {'yes' if v <= EXACT and not n else 'no'} |"
            )
        print()

    other = d[
        d["benchmark"].str.contains(
            "IndicatorMemory|Startup|Validation.time_panel|Fused.time_fused"
        )
    ]
    other = other.dropna(subset=["value"])
    for _, r in other.iterrows():
        print(f"- {r['benchmark']} ({', '.join(r['params'])}): {r['value']:.4g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
