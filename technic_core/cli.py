"""The ``technic`` command: parse arguments, call one function, print."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .scan.phases import PhaseUnavailable
from .universe.schema import StoreError


def _cmd_generate(args) -> int:
    from .universe.make import generate_store
    from .universe.store import default_store_dir

    out = Path(args.out) if args.out else default_store_dir()
    generate_store(
        out, args.symbols, args.bars, args.seed, force=args.force, lock_timeout=args.lock_timeout
    )
    return 0


def _cmd_import(args) -> int:
    from .universe.importer import import_store

    report = import_store(
        args.bars,
        args.out,
        args.universe,
        adjusted=args.adjusted,
        lock_timeout=args.lock_timeout,
        session_tz=args.session_tz,
    )
    return 0 if report.imported else 1


TABLE_SUFFIXES = (".csv", ".parquet", ".json")


# -- fail fast: every output, backend and phase checked before any work -------------


def check_output(path: str, suffixes: tuple[str, ...], option: str) -> None:
    """``path`` has one of ``suffixes`` and can be written (its folder exists or can be made)."""
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise ValueError(
            f"{option} {path}: use a {', '.join(suffixes[:-1])}"
            f"{' or ' if len(suffixes) > 1 else ''}{suffixes[-1]} file"
        )
    if p.is_dir():
        raise ValueError(f"{option} {path} is a directory, not a file")
    folder = p.parent.resolve()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"{option} {path}: {folder} is a file, not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path}: no permission to write in {folder}")
    if p.exists() and not os.access(p, os.W_OK):
        raise ValueError(f"{option} {path}: the file exists and cannot be overwritten")


def check_backend(name: str | None, must_run: bool) -> None:
    """A known backend name; with ``must_run``, one that runs here (else why not)."""
    if name is None:
        return
    from . import indicators

    reason = indicators.unavailable_reason(name)  # ValueError for an unknown name
    if must_run and reason is not None:
        raise ValueError(f"--backend {name} cannot run here: {reason}")


def _write_table(table, path: str) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix == ".csv":
        table.to_csv(p, index=False)
    elif p.suffix == ".parquet":
        table.to_parquet(p, index=False)
    elif p.suffix == ".json":
        table.to_json(p, orient="records", indent=1)
    else:
        raise ValueError(f"--output {path}: use a .csv, .parquet or .json file")


def _print_result(res, top: int) -> None:
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_columns", 12):
        cols = [
            "rank",
            "symbol",
            "sector",
            "close",
            "tech_rating",
            "signal",
            "rsi_14",
            "trend",
            "momentum",
            "sector_pct",
        ]
        print(res.table[cols].head(top).to_string(index=False))
    print()
    print(res.summary())


def _cmd_watch(args) -> int:
    from .scan.live import LiveScan
    from .universe.store import default_store_dir

    if args.source:
        raise ValueError(
            "--watch follows a local store (--universe); an HTTP source has no versions"
        )
    cache = None
    if args.redis_url or args.cache_ttl:
        from .cache import Cache

        cache = Cache(url=args.redis_url, ttl=args.cache_ttl)
    root = args.universe or default_store_dir()
    live = LiveScan(root, state=args.live_state, cache=cache)

    def show(res):
        print(
            f"\n== store version {res.info['store_version']}: {res.info['live']} "
            f"in {res.timings['total'] * 1e3:.1f} ms",
            flush=True,
        )
        _print_result(res, args.top)
        if args.output:
            _write_table(res.table, args.output)

    if not args.quiet:
        print(
            f"watching {root} (every {args.interval:g}s; Ctrl-C stops)", file=sys.stderr, flush=True
        )
    live.watch(args.interval, on_result=show, max_results=args.watch_count)
    return 0


def _cmd_panel(args) -> int:
    from .universe.store import default_store_dir
    from .universe.writer import rebuild_panel

    out = Path(args.universe) if args.universe else default_store_dir()
    version = rebuild_panel(out, lock_timeout=args.lock_timeout)
    print(f"{out}: store version {version} has a fresh panel")
    return 0


def _cmd_scan(args) -> int:
    from .scan.phases import parse_phases

    parse_phases(args.phases)
    check_backend(args.backend, must_run=args.strict)
    if args.output:
        check_output(args.output, TABLE_SUFFIXES, "--output")
    if args.watch:
        return _cmd_watch(args)
    from .scan import scan

    source = args.source or args.universe
    cache = None
    if args.redis_url or args.cache_ttl:
        from .cache import Cache

        cache = Cache(url=args.redis_url, ttl=args.cache_ttl)
    res = scan(
        source,
        phases=args.phases,
        backend=args.backend,
        strict=args.strict,
        progress=not args.quiet,
        block_size=args.block_size,
        ray_address=args.ray_address,
        cache=cache,
    )
    _print_result(res, args.top)
    if len(res.errors):
        print(f"\n{len(res.errors)} symbol(s) with bad data:")
        print(res.errors.head(20).to_string(index=False))
    if args.output:
        _write_table(res.table, args.output)
        print(f"\nwrote {len(res.table)} rows to {args.output}")
    if res.n_symbols and res.table.empty:
        # never a silent empty answer: say why, and fail the command
        print(
            f"technic: the table is empty: none of {res.n_symbols} symbol(s) passed "
            f"({len(res.errors)} with bad data or failed fetches, rejected: "
            f"{', '.join(f'{k}={v}' for k, v in res.rejections.items() if v) or 'none'})",
            file=sys.stderr,
        )
        return 1
    return 0


def _block_size(text: str) -> int | str | None:
    if text == "all":
        return None
    if text == "auto":
        return text
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a positive number of symbols, 'auto' or 'all'"
        )
    return n


def _cmd_bench(args) -> int:
    # an explicit backend is what the vectorised steps must time: refuse one that cannot run
    check_backend(args.backend, must_run=True)
    if args.json != "-":
        check_output(args.json or "reports/bench-latest.json", (".json",), "--json")
    from .bench import ladder

    source = args.source or args.universe
    report = ladder.run_ladder(
        source,
        repeat=args.repeat,
        backend=args.backend,
        symbols=args.symbols,
        sample=None if args.full else args.sample,
        sweep=not args.no_sweep,
        log=None if args.quiet else ladder.stderr_log,
        progress=not args.quiet,
    )
    print(ladder.format_report(report))
    if args.json != "-":
        path = ladder.write_json(report, args.json or ladder.default_json_path())
        print(f"\nwrote {path}")
    return 0 if report.ok else 1


def _cmd_gate(args) -> int:
    from .bench import gate
    from .bench.gate import report

    try:
        code, text, out = gate.run_gate(
            base=args.base,
            head=args.head,
            factor=args.factor,
            rounds=args.rounds,
            select=args.bench,
            everything=args.all,
            json_out=args.json,
            clock=args.clock,
            confirm=not args.no_confirm,
            scaling=not args.no_scaling,
            repo=args.repo,
            log=None if args.quiet else lambda m: print(m, file=sys.stderr, flush=True),
        )
    except gate.GateError as exc:
        print(f"technic gate: error: {exc}", file=sys.stderr)
        return 2
    print(text)
    if args.reports != "-":
        print(f"wrote {', '.join(str(p) for p in report.write(out, args.reports))}")
    return code


def _cmd_report(args) -> int:
    check_output(args.out, (".html", ".htm"), "--out")
    from .report.build import build_report

    path = build_report(args.out, args.bench, args.asv_results)
    print(f"wrote {path} (open it in a browser: file://{path.resolve()})")
    return 0


def _cmd_serve(args) -> int:
    from .sources.http_server import run_server

    run_server(
        args.universe,
        host=args.host,
        port=args.port,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        error_rate=args.error_rate,
        seed=args.seed,
    )
    return 0


def _lock_timeout_arg(p: argparse.ArgumentParser) -> None:
    from .universe.lock import DEFAULT_LOCK_TIMEOUT_S

    p.add_argument(
        "--lock-timeout",
        type=float,
        default=DEFAULT_LOCK_TIMEOUT_S,
        metavar="SECONDS",
        help="wait this long for another writer of the store to finish, saying whom it "
        f"waits for (default {DEFAULT_LOCK_TIMEOUT_S:g}; 0: fail at once)",
    )


DESCRIPTION = (
    "technic: a full-market stock scanner whose every optimisation is measured. "
    "Make or import a store, scan it, measure the phase ladder, build the report."
)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default, unless it says it already (or has none to say)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            "%(default)" in text
            or "default" in text.lower()
            or action.required
            or action.default is None
            or action.default is False
            or action.default == argparse.SUPPRESS
            or not action.option_strings
        ):
            return text
        return text + " (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """Every (sub)command's parser: help that gives each option's default."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return n


