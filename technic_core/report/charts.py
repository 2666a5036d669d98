"""Charts as inline SVG: titled, labelled, with units, legible in print."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

plt.rcParams.update({"font.size": 10, "axes.titlesize": 12, "axes.grid": True, "grid.alpha": 0.3,
                     "svg.fonttype": "none"})


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    # matplotlib's RDF block names vocabularies by URL; they are never fetched, but drop them
    a, b = text.find("<metadata>"), text.find("</metadata>")
    return text[:a] + text[b + len("</metadata>"):] if a >= 0 and b > a else text


def no_data(title: str, why: str) -> str:
    fig, ax = plt.subplots(figsize=(8, 1.6))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.4, f"no data: {why}", ha="center", va="center", fontsize=11, color="#666")
    return _svg(fig)


def ladder(bench: dict) -> str:
    steps = bench["steps"]
    labels = [s["label"] for s in steps]
    vals = [s["projected_full_s"] if s["status"] == "ran" else np.nan for s in steps]
    fig, ax = plt.subplots(figsize=(9, 4))
    y = np.arange(len(steps))
    ax.barh(y, np.nan_to_num(vals, nan=0.0), color=["#3a7" if v <= bench["budget_s"] else "#c54"
                                                    for v in np.nan_to_num(vals, nan=0.0)])
    ax.axvline(bench["budget_s"], color="k", ls="--", lw=1)
    ax.text(bench["budget_s"], len(steps) - 0.5, f" {bench['budget_s']:.0f} s budget", va="center")
    for i, (s, v) in enumerate(zip(steps, vals)):
        text = f" {v:.2f} s" if s["status"] == "ran" else f" {s['status']}"
        ax.text(v if s["status"] == "ran" else ax.get_xlim()[0], i, text, va="center", fontsize=9)
    ax.set_xscale("log")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"projected time for {bench['full_universe']:,} symbols (s, log scale)")
    ax.set_title("The phase ladder: each cumulative step against the 90 s budget")
    return _svg(fig)


def speedups(bench: dict) -> str:
    ran = [s for s in bench["steps"][1:] if s["status"] == "ran" and s.get("speedup_prev")]
    if not ran:
        return no_data("Measured vs planned speedup per step", "no step beyond the baseline ran")
    fig, ax = plt.subplots(figsize=(9, 3.8))
    x = np.arange(len(ran))
    ax.bar(x - 0.2, [s["speedup_prev"] for s in ran], 0.4, label="measured (vs the step it builds on)")
    ax.bar(x + 0.2, [s["claim"] or np.nan for s in ran], 0.4, label="the plan's projection", color="#bbb")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(x, [s["label"] for s in ran])
    ax.set_yscale("log")
    ax.set_ylabel("speedup (x, log scale)")
    ax.set_title("What each phase buys: measured against projected")
    ax.legend()
    return _svg(fig)


EXACT = 1e-9  # SPEC: TA-Lib's values to 1e-9 relative, NaN in the same places


def _latest(asv: pd.DataFrame, suffix: str) -> pd.DataFrame:
    d = asv[asv["benchmark"].str.endswith(suffix)]
    return d[d["date"] == d["date"].max()] if len(d) else d


def exactness(asv: pd.DataFrame) -> dict[str, bool]:
    """Contender -> TA-Lib-exact on every indicator measured (technic's backends and the peers)."""
    out: dict[str, bool] = {}
    for suffix in ("BackendVsTALib.track_max_deviation", "PeerDeviation.track_max_deviation"):
        d = _latest(asv, suffix).dropna(subset=["value"])
        for who, g in d.groupby(d["params"].str[1]):
            out[who] = bool((g["value"].astype(float) <= EXACT).all())
    for suffix in ("BackendVsTALib.track_nan_mismatches", "PeerDeviation.track_value_places_differing"):
        d = _latest(asv, suffix).dropna(subset=["value"])
        for who, g in d.groupby(d["params"].str[1]):
            out[who] = out.get(who, True) and bool((g["value"].astype(float) == 0).all())
    return out


def indicators(asv: pd.DataFrame) -> str:
    """Per-indicator time at the largest size: technic's backends, the TA-Lib references, the peers.

    A legend entry says whether that contender is TA-Lib-exact where the run
    measured it (``bench_correctness``, ``bench_peers``).
    """
    d = _latest(asv, "Indicator.time_indicator")
    d = d[~d["benchmark"].str.endswith("PeerIndicator.time_indicator")]
    if d.empty:
        return no_data("Per-indicator time by backend", "no asv results for bench_indicators.Indicator")
    d = d.assign(indicator=d["params"].str[0], backend=d["params"].str[1], n=d["params"].str[2].astype(int))
    d = d[d["n"] == d["n"].max()].dropna(subset=["value"])
    if d.empty:
        return no_data("Per-indicator time by backend", "every case was skipped")
    n = int(d["n"].max())
    peers = _latest(asv, "PeerIndicator.time_indicator").dropna(subset=["value"])
    if len(peers):
        peers = peers.assign(indicator=peers["params"].str[0], backend=peers["params"].str[1])
        d = pd.concat([d, peers[["indicator", "backend", "value"]]])
    pivot = d.pivot_table(index="indicator", columns="backend", values="value") * 1e3
    exact = exactness(asv)
    pivot.columns = [c + {True: " (TA-Lib-exact)", False: " (not exact)"}.get(exact.get(c), "")
                     for c in pivot.columns]
    fig, ax = plt.subplots(figsize=(11, 4.6))
    pivot.plot.bar(ax=ax, logy=True, width=0.85)
    ax.set_ylabel("ms per call (log scale)")
    ax.set_xlabel("")
    ax.legend(fontsize=8, ncol=2)
    ax.set_title(f"Per-indicator time, {n:,} symbols: technic's backends, TA-Lib at its best "
                 "(talib-best) and from a panel, the field's peers")
    return _svg(fig)


def scaling(asv: pd.DataFrame) -> str:
    d = asv[asv["benchmark"].str.endswith("FullSet.time_full_set")].dropna(subset=["value"])
    if d.empty:
        return no_data("How the full indicator set grows with the universe", "no FullSet results")
    d = d[d["date"] == d["date"].max()]
    d = d.assign(backend=d["params"].str[0], n=d["params"].str[1].astype(int))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for b, g in d.groupby("backend"):
        g = g.sort_values("n")
        a1.plot(g["n"], g["value"], marker="o", label=b)
        a2.plot(g["n"], g["value"] / g["n"] * 1e6, marker="o", label=b)
    a1.set(xlabel="symbols", ylabel="s", title="Full indicator set: time", yscale="log")
    a2.set(xlabel="symbols", ylabel="µs per symbol", title="Full indicator set: per symbol", yscale="log")
    a1.legend()
    return _svg(fig)


def history(asv: pd.DataFrame, benchmarks: list[str]) -> tuple[str, list[str]]:
    """Key benchmarks over commits, regressions found by asv's own step detection."""
    from asv.step_detect import detect_regressions, detect_steps
    flagged: list[str] = []
    series = []
    for key in benchmarks:
        d = asv[asv["benchmark"] == key].dropna(subset=["value"])
        for params, g in d.groupby("params"):
            g = g.sort_values("date")
            if len(g):
                series.append((f"{key.split('.')[-2]} {', '.join(params)}", g))
    if not series:
        return no_data("History across commits", "no asv results for the key benchmarks"), flagged
    fig, ax = plt.subplots(figsize=(10, 4))
    for name, g in series[:8]:
        vals = g["value"].to_numpy(float)
        ax.plot(range(len(g)), vals, marker="o", label=name)
        if len(vals) >= 3:
            _, _, regs = detect_regressions(detect_steps(list(vals)), threshold=0.1)
            for _before, after, v0, v1 in regs or []:
                ax.scatter([after], [vals[after]], s=120, facecolors="none", edgecolors="red", zorder=3)
                flagged.append(f"{name}: {v0:.4g} -> {v1:.4g} at commit {g['commit'].iloc[after]}")
    ax.set_yscale("log")
    ax.set_xlabel("commit (oldest to newest)")
    ax.set_ylabel("s (log scale)")
    ax.set_title("History of the key benchmarks (red rings: regressions found by asv.step_detect)")
    ax.legend(fontsize=8)
    return _svg(fig), flagged
