"""Indicators: each of the thirteen, the full set and the fused path, against TA-Lib at its best.

Contenders (``CONTENDERS``): technic's backends through the public API with
plain ``(T, N)`` arrays (validated on every call), and the two TA-Lib
references of ``references.py``, prepared in ``setup``: ``talib-best`` (TA-Lib
looped over per-symbol contiguous arrays of each symbol's own history: TA-Lib
at its best, the yardstick) and ``talib-panel`` (the same from a ``(T, N)``
panel, one transpose included).  The pandas ``baseline`` is timed at the
smallest size only.

The ``track_`` ratios time both sides alternately in one process (``alternate``):
each round one reference run and as many of ours as fill the same wall time,
the ratio of the round's two times; the median of the rounds is the figure.
Both sides drop each result as soon as it is made.  ``layout`` is one of
``common.LAYOUTS`` (clean, the default universe as generated, 10% late starts),
at the default 5,277 symbols (docs/scan.md) x 504 sessions.  The one command for the headline
ratios (README, docs/indicators.md)::

    asv run --python=same --set-commit-hash $(git rev-parse HEAD) \
        --bench "bench_indicators.(SpeedupOverTALib|FusedSpeedupOverTALib|CPUOverTALib|LateStartCost|ValidationShare|TALibPanelCost)"
"""

from __future__ import annotations

import gc
import statistics
import time

from .common import (
    FIELDS,
    INDICATOR_CALLS,
    LAYOUTS,
    SIZES,
    SMOKE,
    arrays,
    backend_module,
    full_set,
    indicator_inputs,
    layout_arrays,
)
from .references import REFERENCES, contender

SMALLEST = min(SIZES)
# The fields the thirteen read (a Panel of these is what a user of the set builds).
SET_FIELDS = tuple(f for f in FIELDS if any(f in ins for ins, _ in INDICATOR_CALLS.values()))
BACKENDS = ("baseline", "numpy", "numba", "cupy")
CONTENDERS = (*BACKENDS, *REFERENCES)
FAST = ("numpy", "numba", "cupy")


def _check_size(name: str, n: int) -> None:
    if name == "baseline" and n > SMALLEST:
        raise NotImplementedError(f"baseline is timed at {SMALLEST} symbols only")


def panel_class():
    """technic's validated Panel, or NotImplementedError at a commit without one."""
    try:
        from technic_core.indicators import Panel
    except ImportError as exc:
        raise NotImplementedError(f"no Panel at this commit ({exc})") from None
    return Panel


def set_runner(data: dict, backend: str, names=tuple(INDICATOR_CALLS), use_panel: bool = False):
    """A zero-argument call of the indicators through the public API, results dropped.

    ``use_panel``: one Panel built inside the call from the fields the set
    reads (its single validation is timed), then every indicator called with it.
    """
    from technic_core import indicators as ind

    calls = [(getattr(ind, n), INDICATOR_CALLS[n][0], INDICATOR_CALLS[n][1]) for n in names]
    if use_panel:
        panel = panel_class()
        fields = {f: data[f] for f in SET_FIELDS}

        def run():
            p = panel(**fields)
            for func, _, kwargs in calls:
                func(p, **kwargs, backend=backend)
    else:

        def run():
            for func, inputs, kwargs in calls:
                func(*(data[f] for f in inputs), **kwargs, backend=backend)

    return run


def reference_runner(name: str, data: dict, names=tuple(INDICATOR_CALLS)):
    c = contender(name)
    c.prepare(data, list(names))
    return c.run


def fused_runner(data: dict, backend: str):
    mod = backend_module(backend)
    fused = getattr(mod, "fused_indicators", None)
    if fused is None:
        raise NotImplementedError(f"backend {backend!r} has no fused_indicators")
    args = [data[f] for f in FIELDS]
    return lambda: fused(*args)


def _clock(fn, n: int, timer=time.perf_counter) -> float:
    t0 = timer()
    for _ in range(n):
        fn()
    return (timer() - t0) / n


