"""Latency: seconds per symbol and the projected full-universe time of each ladder step.

The yardstick (docs/scan.md) is a full-universe (5,277 symbols) scan in 90 s.  Each step
is scanned once per commit (``setup_cache``), on PHASE_UNIVERSE symbols
(the per-symbol steps on BASELINE_SYMBOLS of them), after one warm-up scan;
the projection is the measured rate times 5,277, as ``ScanResult`` defines it.
``track_budget_fraction`` is projected / 90 s: at or under 1.0 meets the budget.
"""

from __future__ import annotations

from .common import (
    BUDGET_S,
    FULL,
    HTTP_UNIVERSE,
    LADDER_LABELS,
    PHASE_UNIVERSE,
    HttpServer,
    phase_steps,
    run_scan,
    scan_symbols,
    step_phases,
    step_symbols,
    store_path,
)


def _measure_ladder(http: bool = False) -> dict[str, dict]:
    try:
        steps = phase_steps()
    except ImportError as exc:
        return {"_error": {"why": f"no phase registry at this commit ({exc})"}}
    store = store_path(HTTP_UNIVERSE if http else PHASE_UNIVERSE)
    if not http:
        return _ladder_figures(steps, store, store)
    try:
        server = HttpServer(store)
    except NotImplementedError as exc:
        return {"_error": {"why": str(exc)}}
    url = server.start()
    try:
        return _ladder_figures(steps, store, url)
    finally:
        server.stop()


def _ladder_figures(steps, store, source) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for label, phases, why in steps:
        if phases is None:
            out[label] = {"why": why}
            continue
        symbols = scan_symbols(store, step_symbols(label, universe=len(_universe(store))))
        try:
            if "gpu" in phases:
                step_phases(label)  # n/a without a device
            run_scan(source, phases, symbols=scan_symbols(store, 20))  # warm-up
            res = run_scan(source, phases, symbols=symbols)
        except NotImplementedError as exc:
            out[label] = {"why": str(exc)}
            continue
        out[label] = {
            "wall_s": res.wall_s,
            "n_symbols": res.n_symbols,
            "seconds_per_symbol": res.wall_s / res.n_symbols,
            "projected_full_s": res.wall_s / res.n_symbols * FULL,
            "backend": res.backend,
        }
    return out


def _universe(store):
    from technic_core.universe.store import Store

    return Store(store).universe()


class Latency:
    params = [list(LADDER_LABELS)]
    param_names = ["step"]
    timeout = 900
    unit = "s"

    def setup_cache(self):
        return _measure_ladder()

    def setup(self, figures, label):
        fig = figures.get(label) or figures.get("_error") or {"why": "no such step"}
        if "wall_s" not in fig:
            raise NotImplementedError(fig["why"])

    def track_seconds_per_symbol(self, figures, label):
        return figures[label]["seconds_per_symbol"]

    def track_projected_full_s(self, figures, label):
        return figures[label]["projected_full_s"]

    def track_budget_fraction(self, figures, label):
        return figures[label]["projected_full_s"] / BUDGET_S

    track_budget_fraction.unit = "x of 90 s"


class HttpLatency(Latency):
    """The same figures with bars from ``technic serve`` (documented latency) on loopback,
    over an HTTP_UNIVERSE-symbol store."""

    def setup_cache(self):
        return _measure_ladder(http=True)
