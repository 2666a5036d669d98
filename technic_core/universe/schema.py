"""Column names, types and the store's format version: the one place they are defined."""
from __future__ import annotations

import pyarrow as pa

STORE_FORMAT = 2

SECTORS = (
    "Communication Services", "Consumer Discretionary", "Consumer Staples", "Energy",
    "Financials", "Health Care", "Industrials", "Information Technology", "Materials",
    "Real Estate", "Utilities",
)

UNIVERSE_SCHEMA = pa.schema([
    ("symbol", pa.string()),
    ("name", pa.string()),
    ("sector", pa.string()),
    ("industry", pa.string()),
    ("market_cap", pa.float64()),  # USD; null when unknown
    ("is_etf", pa.bool_()),
    ("is_leveraged", pa.bool_()),
])
UNIVERSE_COLUMNS = tuple(UNIVERSE_SCHEMA.names)

BAR_FIELDS = ("open", "high", "low", "close", "volume")
# Timestamps, not dates: daily bars sit at midnight, and an intraday file can be
# stored (and refused by the scan) without losing its times.
BARS_SCHEMA = pa.schema([
    ("date", pa.timestamp("ms")),
    ("open", pa.float64()),
    ("high", pa.float64()),
    ("low", pa.float64()),
    ("close", pa.float64()),
    ("volume", pa.float64()),
])
# The long file adds the symbol, dictionary-encoded so one columnar read stays small.
LONG_BARS_SCHEMA = pa.schema([("symbol", pa.string()), *BARS_SCHEMA])


class StoreError(Exception):
    """A store or universe that cannot be read at all (missing, wrong schema)."""
