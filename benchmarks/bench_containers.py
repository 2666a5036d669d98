"""Containers: what pandas and polars in and out cost beside the full set (issue 19).

The thirteen indicators through the public API with wide frames (dates x
symbols, built as a user's frames are: column-major, each symbol's column
contiguous) against the same calls with ``(T, N)`` arrays, alternately in one
process (``bench_indicators.alternate``).  The figure is the overhead: the
frames' time over the arrays' time, less 1.  Aim: at most 0.05 (5%) at
5,277 symbols.

``input``: "per-call" passes the frames to every call (each call converts
its inputs: one row-major copy of each frame); "panel" builds one Panel of the
frames inside the timed call (each field converted once) and calls every
indicator with it, against a Panel of the arrays; "reused" builds both panels
in setup and times the thirteen calls only (results wrapped, nothing converted).  Both sides return their
containers (numpy or frames) and drop them.  The one command::

    python tools/asv_track.py bench_containers.ContainerOverhead.track_overhead numba pandas panel
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bench_indicators import SET_FIELDS, alternate, panel_class, set_runner
from .common import FULL, INDICATOR_CALLS, backend_module, layout_arrays

LIBRARIES = ("pandas", "polars")


def wide_frames(data: dict[str, np.ndarray], library: str) -> dict[str, object]:
    """Each field as a wide frame in the library's own (column-major) layout."""
    t, n = data["close"].shape
    dates = pd.bdate_range("2024-01-02", periods=t, name="date")
    symbols = [f"S{j:05d}" for j in range(n)]
    if library == "pandas":
        frames = {
            f: pd.DataFrame(np.asfortranarray(v), index=dates, columns=symbols, copy=True)
            for f, v in data.items()
        }
        assert all(fr.to_numpy().flags.f_contiguous for fr in frames.values())
        return frames
    try:
        import polars as pl
    except ImportError as exc:
        raise NotImplementedError(f"polars is not installed ({exc})") from None
    return {
        f: pl.DataFrame({"date": dates.to_numpy()}).hstack(
            pl.from_numpy(v, schema=symbols, orient="row")
        )
        for f, v in data.items()
    }


def _calls(panel, backend: str):
    """The thirteen with one panel built already (results dropped)."""
    from technic_core import indicators as ind

    calls = [(getattr(ind, n), kw) for n, (_, kw) in INDICATOR_CALLS.items()]

    def run():
        for func, kwargs in calls:
            func(panel, **kwargs, backend=backend)

    return run


class ContainerOverhead:
    """Full set with wide frames / full set with arrays, less 1 (aim: at most 0.05 at 5,277 symbols)."""

    params = [["numba", "numpy"], list(LIBRARIES), ["per-call", "panel", "reused"]]
    param_names = ["backend", "library", "input"]
    unit = "fraction"
    timeout = 900

    def setup(self, backend, library, inp):
        backend_module(backend)
        data = {f: v for f, v in layout_arrays("default", FULL).items() if f in SET_FIELDS}
        frames = wide_frames(data, library)
        panel = panel_class()
        if inp == "reused":
            self.arrays, self.frames = (
                _calls(panel(**data), backend),
                _calls(panel(**frames), backend),
            )
        else:
            self.arrays = set_runner(data, backend, use_panel=inp == "panel")
            self.frames = set_runner(frames, backend, use_panel=inp == "panel")
        # the frames' results are frames (checked once here, outside the timing)
        from technic_core import indicators as ind

        p = panel(**frames)
        got = (
            ind.rsi(p, 14, backend=backend)
            if inp != "per-call"
            else ind.rsi(frames["close"], 14, backend=backend)
        )
        assert type(got).__module__.split(".")[0] == library, type(got)

    def track_overhead(self, backend, library, inp):
        return alternate(self.frames, self.arrays) - 1.0
