"""Column names, types, file names and the store's format version: the one place they are defined."""

from __future__ import annotations

import pyarrow as pa

# 3: versioned (manifest.json, v/N/, content-named per-symbol files); 2 had meta.json and
# per-symbol files checked by size and mtime.
STORE_FORMAT = 3
MANIFEST = "manifest.json"
VERSIONS_DIR = "v"
MAX_SYMBOL_LENGTH = 32

SECTORS = (
    "Communication Services",
    "Consumer Discretionary",
    "Consumer Staples",
    "Energy",
    "Financials",
    "Health Care",
    "Industrials",
    "Information Technology",
    "Materials",
    "Real Estate",
    "Utilities",
)

UNIVERSE_SCHEMA = pa.schema(
    [
        ("symbol", pa.string()),
        ("name", pa.string()),
        ("sector", pa.string()),
        ("industry", pa.string()),
        ("market_cap", pa.float64()),  # USD; null when unknown
        ("is_etf", pa.bool_()),
        ("is_leveraged", pa.bool_()),
    ]
)
UNIVERSE_COLUMNS = tuple(UNIVERSE_SCHEMA.names)

BAR_FIELDS = ("open", "high", "low", "close", "volume")
# Timestamps, not dates: daily bars sit at midnight, and an intraday file can be
# stored (and refused by the scan) without losing its times.
BARS_SCHEMA = pa.schema(
    [
        ("date", pa.timestamp("ms")),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.float64()),
    ]
)
# The long file adds the symbol, dictionary-encoded so one columnar read stays small.
LONG_BARS_SCHEMA = pa.schema([("symbol", pa.string()), *BARS_SCHEMA])

# One row per symbol of a version (v/N/index.parquet): what a reader needs without opening
# the symbol's bars.  ``content`` is the fingerprint of its bars (universe.fingerprint);
# ``row_group`` -1: not in this version's bars.parquet (read its own file).
INDEX_SCHEMA = pa.schema(
    [
        ("symbol", pa.string()),
        ("file", pa.string()),
        ("content", pa.uint64()),
        ("file_size", pa.int64()),
        ("n_bars", pa.int64()),
        ("row_group", pa.int32()),
        ("offset", pa.int64()),
        ("first", pa.timestamp("ms")),
        ("last", pa.timestamp("ms")),
        *[(f"last_{f}", pa.float64()) for f in BAR_FIELDS],
    ]
)

# Characters a symbol may have in the store: tickers such as BRK.B, BF-B, ^GSPC, EURUSD=X.
_SYMBOL_OK = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_^=+&")


def symbol_name_problem(symbol: str) -> str | None:
    """Why ``symbol`` cannot name a symbol's file in the store (None: it can)."""
    if not symbol:
        return "empty symbol"
    problems = []
    if len(symbol) > MAX_SYMBOL_LENGTH:
        problems.append(f"{len(symbol)} characters (at most {MAX_SYMBOL_LENGTH})")
    bad = sorted(set(symbol) - _SYMBOL_OK, key=symbol.index)
    if bad:
        problems.append("contains " + ", ".join(repr(c) for c in bad[:5]))
    if symbol.startswith("."):
        problems.append("starts with '.'")
    return "; ".join(problems) or None


class StoreError(Exception):
    """A store or universe that cannot be read at all (missing, wrong schema)."""
