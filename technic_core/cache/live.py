"""A universe's indicator state in Redis, slot by slot, for a long-lived rescan (``scan.live``).

The state of N symbols is a slot-major ``(width, N)`` array (``indicators.state``);
here each slot row is one Redis string of N float64, and one meta entry says
whose state it is::

    technic:c<FORMAT>:<ns>:live:<pid>:meta      store version, symbols, their content
                                                versions, bar counts and ring turns
    technic:c<FORMAT>:<ns>:live:<pid>:slot:<k>  slot k of every symbol (N float64)
    technic:c<FORMAT>:<ns>:live:<pid>:bar       the last bar that advanced it (5 x N)

Rings are stored turned by each symbol's first session (``shift``), so that
they are indexed by session, not by bar count: a new session then lands in
the same ring row for every symbol, and changes ~100 of the ~350 rows
instead of most of them (symbols listed on different days have their rings
at different phases).  A new session advances every symbol by one bar; only
the slot rows whose bits changed and the new bar are written back, in one MULTI/EXEC
transaction, so a reader (one MGET of the meta and every row) sees the
state before or after a rescan, never a mix.  The transaction is WATCHed on
the meta entry: if another process wrote the state meanwhile, this write is
dropped (that process's state is as new) and counted.  A process that holds
the state it last read or wrote checks the meta entry alone (one GET) before
using it, and reads every row only when another process has changed it.

Every entry is a ``codec`` entry (magic, format, kind, parameters tag,
CRC32), never pickle; a missing, corrupt or foreign entry means no usable
state in Redis, and the caller rebuilds it from the store.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import redis

from . import codec
from .store import Cache, namespace_for

_META_HEAD = struct.Struct("<I")  # length of the JSON part


class LiveState:
    """What ``LiveStateStore.read`` returns: the state and whose it is."""

    def __init__(
        self,
        version: int,
        symbols: np.ndarray,
        content: np.ndarray,
        n_bars: np.ndarray,
        shift: np.ndarray,
        slots: np.ndarray,
    ):
        self.version = version
        self.symbols = symbols
        self.content = content
        self.n_bars = n_bars
        self.shift = shift  # how far each symbol's rings are turned (see ``scan.live``)
        self.slots = slots


class LiveStateStore:
    """The live state of one source and one set of indicator parameters in Redis."""

    def __init__(self, cache: Cache, source_description: str, params_id: str, width: int):
        self.cache = cache
        self.prefix = (
            f"technic:c{codec.FORMAT}:{cache.namespace or namespace_for(source_description)}"
            f":live:{params_id}"
        )
        self.tag = int(params_id, 16) & 0xFFFFFFFFFFFFFFFF
        self.width = width
        self.meta_key = f"{self.prefix}:meta"
        self.bar_key = f"{self.prefix}:bar"
        self.slot_keys = [f"{self.prefix}:slot:{k}" for k in range(width)]
        self.lost_races = 0  # writes dropped because another process wrote first
        self._seen_meta: bytes | None = None

    def _run(self, fn):
        return self.cache.run(fn)

    # -- encoding ------------------------------------------------------------
    def _meta_blob(self, st: LiveState) -> bytes:
        head = json.dumps(
            {"version": int(st.version), "n": int(len(st.symbols)), "width": self.width}
        ).encode()
        names = "\n".join(str(s) for s in st.symbols).encode()
        body = (
            _META_HEAD.pack(len(head))
            + head
            + struct.pack("<I", len(names))
            + names
            + np.ascontiguousarray(st.content, "<u8").tobytes()
            + np.ascontiguousarray(st.n_bars, "<i8").tobytes()
            + np.ascontiguousarray(st.shift, "<i8").tobytes()
        )
        return codec.encode(codec.KIND_LIVE_META, self.tag, body)

    def _decode_meta(self, blob: bytes):
        view = codec.decode(blob, codec.KIND_LIVE_META, self.tag)
        try:
            (hl,) = _META_HEAD.unpack_from(view, 0)
            head = json.loads(bytes(view[4 : 4 + hl]))
            at = 4 + hl
            (nl,) = struct.unpack_from("<I", view, at)
            at += 4
            text = bytes(view[at : at + nl]).decode()
            at += nl
            n = int(head["n"])
            symbols = np.array(text.split("\n") if n else [], dtype=object)
            arrays = np.frombuffer(view, dtype="<u8", count=3 * n, offset=at)
        except (ValueError, KeyError, struct.error, UnicodeDecodeError) as exc:
            raise codec.CorruptEntry("corrupt", f"live meta: {exc}") from None
        if int(head.get("width", -1)) != self.width or len(symbols) != n:
            raise codec.CorruptEntry("foreign", "live meta of another state layout")
        return (
            int(head["version"]),
            symbols,
            arrays[:n].astype(np.uint64),
            arrays[n : 2 * n].view(np.int64).astype(np.int64),
            arrays[2 * n :].view(np.int64).astype(np.int64),
        )

    # -- reads and writes ------------------------------------------------------
    def unchanged_since_written(self) -> bool:
        """Whether the state in Redis is still the one this process last read or wrote (its meta
        entry is byte for byte the same): one GET instead of reading every slot row."""
        if self._seen_meta is None:
            return False
        return self._run(lambda client: client.get(self.meta_key)) == self._seen_meta

    def read(self) -> LiveState | None:
        """The state in Redis (one MGET), or None if there is none or any entry is unusable."""

        def go(client):
            return client.mget([self.meta_key, *self.slot_keys])

        blobs = self._run(go)
        if blobs[0] is None:
            self._seen_meta = None
            return None
        try:
            version, symbols, content, n_bars, shift = self._decode_meta(blobs[0])
            n = len(symbols)
            slots = np.empty((self.width, n), np.float64)
            for k, blob in enumerate(blobs[1:]):
                view = codec.decode(blob, codec.KIND_LIVE_SLOT, self.tag)
                if len(view) != 8 * n:
                    raise codec.CorruptEntry(
                        "corrupt", f"slot {k} holds {len(view) // 8} values for {n} symbols"
                    )
                slots[k] = np.frombuffer(view, dtype="<f8")
        except codec.CorruptEntry:
            self._seen_meta = None
            return None
        self._seen_meta = bytes(blobs[0])
        return LiveState(version, symbols, content, n_bars, shift, slots)

    def write(self, st: LiveState, rows, bar: np.ndarray | None) -> bool:
        """Write the meta, slot rows ``rows`` (all when None) and the new bar, in one WATCHed
        transaction.  False when another process changed the state since this one read it."""
        slots = st.slots
        which = range(self.width) if rows is None else rows
        meta = self._meta_blob(st)
        ttl = self.cache.ttl

        def go(client):
            with client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(self.meta_key)
                    if pipe.get(self.meta_key) != self._seen_meta:
                        pipe.reset()
                        return False
                    pipe.multi()
                    pipe.set(self.meta_key, meta, ex=ttl)
                    for k in which:
                        pipe.set(
                            self.slot_keys[k],
                            codec.encode(
                                codec.KIND_LIVE_SLOT,
                                self.tag,
                                np.ascontiguousarray(slots[k]).tobytes(),
                            ),
                            ex=ttl,
                        )
                    if bar is not None:
                        pipe.set(
                            self.bar_key,
                            codec.encode(
                                codec.KIND_LIVE_BAR,
                                self.tag,
                                np.ascontiguousarray(bar, "<f8").tobytes(),
                            ),
                            ex=ttl,
                        )
                    pipe.execute()
                except redis.WatchError:
                    return False
            return True

        ok = self._run(go)
        if ok:
            self._seen_meta = meta
        else:
            self.lost_races += 1
        return ok

    def clear(self) -> None:
        self._run(lambda client: client.delete(self.meta_key, self.bar_key, *self.slot_keys))
        self._seen_meta = None


def changed_rows(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Slot rows whose bits differ (NaN equal to NaN)."""
    a = before.view(np.uint64)
    b = after.view(np.uint64)
    return np.flatnonzero((a != b).any(axis=1))
