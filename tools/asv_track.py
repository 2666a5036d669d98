"""Run one asv benchmark of ``benchmarks/`` in this process, the way asv does, and print its figure.

    python tools/asv_track.py bench_indicators.SpeedupOverTALib.track_speedup numba late10 arrays

``--engine DIR`` measures the ``technic_core`` package found in DIR (another
commit's, to put old and new side by side) with this checkout's benchmark
code: ``git archive OLD technic_core | tar -x -C DIR``.  The package actually
imported is printed on stderr.  A benchmark that cannot run with that engine
prints its NotImplementedError (asv's n/a).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    engine = None
    if argv and argv[0] == "--engine":
        engine, argv = argv[1], argv[2:]
    name, *params = argv
    module, cls, method = name.rsplit(".", 2)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if engine:
        if (Path(engine) / "benchmarks").exists():
            raise SystemExit(
                f"{engine} holds a benchmarks/ folder: give a folder with technic_core only"
            )
        sys.path.insert(0, str(Path(engine).resolve()))
    import technic_core

    print(f"engine: {Path(technic_core.__file__).parent}", file=sys.stderr)
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
