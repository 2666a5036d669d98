"""Keys, batched reads and writes of the bar and state cache.

Keys (``ns`` names the source, ``pid`` the indicator parameters and state
version, both short hashes)::

    technic:c<FORMAT>:<ns>:bars:<SYMBOL>          LIST of bar segments, oldest first
    technic:c<FORMAT>:<ns>:state:<pid>:<SYMBOL>   STRING, the state at the last bar

A symbol's bars are written as two segments, its history and its last bar,
and each new bar is one more segment, so the list's tail is always one small
bar: a scan checks every symbol's last bar with ``LINDEX -1`` without moving
its history.  A new bar is appended only if the tail is still the one the
scan read (a Lua check), so two scans cannot append the same bar twice.

Every call is one round trip for a whole block of symbols (MGET and
pipelines); writes of a block are one MULTI/EXEC transaction.  Any failure
of Redis (refused, timed out, killed) surfaces as ``CacheDown``; a key of
another Redis type than ours (WRONGTYPE) is one corrupt entry, read as
``WRONGTYPE`` and replaced by the next write, never a failure of Redis.
"""

from __future__ import annotations

import hashlib
import os

import redis

from . import codec
from .server import CacheServerError, client_for, embedded_server

DEFAULT_TTL_S = 7 * 24 * 3600
COMPACT_AT = 32  # segments in a bar list before it is rewritten as two

