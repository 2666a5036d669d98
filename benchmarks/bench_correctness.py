"""Correctness as figures: how far each backend is from TA-Lib, each phase from the baseline.

The bar (docs/scan.md): indicators equal TA-Lib to 1e-9 relative with NaN in the same
places; every phase returns the baseline's table, row for row.  Deviation is
``|a - b| / max(|b|, 1)`` (relative, absolute near zero), as
``technic_core.scan.compare`` measures it.  A figure above 1e-9, or any NaN
placed differently, is a correctness bug, not noise.
"""

from __future__ import annotations

import numpy as np

from .common import (
    BASELINE_SYMBOLS,
    INDICATOR_CALLS,
    KNOWN_BACKENDS,
    LADDER_LABELS,
    PHASE_UNIVERSE,
    arrays,
    backend_module,
    indicator_inputs,
    run_scan,
    scan_symbols,
    step_phases,
    store_path,
)

CHECK_SYMBOLS = 200  # every value of every column is compared: 100,800 per output
BACKENDS = [b for b in KNOWN_BACKENDS if b != "talib"]


def _outputs(x) -> list[np.ndarray]:
    return [np.asarray(a, dtype=np.float64) for a in (x if isinstance(x, tuple) else (x,))]


def deviation(ours, ref) -> tuple[float, int]:
    """(largest deviation where both are numbers, count of places where NaN-ness differs)."""
    worst, nan_diff = 0.0, 0
    for a, b in zip(_outputs(ours), _outputs(ref), strict=True):
        na, nb = np.isnan(a), np.isnan(b)
        nan_diff += int(np.count_nonzero(na != nb))
        m = ~na & ~nb
        if m.any():
            worst = max(worst, float(np.max(np.abs(a[m] - b[m]) / np.maximum(np.abs(b[m]), 1.0))))
    return worst, nan_diff


def _backend_figures() -> dict:
    """(indicator, backend) -> (largest deviation, NaN mismatches), or why it cannot run."""
    out: dict = {}
    try:
        backend_module("talib")
    except NotImplementedError as exc:
        return {"_error": str(exc)}
    from technic_core import indicators as ind

    data = arrays(CHECK_SYMBOLS)
    for backend in BACKENDS:
        try:
            backend_module(backend)
        except NotImplementedError as exc:
            out.update({(name, backend): str(exc) for name in INDICATOR_CALLS})
            continue
        for name in INDICATOR_CALLS:
            args, kwargs = indicator_inputs(data, name)
            func = getattr(ind, name)
            out[(name, backend)] = deviation(
                func(*args, backend=backend, **kwargs), func(*args, backend="talib", **kwargs)
            )
    return out


class BackendVsTALib:
    """Each backend's output against TA-Lib's, every value of (504, CHECK_SYMBOLS) inputs."""

    params = [list(INDICATOR_CALLS), BACKENDS]
    param_names = ["indicator", "backend"]
    timeout = 600
    unit = "relative"

    def setup_cache(self):
        return _backend_figures()

    def setup(self, figures, name, backend):
        fig = figures.get("_error") or figures.get((name, backend), "not measured")
        if isinstance(fig, str):
            raise NotImplementedError(fig)

    def track_max_deviation(self, figures, name, backend):
        return figures[(name, backend)][0]

    def track_nan_mismatches(self, figures, name, backend):
        return figures[(name, backend)][1]

    track_nan_mismatches.unit = "values"


def _phase_figures() -> dict[str, dict]:
    store = store_path(PHASE_UNIVERSE)
    symbols = scan_symbols(store, BASELINE_SYMBOLS)
    try:
        base = run_scan(store, (), symbols=symbols)
    except NotImplementedError as exc:
        return {"_error": {"why": f"no baseline to compare with: {exc}"}}
    from technic_core.scan.compare import max_deviation, results_match

    out: dict[str, dict] = {}
    for label in LADDER_LABELS[1:]:
        try:
            res = run_scan(store, step_phases(label), symbols=symbols)
        except NotImplementedError as exc:
            out[label] = {"why": str(exc)}
            continue
        diffs = results_match(base, res)
        dev = max_deviation(base.table, res.table)
        out[label] = {
            "differences": len(diffs),
            "detail": diffs[:5],
            "max_deviation": dev if np.isfinite(dev) else None,
        }
    return out


class PhaseVsBaseline:
    """Each ladder step's scan against the baseline's, on the same BASELINE_SYMBOLS symbols."""

    params = [list(LADDER_LABELS[1:])]
    param_names = ["step"]
    timeout = 900

    def setup_cache(self):
        return _phase_figures()

    def setup(self, figures, label):
        fig = figures.get("_error") or figures.get(label) or {"why": "no such step"}
        if "differences" not in fig:
            raise NotImplementedError(fig["why"])

    def track_differences(self, figures, label):
        """Rows, rejections or errors that differ from the baseline's (results_match); 0 is right."""
        return figures[label]["differences"]

    track_differences.unit = "differences"

    def track_max_deviation(self, figures, label):
        fig = figures[label]
        if fig["max_deviation"] is None:
            # Not the same rows in the same order: no deviation to report, and that is a failure.
            raise AssertionError(f"{label}: tables are not aligned: {fig['detail']}")
        return fig["max_deviation"]

    track_max_deviation.unit = "relative"
