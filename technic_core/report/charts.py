"""Charts as inline SVG: titled, labelled, with units, every measured figure with its spread.

Axes are sized to what they show (bars, error bars and value labels), and a
speedup whose interval includes 1x is marked "within noise" on the chart as
in the tables.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

plt.rcParams.update(
    {
        "font.size": 10,
        "axes.titlesize": 12,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "svg.fonttype": "none",
    }
)

OK, OVER, EDGE, PLAN = "#3a7", "#c54", "#d90", "#bbb"
NOISE = "within noise"
# one colour per backend in every chart
BACKEND_COLOURS = {
    "baseline": "#1f77b4",
    "numpy": "#ff7f0e",
    "numba": "#2ca02c",
    "talib": "#d62728",
    "cupy": "#9467bd",
}


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    # matplotlib's RDF block names vocabularies by URL; they are never fetched, but drop them
    a, b = text.find("<metadata>"), text.find("</metadata>")
    return text[:a] + text[b + len("</metadata>") :] if a >= 0 and b > a else text


def _log_limits(
    lo: float, hi: float, below: float = 2.0, above: float = 3.0
) -> tuple[float, float]:
    """Log-axis limits that hold [lo, hi] with room for labels."""
    lo, hi = max(lo, 1e-12), max(hi, 1e-12)
    return lo / below, hi * above


def _fmt_s(v: float) -> str:
    if v >= 100:
        return f"{v:.0f} s"
    if v >= 10:
        return f"{v:.1f} s"
    if v >= 1:
        return f"{v:.2f} s"
    return f"{v * 1e3:.0f} ms" if v >= 0.01 else f"{v * 1e3:.1f} ms"


def _range_s(est: float, lo: float, hi: float) -> str:
    """``90.3 s (88.7–93.3)``, ``878 ms (876–929)``: one unit for the three."""
    if est >= 1:
        f = (
            (lambda v: f"{v:.0f}")
            if est >= 100
            else (lambda v: f"{v:.1f}")
            if est >= 10
            else (lambda v: f"{v:.2f}")
        )
        return f"{f(est)} s ({f(lo)}–{f(hi)})"
    f = (lambda v: f"{v * 1e3:.0f}") if est >= 0.01 else (lambda v: f"{v * 1e3:.2f}")
    return f"{f(est)} ms ({f(lo)}–{f(hi)})"


def _fmt_x(v: float) -> str:
    return f"{v:.2f}x" if v < 10 else f"{v:.0f}x"


def _err(est, lo, hi) -> np.ndarray:
    est, lo, hi = (np.asarray(x, dtype=float) for x in (est, lo, hi))
    return np.vstack([np.maximum(est - lo, 0), np.maximum(hi - est, 0)])


# -- the ladder ------------------------------------------------------------------


def ladder(bench: dict) -> str:
    """Projected full-universe time per step, log scale, interval bars, against the budget."""
    steps = bench["steps"]
    budget = bench["budget_s"]
    ran = [s for s in steps if s["status"] == "ran"]
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(steps) + 1.6))
    y = np.arange(len(steps))
    lo_all = min((s.get("projected_lo") or s["projected_full_s"] for s in ran), default=budget)
    hi_all = max((s.get("projected_hi") or s["projected_full_s"] for s in ran), default=budget)
    x0, x1 = _log_limits(min(lo_all, budget), max(hi_all, budget), 3.0, 40.0)
    for i, s in enumerate(steps):
        if s["status"] != "ran":
            why = str(s.get("why") or "")
            why = why if len(why) <= 90 else why[:89] + "…"
            ax.text(x0 * 1.1, i, f"{s['status']}: {why}", va="center", fontsize=8, color="#666")
            continue
        est = s["projected_full_s"]
        lo, hi = s.get("projected_lo") or est, s.get("projected_hi") or est
        colour = OK if hi <= budget else (OVER if lo > budget else EDGE)
        ax.barh(i, est, color=colour, height=0.6)
        ax.errorbar(
            [est], [i], xerr=_err([est], [lo], [hi]), fmt="none", ecolor="k", capsize=4, lw=1.2
        )
        label = f" {_range_s(est, lo, hi)}"
        if s.get("runs_on") == "sample":
            label += ", projected from the sample"
        if s.get("within_noise"):
            label += f"; {NOISE} of {s.get('prev_label')}"
        ax.text(hi * 1.08, i, label, va="center", fontsize=8.5)
    ax.axvline(budget, color="k", ls="--", lw=1)
    ax.text(budget, -0.75, f" {budget:.0f} s budget", va="center", ha="right", fontsize=9)
    ax.set_xscale("log")
    ax.set_xlim(x0, x1)
    ax.set_ylim(len(steps) - 0.4, -1.1)
    ax.set_yticks(y, [s["label"] for s in steps])
    ax.set_xlabel(
        f"time for {bench['full_universe']:,} symbols (s, log scale); bars: median, "
        "whiskers: interval"
    )
    ax.set_title("The phase ladder: each step against the 90 s budget")
    return _svg(fig)


def speedups(bench: dict) -> str | None:
    """Measured speedup over the step each builds on, with its interval, beside the plan's claim."""
    ran = [s for s in bench["steps"][1:] if s["status"] == "ran" and s.get("speedup_prev")]
    if not ran:
        return None
    fig, ax = plt.subplots(figsize=(10, 4.4))
    x = np.arange(len(ran))
    est = np.array([s["speedup_prev"] for s in ran])
    lo = np.array([s.get("speedup_prev_lo") or s["speedup_prev"] for s in ran])
    hi = np.array([s.get("speedup_prev_hi") or s["speedup_prev"] for s in ran])
    claims = np.array([s["claim"] or np.nan for s in ran])
    ax.bar(
        x - 0.2,
        est,
        0.4,
        color="#4a7fc1",
        label="measured (vs the step it builds on)",
        edgecolor=["#c54" if s.get("within_noise") else "none" for s in ran],
        linewidth=1.5,
    )
    ax.errorbar(x - 0.2, est, yerr=_err(est, lo, hi), fmt="none", ecolor="k", capsize=4, lw=1.2)
    ax.bar(x + 0.2, claims, 0.4, label="the plan's projection (a claim)", color=PLAN)
    for xi, e, h, s in zip(x, est, hi, ran):
        text = _fmt_x(e) + (f"\n{NOISE}" if s.get("within_noise") else "")
        ax.text(
            xi - 0.2,
            h * 1.12,
            text,
            ha="center",
            va="bottom",
            fontsize=8.5,
            color="#b00" if s.get("within_noise") else "k",
        )
    for xi, c in zip(x, claims):
        if c == c:
            ax.text(
                xi + 0.2, c * 1.12, _fmt_x(c), ha="center", va="bottom", fontsize=8.5, color="#555"
            )
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(x, [f"{s['label']}\nvs {s.get('prev_label') or '-'}" for s in ran], fontsize=8.5)
    ax.set_yscale("log")
    vals = np.concatenate([lo, hi, claims[~np.isnan(claims)], [1.0]])
    ax.set_ylim(*_log_limits(vals.min(), vals.max(), 1.6, 6.0))
    ax.set_ylabel("speedup (x, log scale)")
    ax.set_title("What each phase buys: measured (median, interval) against the plan")
    ax.legend(loc="upper left", fontsize=8.5)
    return _svg(fig)