_APPEND_IF_TAIL = """
if redis.call('TYPE', KEYS[1]).ok ~= 'list' then
  return 0
end
local tail = redis.call('LINDEX', KEYS[1], -1)
if tail and string.sub(tail, 1, string.len(ARGV[1])) == ARGV[1] then
  redis.call('RPUSH', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


class CacheDown(RuntimeError):
    """Redis could not be used (unreachable, timed out, gone): the scan goes on without it."""


class WrongType:
    """A key that holds another Redis type than ours: a corrupt entry, repaired by the next write."""

    def __repr__(self) -> str:
        return "WRONGTYPE"


WRONGTYPE = WrongType()


def _per_key(results: list) -> list:
    """Pipeline results with WRONGTYPE errors as ``WRONGTYPE``; any other error is raised."""
    out = []
    for r in results:
        if isinstance(r, redis.ResponseError):
            if str(r).startswith("WRONGTYPE"):
                out.append(WRONGTYPE)
                continue
            raise r
        out.append(r)
    return out


def namespace_for(source_description: str) -> str:
    return hashlib.sha256(source_description.encode()).hexdigest()[:12]


def env_ttl() -> int:
    raw = os.environ.get("TECHNIC_CACHE_TTL")
    if not raw:
        return DEFAULT_TTL_S
    try:
        ttl = int(float(raw))
    except ValueError:
        raise ValueError(f"TECHNIC_CACHE_TTL={raw!r} is not a number of seconds") from None
    if ttl <= 0:
        raise ValueError(f"TECHNIC_CACHE_TTL={raw!r} must be positive")
    return ttl


class Cache:
    """Where the cache lives and for how long entries are trusted.

    ``url``: a Redis URL (``redis://``, ``rediss://``, ``unix://``); default
    ``$REDIS_URL``, else the embedded server.  ``ttl``: seconds a symbol's
    cached bars are trusted before they are fetched again (default
    ``$TECHNIC_CACHE_TTL`` or 7 days); the last session is checked against the
    source on every scan regardless.  ``verify_previous``: before appending a
    new session's bar, also check the cached previous bar against the source
    (one more snapshot request), which catches split adjustments at once.
    """

    def __init__(
        self,
        url: str | None = None,
        ttl: float | None = None,
        namespace: str | None = None,
        verify_previous: bool = True,
    ):
        self.url = url if url is not None else os.environ.get("REDIS_URL") or None
        self.ttl = int(ttl) if ttl is not None else env_ttl()
        if self.ttl <= 0:
            raise ValueError(f"cache ttl must be positive seconds, got {ttl!r}")
        self.namespace = namespace
        self.verify_previous = verify_previous
        self._client: redis.Redis | None = None
        self._where = self.url or "embedded redis-server"
        self.down: str | None = None  # why Redis is not used, once it failed

    def describe(self) -> str:
        return self._where

    def client(self) -> redis.Redis:
        """A connected client; CacheDown if Redis cannot be reached."""
        if self.down is not None:
            raise CacheDown(self.down)
        if self._client is None:
            try:
                if self.url:
                    client = client_for(self.url)
                else:
                    server = embedded_server()
                    self._where = server.describe()
                    client = client_for(unix_socket_path=server.socket_path)
                client.ping()
            except (redis.RedisError, OSError, CacheServerError, ValueError) as exc:
                raise self.fail(exc) from None
            self._client = client
        return self._client

    def fail(self, exc: BaseException) -> CacheDown:
        self.down = f"{type(exc).__name__}: {exc}"
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001 - closing a dead connection
                pass
            self._client = None
        return CacheDown(self.down)

    def run(self, fn):
        """``fn(client)``; a Redis or socket error marks the cache down and raises CacheDown."""
        try:
            return fn(self.client())
        except CacheDown:
            raise
        except (redis.RedisError, OSError) as exc:
            raise self.fail(exc) from None

    def reset(self) -> None:
        """Forget an earlier failure (a later scan tries Redis again)."""
        self.down = None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def for_source(self, source_description: str, params_id: str) -> BarStateStore:
        return BarStateStore(self, self.namespace or namespace_for(source_description), params_id)


class BarStateStore:
    """The entries of one source and one set of indicator parameters."""

    def __init__(self, cache: Cache, ns: str, params_id: str):
        self.cache = cache
        self.prefix = f"technic:c{codec.FORMAT}:{ns}"
        self.pid = params_id
        self.tag = int(params_id, 16) & 0xFFFFFFFFFFFFFFFF
        self._append = None

    def bars_key(self, symbol: str) -> str:
        return f"{self.prefix}:bars:{symbol}"

    def state_key(self, symbol: str) -> str:
        return f"{self.prefix}:state:{self.pid}:{symbol}"

    def _run(self, fn):
        return self.cache.run(fn)

    def read_heads(self, symbols: list[str]) -> tuple[list, list]:
        """(tail segment, state entry) of each symbol, None where absent and ``WRONGTYPE`` where
        the key holds another type: one round trip.  (MGET answers None for a key that is not
        a string: a state key of the wrong type is absent, and overwritten by the next SET.)"""

        def go(client):
            pipe = client.pipeline(transaction=False)
            pipe.mget([self.state_key(s) for s in symbols])
            for s in symbols:
                pipe.lindex(self.bars_key(s), -1)
            res = _per_key(pipe.execute(raise_on_error=False))
            return res[1:], res[0]

        if not symbols:
            return [], []
        return self._run(go)

    def read_bars(self, symbols: list[str]) -> tuple[list, list[int]]:
        """(segments or ``WRONGTYPE``, remaining TTL in ms) of each symbol: one round trip."""

        def go(client):
            pipe = client.pipeline(transaction=False)
            for s in symbols:
                pipe.lrange(self.bars_key(s), 0, -1)
                pipe.pttl(self.bars_key(s))
            res = _per_key(pipe.execute(raise_on_error=False))
            return res[0::2], res[1::2]

        if not symbols:
            return [], []
        return self._run(go)

    def write(
        self,
        bars: dict[str, list[bytes]],
        appends: dict[str, tuple[bytes, bytes]],
        states: dict[str, bytes],
        keep_ttl_ms: dict[str, int] | None = None,
    ) -> None:
        """One transaction: replace bar lists, append bars after a known tail, set states.

        ``bars``: symbol -> segments (the list is replaced; TTL restarts unless
        ``keep_ttl_ms`` gives the remaining one); ``appends``: symbol ->
        (header of the tail the bar follows, new segment); ``states``: symbol -> entry.
        """
        if not (bars or appends or states):
            return
        ttl = self.cache.ttl
        keep = keep_ttl_ms or {}

        def go(client):
            if self._append is None:
                self._append = client.register_script(_APPEND_IF_TAIL)
            pipe = client.pipeline(transaction=True)
            for s, segs in bars.items():
                k = self.bars_key(s)
                pipe.delete(k)
                pipe.rpush(k, *segs)
                left = keep.get(s, 0)
                if left > 0:
                    pipe.pexpire(k, left)
                else:
                    pipe.expire(k, ttl)
            for s, (tail_head, seg) in appends.items():
                self._append(keys=[self.bars_key(s)], args=[tail_head, seg], client=pipe)
            for s, blob in states.items():
                pipe.set(self.state_key(s), blob, ex=ttl)
            pipe.execute()

        self._run(go)
