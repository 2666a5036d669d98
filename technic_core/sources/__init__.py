"""Where bars come from: one Source interface, the local store, the HTTP API."""

from .base import Source
from .local import LocalSource, open_source

__all__ = ["Source", "LocalSource", "open_source"]