# -- the sweeps ------------------------------------------------------------------


def _stats(times: list[float]) -> tuple[float, float, float]:
    return float(np.median(times)), float(min(times)), float(max(times))


def indicators_from_sweep(sweep: dict) -> str | None:
    rows = sweep.get("indicators") or []
    if not rows:
        return None
    d = pd.DataFrame(rows)
    # each backend at its largest size (the baseline at its own, smaller one)
    d = d[d["symbols"] == d.groupby("backend")["symbols"].transform("max")]
    names = list(dict.fromkeys(d["indicator"]))
    backends = list(dict.fromkeys(d["backend"]))
    fig, ax = plt.subplots(figsize=(11, 4.6))
    width = 0.8 / len(backends)
    lows, highs = [], []
    for k, b in enumerate(backends):
        g = d[d["backend"] == b].set_index("indicator").reindex(names)
        st = np.array([_stats(t) for t in g["times"]]) / g["symbols"].to_numpy()[:, None] * 1e6
        xs = np.arange(len(names)) + (k - (len(backends) - 1) / 2) * width
        n = int(g["symbols"].iloc[0])
        label = f"{b}, {n:,} symbols" + (" (TA-Lib at its best)" if b == "talib" else "")
        ax.bar(xs, st[:, 0], width, label=label, color=BACKEND_COLOURS.get(b))
        ax.errorbar(
            xs,
            st[:, 0],
            yerr=_err(st[:, 0], st[:, 1], st[:, 2]),
            fmt="none",
            ecolor="k",
            capsize=2,
            lw=0.8,
        )
        lows.append(st[:, 1].min())
        highs.append(st[:, 2].max())
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_yscale("log")
    ax.set_ylim(*_log_limits(min(lows), max(highs), 2.0, 4.0))
    ax.set_ylabel("µs per symbol (log scale)")
    ax.set_title("Per-indicator time by backend (median of the repeats, whiskers min–max)")
    ax.legend(fontsize=8.5, ncol=2, loc="upper left")
    return _svg(fig)


