"""The market universe: synthetic generation, the versioned Parquet bar store, bad-data rules."""

from .lock import StoreBusy, StoreLock
from .schema import BAR_FIELDS, SECTORS, UNIVERSE_COLUMNS, StoreError
from .store import BarBlock, Store, StoreDamaged, default_store_dir, is_store
from .validate import SymbolDataError
from .writer import write_store

__all__ = [
    "BAR_FIELDS",
    "SECTORS",
    "UNIVERSE_COLUMNS",
    "StoreError",
    "Store",
    "BarBlock",
    "SymbolDataError",
    "StoreDamaged",
    "StoreBusy",
    "StoreLock",
    "write_store",
    "default_store_dir",
    "is_store",
]