def alternate(ref, ours, rounds: int = 7, timer=time.perf_counter) -> float:
    """Median over rounds of (one ``ref`` run) / (mean of ``ours`` runs filling as long).

    ``timer``: wall clock by default; ``time.process_time`` gives the ratio of
    CPU time (every thread of the process), which a busy machine disturbs less.
    """
    if SMOKE:
        rounds = 1
    ref()
    ours()
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        t_ref, t_ours = _clock(ref, 1), _clock(ours, 1)
        reps = 1 if SMOKE else max(1, min(50, round(t_ref / max(t_ours, 1e-9))))
        ratios = []
        for _ in range(rounds):
            a = _clock(ref, 1, timer)
            b = _clock(ours, reps, timer)
            ratios.append(a / b)
    finally:
        if enabled:
            gc.enable()
    return float(statistics.median(ratios))


# ---------------------------------------------------------------- times


class Indicator:
    """One indicator, SPEC's parameters, (504, N) arrays: public API (plain arrays) or a reference."""

    params = [list(INDICATOR_CALLS), list(CONTENDERS), list(SIZES)]
    param_names = ["indicator", "contender", "symbols"]
    timeout = 180

    def setup(self, name, who, n):
        _check_size(who, n)
        if who in REFERENCES:
            self.run = reference_runner(who, arrays(n), [name])
            return
        backend_module(who)
        from technic_core import indicators as ind

        func = getattr(ind, name)
        args, kwargs = indicator_inputs(arrays(n), name)
        self.run = lambda: func(*args, **kwargs, backend=who)
        self.run()  # JIT compile / cache load outside the timing

    def time_indicator(self, name, who, n):
        self.run()


class FullSet:
    """All thirteen: one public call each (plain arrays, results kept, as a user gets them) or a reference."""

    params = [list(CONTENDERS), list(SIZES)]
    param_names = ["contender", "symbols"]
    timeout = 300

    def setup(self, who, n):
        _check_size(who, n)
        if who in REFERENCES:
            self.run = reference_runner(who, arrays(n))
            return
        backend_module(who)
        from technic_core import indicators as ind

        data = arrays(n)
        self.run = lambda: full_set(ind, data, who)
        self.run()

    def time_full_set(self, who, n):
        self.run()


class FullSetPanel:
    """All thirteen with one Panel validated in setup: the steady state of "validate once"."""

    params = [list(FAST), list(LAYOUTS)]
    param_names = ["backend", "layout"]
    timeout = 300

    def setup(self, backend, layout):
        backend_module(backend)
        from technic_core import indicators as ind

        p = panel_class()(**{f: v for f, v in layout_arrays(layout).items() if f in SET_FIELDS})
        calls = [(getattr(ind, n), kw) for n, (_, kw) in INDICATOR_CALLS.items()]

        def run():
            for func, kwargs in calls:
                func(p, **kwargs, backend=backend)

        self.run = run
        run()

    def time_full_set_panel(self, backend, layout):
        self.run()


class Validation:
    """Building a Panel of the fields the set reads: every check, once, for every later call."""

    params = [list(LAYOUTS)]
    param_names = ["layout"]

    def setup(self, layout):
        self.panel = panel_class()
        self.data = {f: v for f, v in layout_arrays(layout).items() if f in SET_FIELDS}
        self.panel(**self.data)

    def time_panel(self, layout):
        self.panel(**self.data)


class Fused:
    """The scan's fused path: every indicator value the scan needs at the last bar, one call."""

    params = [list(BACKENDS), list(SIZES)]
    param_names = ["backend", "symbols"]
    timeout = 180

    def setup(self, backend, n):
        self.run = fused_runner(arrays(n), backend)
        self.run()

    def time_fused(self, backend, n):
        self.run()


# ---------------------------------------------------------------- ratios


