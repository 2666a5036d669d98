"""The Redis cache of bars and indicator state (phase 3B).

``Cache`` says where Redis is (``$REDIS_URL`` or an embedded redis-server)
and how long entries are trusted; ``codec`` writes checked binary entries
(never pickle); the store's content version (``universe.fingerprint``)
ties every entry to the exact bars it was computed from.  The scan phase
that uses them is ``scan.phases.cache_phase``.
"""

from .codec import CorruptEntry
from .server import CacheServerError, EmbeddedRedis
from .store import DEFAULT_TTL_S, Cache, CacheDown

__all__ = [
    "Cache",
    "CacheDown",
    "CacheServerError",
    "CorruptEntry",
    "EmbeddedRedis",
    "DEFAULT_TTL_S",
]
