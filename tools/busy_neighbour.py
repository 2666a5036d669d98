"""A busy neighbour for ratio measurements: TA-Lib's RSI over 5,277 symbols in a loop, one core.

    python tools/busy_neighbour.py 900 &     # seconds to run, then measure beside it

It computes what the reference computes, so it competes for the same core and
memory bandwidth that a real second job on a two-core machine would.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import talib


def main(seconds: float) -> None:
    rows = np.cumsum(np.random.default_rng(0).normal(size=(5277, 504)), axis=1) + 1000.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for r in rows:
            talib.RSI(r, 14)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 600.0)