class SpeedupOverTALib:
    """Full set through the public API: TA-Lib at its best / technic, alternately in one process.

    ``input``: "panel" builds one Panel inside each timed call (validation
    once per set); "arrays" passes plain arrays (validated on every call).
    Aim (issue 15): at least 4x on every layout (8x stretch), TA-Lib-exact.
    """

    params = [list(FAST), list(LAYOUTS), ["panel", "arrays"]]
    param_names = ["backend", "layout", "input"]
    unit = "x"
    timeout = 600

    def setup(self, backend, layout, inp):
        backend_module(backend)
        data = layout_arrays(layout)
        self.ours = set_runner(data, backend, use_panel=inp == "panel")
        self.ref = reference_runner("talib-best", data)

    def track_speedup(self, backend, layout, inp):
        return alternate(self.ref, self.ours)


class CPUOverTALib:
    """Full set (panel): TA-Lib's CPU time / technic's CPU time over both its threads.

    Not the wall-clock speedup: what each does per core-second, which a
    shared machine's other load distorts less.  On an otherwise idle two-core
    machine the wall-clock speedup approaches this times the threads' scaling.
    """

    params = [list(FAST), list(LAYOUTS)]
    param_names = ["backend", "layout"]
    unit = "x"
    timeout = 600

    def setup(self, backend, layout):
        backend_module(backend)
        data = layout_arrays(layout)
        self.ours = set_runner(data, backend, use_panel=True)
        self.ref = reference_runner("talib-best", data)

    def track_cpu_speedup(self, backend, layout):
        return alternate(self.ref, self.ours, timer=time.process_time)


class FusedSpeedupOverTALib:
    """TA-Lib's full set at its best / technic's fused last-bar pass (issue 15 aim: 20x)."""

    params = [list(FAST), list(LAYOUTS)]
    param_names = ["backend", "layout"]
    unit = "x"
    timeout = 600

    def setup(self, backend, layout):
        data = layout_arrays(layout)
        self.ours = fused_runner(data, backend)
        self.ref = reference_runner("talib-best", data)

    def track_speedup(self, backend, layout):
        return alternate(self.ref, self.ours)


class TALibPanelCost:
    """TA-Lib from a (T, N) panel (one transpose) / TA-Lib at its best: what the layout costs TA-Lib."""

    params = [list(LAYOUTS)]
    param_names = ["layout"]
    unit = "x"
    timeout = 600

    def setup(self, layout):
        data = layout_arrays(layout)
        self.best = reference_runner("talib-best", data)
        self.panel = reference_runner("talib-panel", data)

    def track_ratio(self, layout):
        return alternate(self.panel, self.best)


class LateStartCost:
    """Full set (panel) on the universe with 10% late starts / on the clean one (aim: at most 1.10)."""

    params = [list(FAST)]
    param_names = ["backend"]
    unit = "x"
    timeout = 600

    def setup(self, backend):
        backend_module(backend)
        self.clean = set_runner(layout_arrays("clean"), backend, use_panel=True)
        self.late = set_runner(layout_arrays("late10"), backend, use_panel=True)

    def track_cost(self, backend):
        return alternate(self.late, self.clean)


class ValidationShare:
    """Validating the set's fields (building a Panel) / the full set with that panel (aim: at most 0.10)."""

    params = [list(FAST), list(LAYOUTS)]
    param_names = ["backend", "layout"]
    unit = "fraction"
    timeout = 600

    def setup(self, backend, layout):
        backend_module(backend)
        panel = panel_class()
        data = layout_arrays(layout)
        fields = {f: data[f] for f in SET_FIELDS}
        self.build = lambda: panel(**fields)
        p = self.build()
        from technic_core import indicators as ind

        calls = [(getattr(ind, n), kw) for n, (_, kw) in INDICATOR_CALLS.items()]

        def run():
            for func, kwargs in calls:
                func(p, **kwargs, backend=backend)

        self.set = run

    def track_share(self, backend, layout):
        return 1.0 / alternate(self.set, self.build)


# What `technic gate` times at CI's budget (docs/gate.md); each kernel alone is in bench_kernels.
GATE = ["FullSet.time_full_set(numba, 2000)", "Fused.time_fused(numba, 2000)"]
GATE_SCALING = ["FullSet.time_full_set(numba, 2000)"]
