"""The ``technic`` command: parse arguments, call one function, print."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .scan.phases import PhaseUnavailable
from .universe.schema import StoreError


def _cmd_generate(args) -> int:
    from .universe.make import generate_store
    from .universe.store import default_store_dir
    out = Path(args.out) if args.out else default_store_dir()
    generate_store(out, args.symbols, args.bars, args.seed, force=args.force)
    return 0


def _cmd_import(args) -> int:
    from .universe.importer import import_store
    report = import_store(args.bars, args.out, args.universe, adjusted=args.adjusted)
    return 0 if report.imported else 1


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


def _cmd_scan(args) -> int:
    import pandas as pd

    from .scan import scan
    source = args.source or args.universe
    cache = None
    if args.redis_url or args.cache_ttl:
        from .cache import Cache
        cache = Cache(url=args.redis_url, ttl=args.cache_ttl)
    res = scan(source, phases=args.phases, backend=args.backend, strict=args.strict,
               progress=not args.quiet and sys.stderr.isatty(), block_size=args.block_size,
               ray_address=args.ray_address, cache=cache)
    with pd.option_context("display.width", 160, "display.max_columns", 12):
        cols = ["rank", "symbol", "sector", "close", "tech_rating", "signal", "rsi_14",
                "trend", "momentum", "sector_pct"]
        print(res.table[cols].head(args.top).to_string(index=False))
    print()
    print(res.summary())
    if len(res.errors):
        print(f"\n{len(res.errors)} symbol(s) with bad data:")
        print(res.errors.head(20).to_string(index=False))
    if args.output:
        _write_table(res.table, args.output)
        print(f"\nwrote {len(res.table)} rows to {args.output}")
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
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of symbols, 'auto' or 'all'")
    return n


def _cmd_bench(args) -> int:
    from .bench import ladder
    source = args.source or args.universe
    report = ladder.run_ladder(source, repeat=args.repeat, backend=args.backend, symbols=args.symbols,
                               log=None if args.quiet else ladder.stderr_log,
                               progress=not args.quiet and sys.stderr.isatty())
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
            base=args.base, head=args.head, factor=args.factor, rounds=args.rounds,
            select=args.bench, everything=args.all, json_out=args.json, clock=args.clock,
            confirm=not args.no_confirm, scaling=not args.no_scaling, repo=args.repo,
            log=None if args.quiet else lambda m: print(m, file=sys.stderr, flush=True))
    except gate.GateError as exc:
        print(f"technic gate: error: {exc}", file=sys.stderr)
        return 2
    print(text)
    if args.reports != "-":
        print(f"wrote {', '.join(str(p) for p in report.write(out, args.reports))}")
    return code


def _cmd_report(args) -> int:
    from .report.build import build_report
    path = build_report(args.out, args.bench, args.asv_results)
    print(f"wrote {path} (open it in a browser: file://{path.resolve()})")
    return 0


def _cmd_serve(args) -> int:
    from .sources.http_server import run_server
    run_server(args.universe, host=args.host, port=args.port, latency_ms=args.latency_ms,
               jitter_ms=args.jitter_ms, error_rate=args.error_rate, seed=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="technic", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="make or import a bar store")
    dsub = data.add_subparsers(dest="data_command", required=True)
    gen = dsub.add_parser("generate", help="generate the deterministic synthetic universe")
    gen.add_argument("--symbols", type=int, default=5277)
    gen.add_argument("--bars", type=int, default=504)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--out", help="store directory (default: $TECHNIC_DATA or ./data/universe)")
    gen.add_argument("--force", action="store_true", help="rebuild even if an identical store exists")
    gen.set_defaults(func=_cmd_generate)
    imp = dsub.add_parser("import", help="import vendor bar files (CSV/Parquet) and a universe or listing file")
    imp.add_argument("--bars", nargs="+", required=True, help="files, directories or globs")
    imp.add_argument("--universe", help="universe table (SPEC's columns) or a pipe-separated exchange listing")
    imp.add_argument("--out", required=True, help="store directory (created, or merged into)")
    imp.add_argument("--adjusted", action="store_true",
                     help="scale OHLC by Adj Close / Close (default: raw OHLC, Adj Close ignored)")
    imp.set_defaults(func=_cmd_import)

    sc = sub.add_parser("scan", help="scan a universe")
    sc.add_argument("--universe", help="store directory (default: $TECHNIC_DATA or ./data/universe)")
    sc.add_argument("--source", help="http://HOST:PORT of a `technic serve` API instead of a store")
    sc.add_argument("--phases", default="baseline",
                    help="baseline, all, or a comma list of prefetch,prescreen,vectorized,cache,ray,gpu")
    sc.add_argument("--backend", help="indicator backend for vectorised phases (default: fastest)")
    sc.add_argument("--strict", action="store_true",
                    help="fail instead of falling back to another backend or, without Ray, the in-process engine")
    sc.add_argument("--block-size", type=_block_size, default="auto", metavar="N",
                    help="symbols per block in vectorised phases, 'all' for one block, or 'auto' "
                         "(default: 512 in-process, ~2048 per Ray task; memory grows with the "
                         "block, not with the universe)")
    sc.add_argument("--ray-address", metavar="HOST:PORT",
                    help="with the ray phase: join this Ray cluster (default $RAY_ADDRESS, "
                         "else start a local Ray for the scan)")
    sc.add_argument("--top", type=int, default=20)
    sc.add_argument("--output", help="write the full table (.csv, .parquet or .json)")
    sc.add_argument("--quiet", action="store_true", help="no progress bar")
    sc.add_argument("--redis-url", help="cache phase: Redis to use (default: $REDIS_URL, else an "
                                        "embedded redis-server with its data in $TECHNIC_CACHE_DIR)")
    sc.add_argument("--cache-ttl", type=float, help="cache phase: seconds cached bars are trusted "
                                                    "(default: $TECHNIC_CACHE_TTL or 7 days)")
    sc.set_defaults(func=_cmd_scan)

    be = sub.add_parser("bench", help="measure SPEC's phase ladder on one universe, in one process")
    be.add_argument("--universe", help="store directory (default: $TECHNIC_DATA or ./data/universe)")
    be.add_argument("--source", help="http://HOST:PORT of a `technic serve` API instead of a store")
    be.add_argument("--backend", help="indicator backend for the vectorised steps (default: fastest)")
    be.add_argument("--repeat", type=int, default=1, help="timed runs per step; the median is reported")
    be.add_argument("--symbols", type=int, help="scan only the first N symbols of the universe")
    be.add_argument("--json", help="results file (default: reports/bench-latest.json; '-' for none)")
    be.add_argument("--quiet", action="store_true", help="no progress on stderr")
    be.set_defaults(func=_cmd_bench)

    from .bench.gate import DEFAULT_FACTOR, DEFAULT_ROUNDS
    ga = sub.add_parser("gate", help="compare two commits' speed: exit 0 ok, 1 regression, 2 failure")
    ga.add_argument("--base", default="HEAD~1", help="the commit to compare against (default HEAD~1)")
    ga.add_argument("--head", default="HEAD", help="the commit under test (default HEAD)")
    ga.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                    help=f"slowdown (head/base) that counts as a regression (default {DEFAULT_FACTOR})")
    ga.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS,
                    help=f"paired samples per benchmark (default {DEFAULT_ROUNDS})")
    ga.add_argument("--bench", action="append",
                    help="only benchmarks whose id equals, starts with or contains this (repeatable), "
                         "e.g. bench_cache")
    ga.add_argument("--all", action="store_true",
                    help="gate every time benchmark of the suite (a release), not only the tagged set")
    ga.add_argument("--clock", choices=("cpu-min", "cpu", "process-cpu", "wall", "wall-min"),
                    default="cpu-min", help="compare CPU time of the worker and its children, each "
                                            "sample's fastest call (default) or the mean, or wall time")
    ga.add_argument("--no-confirm", action="store_true",
                    help="do not re-measure a flagged benchmark in fresh processes")
    ga.add_argument("--no-scaling", action="store_true", help="skip the parallel scaling measurement")
    ga.add_argument("--json", help="also write the rows and raw samples here")
    ga.add_argument("--reports", default="reports",
                    help="directory for gate-latest.json/.md and gate-history.jsonl ('-' for none)")
    ga.add_argument("--repo", help="the git repository (default: the one around the current directory)")
    ga.add_argument("--quiet", action="store_true", help="no progress on stderr")
    ga.set_defaults(func=_cmd_gate)

    rp = sub.add_parser("report", help="build the self-contained HTML performance report")
    rp.add_argument("--out", default="reports/report.html")
    rp.add_argument("--bench", default="reports/bench-latest.json", help="technic bench results")
    rp.add_argument("--asv-results", default=".asv/results", help="asv's results directory")
    rp.set_defaults(func=_cmd_report)

    from .sources.http_server import DEFAULT_LATENCY_MS
    sv = sub.add_parser("serve", help="serve a store over an aggregates-style HTTP API on loopback")
    sv.add_argument("--universe", help="store directory (default: $TECHNIC_DATA or ./data/universe)")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8765)
    sv.add_argument("--latency-ms", type=float, default=DEFAULT_LATENCY_MS,
                    help=f"server-side delay per request (default {DEFAULT_LATENCY_MS:g}: a remote vendor)")
    sv.add_argument("--jitter-ms", type=float, default=0.0)
    sv.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 429/503")
    sv.add_argument("--seed", type=int, default=0)
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
