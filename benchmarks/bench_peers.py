"""The field's other engines beside TA-Lib and technic: speed, and how far each is from TA-Lib.

Optional peers (``pip install technic[peers]``), each in the layout it works
best in (``references.py``): tulipy (Tulip Indicators, C) looped over
per-symbol arrays; polars-talib (TA-Lib inside polars) on one long frame with
every expression ``.over("symbol")``; ta-numba (Numba, its bulk API) looped
over per-symbol arrays.  A peer whose package is missing is skipped with the
reason.  The default universe (5,277 x 504, its recent listings included).

``PeerDeviation`` records which of them are TA-Lib-exact: the largest
relative deviation from TA-Lib where both give a value (exact means at most
1e-9, as technic's backends must be) and the places where only one of them
gives a value, over every value of 200 symbols of the universe with 10% late
starts.  technic's own figures are ``bench_correctness.BackendVsTALib``.
"""

from __future__ import annotations

import numpy as np

from .bench_correctness import deviation
from .bench_indicators import alternate, reference_runner
from .common import FULL, INDICATOR_CALLS, arrays, layout_arrays
from .references import PEERS, REFERENCES, contender

PEER_NAMES = tuple(PEERS)
CHECK_SYMBOLS = 200


class PeerFullSet:
    """The thirteen indicators, each peer (and the TA-Lib references, from the same run)."""

    params = [[*PEER_NAMES, *REFERENCES]]
    param_names = ["contender"]
    timeout = 600

    def setup(self, who):
        self.run = reference_runner(who, arrays(FULL))
        self.run()

    def time_full_set(self, who):
        self.run()


class PeerIndicator:
    """One indicator at the scan's parameters (docs/scan.md), each peer, 5,277 symbols."""

    params = [list(INDICATOR_CALLS), list(PEER_NAMES)]
    param_names = ["indicator", "peer"]
    timeout = 300

    def setup(self, name, peer):
        self.run = reference_runner(peer, arrays(FULL), [name])
        self.run()

    def time_indicator(self, name, peer):
        self.run()


class PeerSpeedupOverTALib:
    """TA-Lib at its best / the peer, full set, alternately in one process (below 1: slower)."""

    params = [list(PEER_NAMES)]
    param_names = ["peer"]
    unit = "x"
    timeout = 900

    def setup(self, peer):
        data = arrays(FULL)
        self.peer = reference_runner(peer, data)
        self.ref = reference_runner("talib-best", data)

    def track_speedup(self, peer):
        return alternate(self.ref, self.peer, rounds=5)


def _deviations() -> dict:
    data = {
        k: np.ascontiguousarray(v[:, :CHECK_SYMBOLS]) for k, v in layout_arrays("late10").items()
    }
    try:
        ref = contender("talib-best")
    except NotImplementedError as exc:
        return {"_error": str(exc)}
    out: dict = {}
    for peer in (*PEER_NAMES, "talib-panel"):
        try:
            c = contender(peer)
        except NotImplementedError as exc:
            out.update({(name, peer): str(exc) for name in INDICATOR_CALLS})
            continue
        for name in INDICATOR_CALLS:
            out[(name, peer)] = deviation(c.outputs(data, name), ref.outputs(data, name))
    return out


class PeerDeviation:
    """Each peer's outputs against TA-Lib's (exact: at most 1e-9 and no NaN-placement difference)."""

    params = [list(INDICATOR_CALLS), [*PEER_NAMES, "talib-panel"]]
    param_names = ["indicator", "peer"]
    unit = "relative"
    timeout = 900

    def setup_cache(self):
        return _deviations()

    def _get(self, figures, name, peer):
        if "_error" in figures:
            raise NotImplementedError(figures["_error"])
        got = figures[(name, peer)]
        if isinstance(got, str):
            raise NotImplementedError(got)
        return got

    def setup(self, figures, name, peer):
        self._get(figures, name, peer)

    def track_max_deviation(self, figures, name, peer):
        return self._get(figures, name, peer)[0]

    def track_value_places_differing(self, figures, name, peer):
        return self._get(figures, name, peer)[1]

    track_value_places_differing.unit = "values"
