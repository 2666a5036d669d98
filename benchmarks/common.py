"""Datasets and helpers shared by the suites (in the manner of numpy's and scipy's ``common.py``).

Stores are generated once with the project's own generator and kept in a
cache directory (``$TECHNIC_ASV_DATA``, default ``~/.cache/technic-asv``), keyed
by store format, size and seed, so that every commit asv measures reads the
same bars.  ``(T, N)`` arrays are cached beside them as ``.npy`` files, which
load in milliseconds in each benchmark process.

A benchmark whose backend, phase or source cannot run at the commit under
test raises ``NotImplementedError`` from ``setup``: asv reports it as skipped
(n/a), never as a figure.  Nothing here imports ``technic_core`` at module
level except in a guarded pre-import, so that the suite is discovered even at
commits that cannot import it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

# Import the package once here: asv forks every benchmark from a server process that
# has imported this module, so the forks start with pandas, numba and technic_core
# loaded instead of paying ~0.4 s each.  A commit that cannot import it still has its
# suite discovered; its benchmarks then skip in setup.
try:
    import technic_core.indicators  # noqa: F401
    import technic_core.scan  # noqa: F401
except Exception:  # pragma: no cover - depends on the commit under test
    pass

# Universe sizes (symbols) x sessions.  5,277 is the default universe (docs/scan.md).
N_BARS = 504
SEED = 7
SIZES = (500, 2000, 5277)
FULL = 5277
# The universe the phase, latency and correctness suites scan.  The baseline
# (pandas, one symbol at a time) takes ~15-40 ms a symbol here, so its steps use a
# smaller slice and are extrapolated per symbol (SPEC's projection is linear).
PHASE_UNIVERSE = 2000
BASELINE_SYMBOLS = 150
# Through `technic serve` the prefetching steps read one grouped response per
# session, each holding every symbol of the store: a smaller store keeps them short.
HTTP_UNIVERSE = 500
BUDGET_S = 90.0
# CI's smoke pass (`.ci/run`: `asv run --quick` with TECHNIC_ASV_SMOKE=1) proves that every
# benchmark runs at the commit; asv's --quick makes one call of each time_ benchmark, and this
# makes the track_ benchmarks that time themselves take one round.  No figure of such a run is
# a measurement.
SMOKE = os.environ.get("TECHNIC_ASV_SMOKE") == "1"
SMOKE_SYMBOLS = 300


def symbols_for(n: int) -> int:
    """``n``, or at most SMOKE_SYMBOLS in a smoke pass: every benchmark's code runs, on small
    stores made in seconds (the parameters, hence asv's benchmark ids, stay as they are)."""
    return min(n, SMOKE_SYMBOLS) if SMOKE else n


# Every backend the project has planned, whether or not this commit has it:
# asv's parameter grid must not change from one commit to the next.
KNOWN_BACKENDS = ("baseline", "numpy", "numba", "cupy", "talib")

# The thirteen indicators with SPEC's parameters: name -> (input fields, kwargs).
INDICATOR_CALLS = {
    "sma": (("close",), {"timeperiod": 20}),
    "ema": (("close",), {"timeperiod": 21}),
    "rsi": (("close",), {"timeperiod": 14}),
    "macd": (("close",), {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}),
    "bbands": (("close",), {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0}),
    "atr": (("high", "low", "close"), {"timeperiod": 14}),
    "stoch": (("high", "low", "close"), {"fastk_period": 14, "slowk_period": 3, "slowd_period": 3}),
    "adx": (("high", "low", "close"), {"timeperiod": 14}),
    "obv": (("close", "volume"), {}),
    "roc": (("close",), {"timeperiod": 10}),
    "willr": (("high", "low", "close"), {"timeperiod": 14}),
    "cci": (("high", "low", "close"), {"timeperiod": 14}),
    "mfi": (("high", "low", "close", "volume"), {"timeperiod": 14}),
}
FIELDS = ("open", "high", "low", "close", "volume")


def cache_dir() -> Path:
    env = os.environ.get("TECHNIC_ASV_DATA")
    root = Path(env) if env else Path.home() / ".cache" / "technic-asv"
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def _locked(path: Path):
    """One generator at a time per dataset (asv, the gate and tests may share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _store_format() -> int:
    try:
        from technic_core.universe.schema import STORE_FORMAT
    except ImportError as exc:
        raise NotImplementedError(f"this commit has no store ({exc})") from None
    return int(STORE_FORMAT)


def store_kind() -> str:
    """The layout this commit's writer makes, as part of a cached store's directory name: the
    store format and, from the commits that write a time-major panel, the panel's format, so
    a store an older writer left without a panel is never reused by a commit that reads one
    (it would time the Parquet fallback under the panel path's name)."""
    fmt = _store_format()
    try:
        from technic_core.universe.panel import PANEL_FORMAT
    except ImportError:
        return f"f{fmt}"
    return f"f{fmt}p{int(PANEL_FORMAT)}"


def store_marker(fmt: int) -> str:
    """The file whose presence says a store of format ``fmt`` is whole (written last)."""
    return "manifest.json" if fmt >= 3 else "meta.json"


def store_path(n_symbols: int, n_bars: int = N_BARS, seed: int = SEED) -> Path:
    """A generated store of that size, made on first use and reused after."""
    n_symbols = symbols_for(n_symbols)
    fmt = _store_format()
    root = cache_dir() / f"store-{store_kind()}" / f"u{n_symbols}x{n_bars}s{seed}"
    marker = store_marker(fmt)
    if (root / marker).is_file():
        return root
    from technic_core.universe.make import generate_store

    with _locked(root):
        if not (root / marker).is_file():
            tmp = root.with_name(root.name + f".tmp{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            generate_store(tmp, n_symbols, n_bars, seed, log=lambda *a: None)
            os.replace(tmp, root)
    return root


def arrays(n_symbols: int, n_bars: int = N_BARS, seed: int = SEED) -> dict[str, np.ndarray]:
    """The store's usable symbols as ``(T, N)`` float64 arrays (short histories NaN-padded)."""
    root = store_path(n_symbols, n_bars, seed)
    cache = root.parent / (root.name + ".arrays")
    if not (cache / "close.npy").is_file():
        from technic_core.universe.store import Store

        with _locked(cache):
            if not (cache / "close.npy").is_file():
                store = Store(root)
                symbols = store.universe()["symbol"].tolist()
                block = store.block(symbols)
                tmp = cache.with_name(cache.name + f".tmp{os.getpid()}")
                tmp.mkdir(parents=True, exist_ok=True)
                for f in FIELDS:
                    np.save(
                        tmp / f"{f}.npy", np.ascontiguousarray(block.fields[f], dtype=np.float64)
                    )
                (tmp / "symbols.json").write_text(json.dumps([str(s) for s in block.symbols]))
                os.replace(tmp, cache)
    return {f: np.load(cache / f"{f}.npy") for f in FIELDS}


# Universe layouts for the ratio benchmarks, all FULL x N_BARS and derived from the
# same generated bars: "default" as generated (recent listings: ~6% of the symbols
# start late), "clean" with those histories completed (no leading NaNs), and "late10"
# with 10% of the symbols starting late, listed 5 to 300 sessions before the end as
# the generator's recent listings are.  Real universes are ragged; "clean" is the
# yardstick for what late starts cost.
LAYOUTS = ("clean", "default", "late10")
LATE_SHARE = 0.10


def _clean(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each late column's missing head taken from a full column, scaled to meet its first bar."""
    close = data["close"]
    late = np.isnan(close[0])
    full = np.flatnonzero(~late)
    out = {f: a.copy() for f, a in data.items()}
    for j in np.flatnonzero(late):
        src = full[j % full.size]
        valid = np.flatnonzero(~np.isnan(close[:, j]))
        s = int(valid[0]) if valid.size else close.shape[0]
        k = close[s, j] / close[s, src] if s < close.shape[0] else 1.0
        for f in ("open", "high", "low", "close"):
            out[f][:s, j] = data[f][:s, src] * k
        out["volume"][:s, j] = data["volume"][:s, src]
    return out


def _late(data: dict[str, np.ndarray], share: float, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t, n = data["close"].shape
    cols = rng.choice(n, int(round(share * n)), replace=False)
    lengths = rng.integers(5, min(t, 300), cols.size)
    out = {f: a.copy() for f, a in data.items()}
    for j, length in zip(cols, lengths):
        for a in out.values():
            a[: t - length, j] = np.nan
    return out


def layout_arrays(layout: str, n_symbols: int = FULL) -> dict[str, np.ndarray]:
    """``arrays(n_symbols)`` in one of LAYOUTS (C-contiguous float64 ``(T, N)``)."""
    data = arrays(n_symbols)
    if layout == "default":
        return data
    if layout == "clean":
        return _clean(data)
    if layout == "late10":
        return _late(_clean(data), LATE_SHARE, SEED)
    raise ValueError(f"unknown layout {layout!r}; one of {LAYOUTS}")


def backend_module(name: str):
    """The backend module, or NotImplementedError (asv: skipped) saying why it cannot run."""
    try:
        from technic_core import indicators as ind
        from technic_core.indicators.registry import load_backend
    except ImportError as exc:
        raise NotImplementedError(f"no indicator registry at this commit ({exc})") from None
    if name not in ind.registered_backends():
        raise NotImplementedError(f"backend {name!r} is not registered at this commit")
    reason = ind.unavailable_reason(name)
    if reason is not None:
        raise NotImplementedError(f"backend {name!r} is unavailable: {reason}")
    try:
        return load_backend(name)
    except Exception as exc:  # the module is not written yet, or its import fails here
        raise NotImplementedError(f"backend {name!r} does not load: {exc}") from None


def indicator_inputs(data: dict[str, np.ndarray], name: str) -> tuple[list[np.ndarray], dict]:
    fields, kwargs = INDICATOR_CALLS[name]
    return [data[f] for f in fields], dict(kwargs)


def full_set(ind, data: dict[str, np.ndarray], backend: str) -> dict[str, object]:
    """All thirteen indicators through the public API."""
    out = {}
    for name in INDICATOR_CALLS:
        args, kwargs = indicator_inputs(data, name)
        out[name] = getattr(ind, name)(*args, backend=backend, **kwargs)
    return out


def phase_steps() -> list[tuple[str, tuple[str, ...] | None, str | None]]:
    """SPEC's ladder: (label, phases to switch on or None if unbuilt, why not).

    Cumulative up to the vectorised step; the cache, Ray and GPU rungs each sit
    on that step alone, as in ``technic bench`` (the cache cannot be combined).
    """
    from technic_core.scan.phases import LADDER, PHASES

    steps: list[tuple[str, tuple[str, ...] | None, str | None]] = [("baseline", (), None)]
    on: list[str] = []
    for name in LADDER:
        p = PHASES[name]
        if p.built:
            phases = (*on, name)
            if name not in ("cache", "ray", "gpu"):
                on.append(name)
            steps.append((f"+{name}", phases, None))
        else:
            steps.append((f"+{name}", None, f"phase {name!r} is not built at this commit"))
    return steps


# The ladder's labels, fixed so asv's parameter grid is the same at every commit.
LADDER_LABELS = ("baseline", "+prefetch", "+prescreen", "+vectorized", "+cache", "+ray", "+gpu")


def step_phases(label: str) -> tuple[str, ...]:
    """Phases for a ladder label, or NotImplementedError when that step is not built here."""
    try:
        steps = {lab: (ph, why) for lab, ph, why in phase_steps()}
    except ImportError as exc:
        raise NotImplementedError(f"no phase registry at this commit ({exc})") from None
    if label not in steps:
        raise NotImplementedError(f"no ladder step {label!r} at this commit")
    phases, why = steps[label]
    if phases is None:
        raise NotImplementedError(why)
    if "gpu" in phases:
        backend_module("cupy")  # no device here: the step is n/a, not a numba run under its name
    return phases


def step_symbols(label: str, universe: int = PHASE_UNIVERSE) -> int:
    """Symbols a ladder step scans: the baseline's per-symbol steps take a slice."""
    per_symbol = label in ("baseline", "+prefetch", "+prescreen")
    return min(universe, BASELINE_SYMBOLS) if per_symbol else universe


def scan_symbols(store: Path, n: int) -> list[str] | None:
    """The first ``n`` symbols of the store's universe (None: all of them)."""
    from technic_core.universe.store import Store

    symbols = Store(store).universe()["symbol"].tolist()
    return None if n >= len(symbols) else symbols[:n]


def stop_embedded_redis() -> None:
    """Stop the embedded Redis a cache scan started in this process, if any.

    asv's benchmark processes end with ``os._exit``, so the server's atexit stop never
    runs: a benchmark whose scan used the cache calls this from ``teardown``.
    """
    import sys

    server = getattr(sys.modules.get("technic_core.cache.server"), "_EMBEDDED", None)
    if server is not None and hasattr(server, "stop"):
        server.stop()


def run_scan(source: Path | str, phases, backend=None, symbols: list[str] | None = None):
    """One scan of a store path or ``http://`` URL, with a source opened for it and closed after.

    NotImplementedError when this commit cannot run that combination.  With an
    explicit backend, or the GPU phase, the scan is strict: a fallback to another
    backend would time the wrong thing under this benchmark's name.
    """
    try:
        from technic_core.indicators import BackendUnavailable
        from technic_core.scan import scan
        from technic_core.scan.phases import PhaseUnavailable
        from technic_core.sources import open_source
    except ImportError as exc:
        raise NotImplementedError(f"no scan at this commit ({exc})") from None
    strict = backend is not None or "gpu" in tuple(phases or ())
    try:
        src = open_source(source)
        try:
            return scan(src, phases=phases, backend=backend, strict=strict, symbols=symbols)
        finally:
            getattr(src, "close", lambda: None)()
    except (PhaseUnavailable, BackendUnavailable, ModuleNotFoundError) as exc:
        raise NotImplementedError(str(exc)) from None


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


class HttpServer:
    """``technic serve`` over a store, in its own process, with the API's documented latency.

    A separate process, so the server's event loop never competes with the scan
    for this interpreter's GIL.  ``start`` waits at most 60 s for the port to
    answer; ``stop`` terminates it (and kills it if it lingers).
    """

    def __init__(self, store: Path, latency_ms: float | None = None):
        try:
            import aiohttp  # noqa: F401

            from technic_core.sources.http_client import HttpSource  # noqa: F401
            from technic_core.sources.http_server import DEFAULT_LATENCY_MS
        except ImportError as exc:
            raise NotImplementedError(f"no HTTP source at this commit ({exc})") from None
        self.store = store
        self.latency_ms = DEFAULT_LATENCY_MS if latency_ms is None else latency_ms
        self.proc = None
        self.url = None

    def start(self) -> str:
        import socket
        import subprocess
        import sys

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "technic_core",
                "serve",
                "--universe",
                str(self.store),
                "--port",
                str(port),
                "--latency-ms",
                str(self.latency_ms),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")[-500:]
                raise RuntimeError(f"technic serve exited with {self.proc.returncode}: {err}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    self.url = f"http://127.0.0.1:{port}"
                    return self.url
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("technic serve did not answer within 60 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