def growth_from_sweep(sweep: dict) -> str | None:
    full = sweep.get("full_set") or []
    scan = (sweep.get("scan") or {}).get("rows") or []
    series: list[tuple[str, str | None, list[dict]]] = []
    for b in dict.fromkeys(r["backend"] for r in full):
        pts = sorted((r for r in full if r["backend"] == b), key=lambda r: r["symbols"])
        if len(pts) >= 2:
            series.append(
                (
                    f"full indicator set, {b}" + (" (TA-Lib at its best)" if b == "talib" else ""),
                    BACKEND_COLOURS.get(b),
                    pts,
                )
            )
    if len(scan) >= 2:
        ph = ",".join((sweep.get("scan") or {}).get("phases") or [])
        series.append((f"whole scan ({ph})", "k", sorted(scan, key=lambda r: r["symbols"])))
    if not series:
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.6))
    sizes: set[int] = set()
    for name, colour, pts in series:
        n = np.array([p["symbols"] for p in pts], dtype=float)
        sizes.update(int(k) for k in n)
        st = np.array([_stats(p["times"]) for p in pts])
        style = dict(
            marker="o",
            capsize=3,
            lw=1.4,
            color=colour,
            ls="--" if name.startswith("whole") else "-",
        )
        a1.errorbar(n, st[:, 0], yerr=_err(st[:, 0], st[:, 1], st[:, 2]), label=name, **style)
        per = st / n[:, None] * 1e6
        a2.errorbar(n, per[:, 0], yerr=_err(per[:, 0], per[:, 1], per[:, 2]), label=name, **style)
    for ax, ylabel, title in (
        (a1, "s (log scale)", "Time"),
        (a2, "µs per symbol (log scale)", "Per symbol"),
    ):
        ax.set(xlabel="symbols (log scale)", ylabel=ylabel, title=title, xscale="log", yscale="log")
        ax.set_xticks(sorted(sizes), [f"{k:,}" for k in sorted(sizes)])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlim(min(sizes) / 1.4, max(sizes) * 1.4)
    handles, labels = a1.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=2, fontsize=8.5, bbox_to_anchor=(0.5, -0.08)
    )
    fig.suptitle("Growth with the universe (median of the repeats, whiskers min–max)", y=1.0)
    fig.tight_layout()
    return _svg(fig)


# -- asv results -----------------------------------------------------------------

EXACT = 1e-9  # docs/scan.md: TA-Lib's values to 1e-9 relative, NaN in the same places


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
    for suffix in (
        "BackendVsTALib.track_nan_mismatches",
        "PeerDeviation.track_value_places_differing",
    ):
        d = _latest(asv, suffix).dropna(subset=["value"])
        for who, g in d.groupby(d["params"].str[1]):
            out[who] = out.get(who, True) and bool((g["value"].astype(float) == 0).all())
    return out


