"""The market universe: synthetic generation, the Parquet bar store, bad-data rules."""
from .schema import BAR_FIELDS, SECTORS, UNIVERSE_COLUMNS, StoreError
from .store import BarBlock, Store, default_store_dir, write_store
from .validate import SymbolDataError

__all__ = ["BAR_FIELDS", "SECTORS", "UNIVERSE_COLUMNS", "StoreError", "Store", "BarBlock",
           "SymbolDataError", "write_store", "default_store_dir"]
