"""Run one asv benchmark of ``benchmarks/`` in this process, the way asv does, and print its figure.

    python tools/asv_track.py bench_indicators.SpeedupOverTALib.track_speedup numba late10 arrays

For figures of an engine that is not this checkout's (the previous commit, to
put old and new side by side), run it with that tree first on PYTHONPATH:
the benchmark code stays this checkout's, ``technic_core`` is the other one.
A benchmark that cannot run there prints its NotImplementedError (asv's n/a).
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    name, *params = argv
    module, cls, method = name.rsplit(".", 2)
    sys.path.insert(1, str(Path(__file__).resolve().parents[1]))
    mod = importlib.import_module(f"benchmarks.{module}")
    obj = getattr(mod, cls)()
    values = []
    for raw, allowed in zip(params, getattr(obj, "params", [])):
        match = [v for v in allowed if str(v) == raw]
        if not match:
            raise SystemExit(f"{raw!r} is not one of {allowed}")
        values.append(match[0])
    try:
        if hasattr(obj, "setup"):
            obj.setup(*values)
        print(getattr(obj, method)(*values))
    except NotImplementedError as exc:
        print(f"n/a: {exc}")
    finally:
        if hasattr(obj, "teardown"):
            obj.teardown(*values)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