def _seconds(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        x = -1.0
    if not x >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return x


def _share(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        x = -1.0
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share between 0 and 1")
    return x


def _port(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (0-65535)")
    return n


def build_parser() -> argparse.ArgumentParser:
    from .universe.readers import SESSION_TZ

    p = _Parser(prog="technic", description=DESCRIPTION)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="make or import a bar store")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    gen = dsub.add_parser("generate", help="generate the deterministic synthetic universe")
    gen.add_argument("--symbols", type=_positive_int, default=5277, help="symbols in the universe")
    gen.add_argument(
        "--bars", type=_positive_int, default=504, help="daily sessions per symbol (at most)"
    )
    gen.add_argument(
        "--seed", type=int, default=7, help="random seed: the same seed gives the same store"
    )
    gen.add_argument("--out", help="store directory (default: $TECHNIC_DATA or ./data/universe)")
    gen.add_argument(
        "--force", action="store_true", help="rebuild even if an identical store exists"
    )
    _lock_timeout_arg(gen)
    gen.set_defaults(func=_cmd_generate)
    imp = dsub.add_parser(
        "import", help="import vendor bar files (CSV/Parquet) and a universe or listing file"
    )
    imp.add_argument(
        "--bars", nargs="+", required=True, help="files, directories or globs (required)"
    )
    imp.add_argument(
        "--universe",
        help="universe table (SPEC's columns) or a pipe-separated exchange "
        "listing (default: derived from the bars)",
    )
    imp.add_argument(
        "--out", required=True, help="store directory, created or merged into (required)"
    )
    imp.add_argument(
        "--adjusted",
        action="store_true",
        help="scale OHLC by Adj Close / Close (default: raw OHLC, Adj Close ignored)",
    )
    imp.add_argument(
        "--session-tz",
        default=SESSION_TZ,
        metavar="TZ",
        help=f"the exchange's time zone: dates with a UTC offset become its session dates "
        f"(default {SESSION_TZ}, a US daily store)",
    )
    _lock_timeout_arg(imp)
    imp.set_defaults(func=_cmd_import)
    pan = dsub.add_parser(
        "panel",
        help="commit a new version of a store with a fresh time-major panel "
        "(for a store written before panels, or whose panel was damaged)",
    )
    pan.add_argument(
        "--universe", help="store directory (default: $TECHNIC_DATA or ./data/universe)"
    )
    _lock_timeout_arg(pan)
    pan.set_defaults(func=_cmd_panel)

    sc = sub.add_parser("scan", help="scan a universe")
    sc.add_argument(
        "--universe", help="store directory (default: $TECHNIC_DATA or ./data/universe)"
    )
    sc.add_argument(
        "--source",
        help="http://HOST:PORT of a `technic serve` API instead of a store "
        "(default: none, read the store)",
    )
    sc.add_argument(
        "--phases",
        default="baseline",
        help="baseline, all, or a comma list of prefetch,prescreen,vectorized,cache,ray,gpu",
    )
    sc.add_argument(
        "--backend",
        help="indicator backend for vectorised phases (default: the fastest "
        "that runs here, numba, else numpy)",
    )
    sc.add_argument(
        "--strict",
        action="store_true",
        help="fail instead of falling back to another backend or, without Ray, the in-process engine",
    )
    sc.add_argument(
        "--block-size",
        type=_block_size,
        default="auto",
        metavar="N",
        help="symbols per block in vectorised phases, 'all' for one block, or 'auto' "
        "(default: 512 in-process, ~2048 per Ray task; memory grows with the "
        "block, not with the universe)",
    )
    sc.add_argument(
        "--ray-address",
        metavar="HOST:PORT",
        help="with the ray phase: join this Ray cluster (default $RAY_ADDRESS, "
        "else start a local Ray for the scan)",
    )
    sc.add_argument("--top", type=int, default=20, help="rows of the table to print")
    sc.add_argument(
        "--output", help="write the full table to this .csv, .parquet or .json file (default: none)"
    )
    sc.add_argument("--quiet", action="store_true", help="no progress on stderr")
    sc.add_argument(
        "--redis-url",
        help="cache phase: Redis to use (default: $REDIS_URL, else an "
        "embedded redis-server with its data in $TECHNIC_CACHE_DIR)",
    )
    sc.add_argument(
        "--cache-ttl",
        type=_seconds,
        help="cache phase: seconds cached bars are trusted (default: $TECHNIC_CACHE_TTL or 7 days)",
    )
    sc.add_argument(
        "--watch",
        action="store_true",
        help="keep scanning: hold every symbol's indicator state and rescan, by what "
        "changed, each time the store's version changes (a new session: "
        "milliseconds)",
    )
    sc.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="with --watch: how often to look for a new store version (default 1)",
    )
    sc.add_argument(
        "--live-state",
        choices=("memory", "redis"),
        default="memory",
        help="with --watch: keep the state in this process, or in Redis "
        "(--redis-url, else the embedded server)",
    )
    sc.add_argument(
        "--watch-count",
        type=int,
        metavar="N",
        help="with --watch: stop after N tables (default: until Ctrl-C)",
    )
    sc.set_defaults(func=_cmd_scan)

    from .bench.sample import DEFAULT_SAMPLE

    be = sub.add_parser(
        "bench",
        help="measure SPEC's phase ladder on one universe, in one process",
        description="Measure SPEC's phase ladder: the per-symbol steps (baseline, "
        "+prefetch, +prescreen) on a fixed stratified sample, projected to "
        "the universe with an interval; the vectorised and later steps on "
        "every symbol; then a short per-indicator and universe-size sweep.",
    )
    be.add_argument(
        "--universe", help="store directory (default: $TECHNIC_DATA or ./data/universe)"
    )
    be.add_argument(
        "--source",
        help="http://HOST:PORT of a `technic serve` API instead of a store "
        "(default: none, read the store)",
    )
    be.add_argument(
        "--backend",
        help="indicator backend for the vectorised steps (default: the fastest "
        "that runs here; a named one must run, or the bench stops)",
    )
    be.add_argument(
        "--repeat",
        type=_positive_int,
        default=3,
        help="timed runs per step and per sweep case; the median is reported with its spread",
    )
    be.add_argument(
        "--symbols",
        type=_positive_int,
        help="benchmark only the first N symbols of the universe (default: all)",
    )
    be.add_argument(
        "--sample",
        type=_positive_int,
        default=DEFAULT_SAMPLE,
        help="symbols the per-symbol steps scan: a fixed stratified sample, projected to "
        "the universe",
    )
    be.add_argument(
        "--full",
        action="store_true",
        help="every step scans every symbol (no sample; the per-symbol steps take minutes)",
    )
    be.add_argument(
        "--no-sweep", action="store_true", help="skip the per-indicator and growth sweeps"
    )
    be.add_argument(
        "--json", help="results file, .json (default: reports/bench-latest.json; '-' for none)"
    )
    be.add_argument("--quiet", action="store_true", help="no progress on stderr")
    be.set_defaults(func=_cmd_bench)

    from .bench.gate import DEFAULT_FACTOR, DEFAULT_ROUNDS

    ga = sub.add_parser(
        "gate", help="compare two commits' speed: exit 0 ok, 1 regression, 2 failure"
    )
    ga.add_argument(
        "--base", default="HEAD~1", help="the commit to compare against (default HEAD~1)"
    )
    ga.add_argument("--head", default="HEAD", help="the commit under test (default HEAD)")
    ga.add_argument(
        "--factor",
        type=float,
        default=DEFAULT_FACTOR,
        help=f"slowdown (head/base) that counts as a regression (default {DEFAULT_FACTOR})",
    )
    ga.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"paired samples per benchmark (default {DEFAULT_ROUNDS})",
    )
    ga.add_argument(
        "--bench",
        action="append",
        help="only benchmarks whose id equals, starts with or contains this (repeatable), "
        "e.g. bench_cache (default: the whole gated set, or the suite with --all)",
    )
    ga.add_argument(
        "--all",
        action="store_true",
        help="gate every time benchmark of the suite (a release), not only the tagged set",
    )
    ga.add_argument(
        "--clock",
        choices=("cpu-min", "cpu", "process-cpu", "wall", "wall-min"),
        default="cpu-min",
        help="compare CPU time of the worker and its children, each "
        "sample's fastest call (default) or the mean, or wall time",
    )
    ga.add_argument(
        "--no-confirm",
        action="store_true",
        help="do not re-measure a flagged benchmark in fresh processes",
    )
    ga.add_argument(
        "--no-scaling", action="store_true", help="skip the parallel scaling measurement"
    )
    ga.add_argument(
        "--json", help="also write the rows and raw samples here (default: none beyond --reports)"
    )
    ga.add_argument(
        "--reports",
        default="reports",
        help="directory for gate-latest.json/.md and gate-history.jsonl ('-' for none)",
    )
    ga.add_argument(
        "--repo", help="the git repository (default: the one around the current directory)"
    )
    ga.add_argument("--quiet", action="store_true", help="no progress on stderr")
    ga.set_defaults(func=_cmd_gate)

    rp = sub.add_parser("report", help="build the self-contained HTML performance report")
    rp.add_argument("--out", default="reports/report.html", help="the report, an .html file")
    rp.add_argument(
        "--bench", default="reports/bench-latest.json", help="technic bench's results file"
    )
    rp.add_argument("--asv-results", default=".asv/results", help="asv's results directory")
    rp.set_defaults(func=_cmd_report)

    from .sources.http_server import DEFAULT_LATENCY_MS

    sv = sub.add_parser("serve", help="serve a store over an aggregates-style HTTP API on loopback")
    sv.add_argument(
        "--universe", help="store directory (default: $TECHNIC_DATA or ./data/universe)"
    )
    sv.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (loopback: this machine only)"
    )
    sv.add_argument("--port", type=_port, default=8765, help="TCP port to listen on")
    sv.add_argument(
        "--latency-ms",
        type=_seconds,
        default=DEFAULT_LATENCY_MS,
        help=f"server-side delay per request (default {DEFAULT_LATENCY_MS:g}: a remote vendor)",
    )
    sv.add_argument(
        "--jitter-ms",
        type=_seconds,
        default=0.0,
        help="random extra delay per request, up to this many ms",
    )
    sv.add_argument(
        "--error-rate", type=_share, default=0.0, help="share of requests answered 429/503"
    )
    sv.add_argument(
        "--seed", type=int, default=0, help="seed of the jitter and the injected errors"
    )
    sv.set_defaults(func=_cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (StoreError, ValueError, PhaseUnavailable) as exc:
        print(f"technic: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