def indicators_from_asv(asv: pd.DataFrame) -> str | None:
    """Per-indicator time at the largest size: technic's backends, the TA-Lib references, the peers.

    A legend entry says whether that contender is TA-Lib-exact where the run
    measured it (``bench_correctness``, ``bench_peers``).
    """
    d = _latest(asv, "Indicator.time_indicator")
    d = d[~d["benchmark"].str.endswith("PeerIndicator.time_indicator")]
    if d.empty:
        return None
    d = d.assign(
        indicator=d["params"].str[0], backend=d["params"].str[1], n=d["params"].str[2].astype(int)
    )
    d = d[d["n"] == d["n"].max()].dropna(subset=["value"])
    if d.empty:
        return None
    n = int(d["n"].max())
    peers = _latest(asv, "PeerIndicator.time_indicator").dropna(subset=["value"])
    if len(peers):
        peers = peers.assign(indicator=peers["params"].str[0], backend=peers["params"].str[1])
        d = pd.concat([d, peers[["indicator", "backend", "value"]]])
    pivot = d.pivot_table(index="indicator", columns="backend", values="value") * 1e3
    exact = exactness(asv)
    pivot.columns = [
        c + {True: " (TA-Lib-exact)", False: " (not exact)"}.get(exact.get(c), "")
        for c in pivot.columns
    ]
    fig, ax = plt.subplots(figsize=(11, 4.6))
    pivot.plot.bar(ax=ax, logy=True, width=0.85)
    ax.set_ylabel("ms per call (log scale)")
    ax.set_xlabel("")
    ax.legend(fontsize=8, ncol=2)
    ax.set_title(
        f"Per-indicator time, {n:,} symbols: technic's backends, TA-Lib at its best "
        "(talib-best) and from a panel, the field's peers"
    )
    return _svg(fig)


def scaling_from_asv(asv: pd.DataFrame) -> str | None:
    d = asv[asv["benchmark"].str.endswith("FullSet.time_full_set")].dropna(subset=["value"])
    if d.empty:
        return None
    d = d[d["date"] == d["date"].max()]
    d = d.assign(backend=d["params"].str[0], n=d["params"].str[1].astype(int))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for b, g in d.groupby("backend"):
        g = g.sort_values("n")
        a1.plot(g["n"], g["value"], marker="o", label=b)
        a2.plot(g["n"], g["value"] / g["n"] * 1e6, marker="o", label=b)
    a1.set(xlabel="symbols", ylabel="s", title="Full indicator set (asv): time", yscale="log")
    a2.set(
        xlabel="symbols",
        ylabel="µs per symbol",
        title="Full indicator set (asv): per symbol",
        yscale="log",
    )
    a1.legend()
    return _svg(fig)


def history(asv: pd.DataFrame, benchmarks: list[str]) -> tuple[str | None, list[str], int]:
    """Key benchmarks over commits; regressions by asv's own step detection.

    Returns (chart or None, regressions found, how many series had enough
    commits (3) to be compared at all).
    """
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
        return None, flagged, 0
    compared = 0
    fig, ax = plt.subplots(figsize=(10, 4))
    for name, g in series[:8]:
        vals = g["value"].to_numpy(float)
        ax.plot(range(len(g)), vals, marker="o", label=name)
        if len(vals) >= 3:
            compared += 1
            _, _, regs = detect_regressions(detect_steps(list(vals)), threshold=0.1)
            for _before, after, v0, v1 in regs or []:
                ax.scatter(
                    [after], [vals[after]], s=120, facecolors="none", edgecolors="red", zorder=3
                )
                flagged.append(f"{name}: {v0:.4g} -> {v1:.4g} at commit {g['commit'].iloc[after]}")
    ax.set_yscale("log")
    allv = np.concatenate([g["value"].to_numpy(float) for _, g in series[:8]])
    ax.set_ylim(*_log_limits(np.nanmin(allv), np.nanmax(allv), 1.5, 2.0))
    ax.set_xlabel("commit (oldest to newest)")
    ax.set_ylabel("s (log scale)")
    ax.set_title("History of the key benchmarks (red rings: regressions found by asv.step_detect)")
    ax.legend(fontsize=8)
    return _svg(fig), flagged, compared
