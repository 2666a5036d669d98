"""Where a one-bar state advance spends its time: layout, cache residency, each indicator.

    python tools/profile_state.py                 # 5,277 symbols, SCAN_STATE, 1 thread
    python tools/profile_state.py --symbols 20000 --threads 2

Prints (medians and minima of ``--repeat`` calls, milliseconds, with the load):

* the kernel on the two layouts of the same state: slot-major ``(width, N)``
  (what ``IndicatorState`` keeps) and row-major ``(N, width)`` (one row per
  symbol, the layout before issue 16), the same compiled code on both;
* the cost per symbol at 512 symbols (the state fits in L2) against the full
  universe (it does not): equal costs mean the step is bound by arithmetic, not
  memory traffic;
* memory: the cache lines one bar writes, the advance with the state cold (64 MB
  written before each call, as a state a session old) and warm, and reading as many
  bytes, and the whole state, cold and warm (numpy's sum: one streaming read);
* each indicator's share: the advance with one indicator switched on at a
  time, less the advance with none (rings and bar count only).

To time another commit's kernel, put its checkout first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

FIELDS = ("open", "high", "low", "close", "volume")


def _timed(fn, repeat: int, junk: np.ndarray | None = None) -> tuple[float, float]:
    """Median and minimum of ``repeat`` calls, ms.  With ``junk`` (larger than the L3) written
    before each call: what a state a session old costs, its lines in DRAM."""
    fn()
    runs = []
    for _ in range(repeat):
        if junk is not None:
            junk += 1.0
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs) * 1e3, min(runs) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=5277)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()

    import numba

    from technic_core.indicators.kernels import state_step as K
    from technic_core.indicators.state import StateParams, build_state
    from technic_core.scan.phases.cache_phase import SCAN_STATE
    from technic_core.universe.generate import generate_universe

    numba.set_num_threads(args.threads)
    out: dict = {"symbols": args.symbols, "threads": args.threads, "load": os.getloadavg()}

    def setup(n: int, params):
        g = generate_universe(n, 505, 7)
        st = build_state({f: getattr(g, f)[:-1] for f in FIELDS}, params)
        bar = [np.ascontiguousarray(getattr(g, f)[-1]) for f in FIELDS]
        idx = np.arange(n, dtype=np.int64)
        return st, bar, idx

    def advance(S, lay, bar, idx):
        K.advance(
            S,
            idx,
            idx,
            np.ones(idx.size, np.int64),
            1,
            lay.lay,
            lay.sma,
            lay.ema,
            lay.fp,
            lay.inv,
            *bar,
        )

    st, bar, idx = setup(args.symbols, SCAN_STATE)
    lay = st.layout
    slot_major = st.slots
    row_major = np.ascontiguousarray(st.rows)  # (N, width); the kernel gets its .T view
    t_slot = _timed(lambda: advance(slot_major, lay, bar, idx), args.repeat)
    t_row = _timed(lambda: advance(row_major.T, lay, bar, idx), args.repeat)
    out["layout_ms"] = {"slot-major (width, N)": t_slot, "row-major (N, width)": t_row}

    # Memory: the cache lines one bar writes (read and written back), and what reading that
    # many bytes and the whole state costs from DRAM (cold) and from cache (warm), beside the
    # advance itself.  A cold advance cannot take less than its lines' traffic.
    before = slot_major.copy()
    advance(slot_major, lay, bar, idx)
    changed = (before != slot_major) & ~(np.isnan(before) & np.isnan(slot_major))
    w = changed.shape[1] // 8 * 8
    lines = int(changed[:, :w].reshape(changed.shape[0], -1, 8).any(axis=2).sum())
    rows = slot_major[: -(-lines * 64 // (slot_major.shape[1] * 8))]
    junk = np.ones(8_000_000)  # 64 MB
    reps = max(11, args.repeat // 5)
    out["memory"] = {
        "state_mb": round(slot_major.nbytes / 1e6, 2),
        "lines_written_by_one_bar_mb": round(lines * 64 / 1e6, 2),
        "advance_ms cold, warm (medians)": [
            _timed(lambda: advance(slot_major, lay, bar, idx), reps, junk)[0],
            _timed(lambda: advance(slot_major, lay, bar, idx), reps)[0],
        ],
        "read those lines' bytes ms cold, warm": [
            _timed(rows.sum, reps, junk)[0],
            _timed(rows.sum, reps)[0],
        ],
        "read the whole state ms cold, warm": [
            _timed(slot_major.sum, reps, junk)[0],
            _timed(slot_major.sum, reps)[0],
        ],
    }

    small, sbar, sidx = setup(512, SCAN_STATE)
    t_small = _timed(lambda: advance(small.slots, small.layout, sbar, sidx), args.repeat)
    out["ns_per_symbol_min"] = {
        "512 (in L2)": t_small[1] * 1e6 / 512,
        f"{args.symbols}": t_slot[1] * 1e6 / args.symbols,
    }

    off = dict(
        sma=(1,),
        ema=(1,),
        rsi=0,
        macd=(0, 0, 0),
        bbands=(0, 2.0, 2.0),
        atr=0,
        stoch=(0, 0, 0),
        adx=0,
        mfi=0,
        cci=0,
        willr=0,
        roc=0,
        obv=False,
        keep=SCAN_STATE.keep,
    )
    alone = {
        "rings only": {},
        "sma 20/50/200": {"sma": (20, 50, 200)},
        "ema 21": {"ema": (21,)},
        "rsi": {"rsi": 14},
        "macd": {"macd": (12, 26, 9)},
        "bbands": {"bbands": (20, 2.0, 2.0)},
        "atr": {"atr": 14},
        "stoch": {"stoch": (14, 3, 3)},
        "adx": {"adx": 14},
        "mfi": {"mfi": 14},
        "cci": {"cci": 14},
        "willr": {"willr": 14},
        "roc": {"roc": 10},
        "obv": {"obv": True},
    }
    g = generate_universe(args.symbols, 505, 7)
    hist = {f: getattr(g, f)[:-1] for f in FIELDS}
    shares = {}
    for name, kw in alone.items():
        s = build_state(hist, StateParams(**{**off, **kw}))
        shares[name] = _timed(lambda s=s: advance(s.slots, s.layout, bar, idx), args.repeat // 2)[1]
    base = shares["rings only"]
    out["indicator_ms_min"] = {
        k: round(v - base, 4) if k != "rings only" else round(v, 4) for k, v in shares.items()
    }
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
