"""One writer at a time: an advisory lock on the store directory, naming its holder.

``fcntl.flock`` on ``ROOT/writer.lock``: the kernel releases it when the
holder exits, however it exits (SIGKILL included), so a crashed writer never
leaves the store locked.  The holder writes who it is into the lock file
(pid, host, command, purpose, since), so a second writer can say whom it is
waiting for.  Readers never take it: they read one committed version (see
``writer``), whatever a writer is doing.

flock is POSIX (Linux, macOS); on NFS it needs a server with lock support.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from pathlib import Path

from .schema import StoreError

LOCK_NAME = "writer.lock"
DEFAULT_LOCK_TIMEOUT_S = 600.0
POLL_S = 0.1


class StoreBusy(StoreError):
    """Another writer holds the store's lock; the message names it."""


def _fcntl():
    try:
        import fcntl
    except ImportError:  # Windows
        raise StoreError("writing a store needs fcntl.flock (Linux or macOS)") from None
    return fcntl


def describe_holder(info: dict) -> str:
    if not info:
        return "another process (it did not say who it is)"
    return (
        f"pid {info.get('pid')} on {info.get('host')} ({info.get('purpose')}; "
        f"{info.get('command')}) since {info.get('since')}"
    )


class StoreLock:
    """The store's writer lock, as a context manager.

    ``timeout``: seconds to wait for another writer (None: wait forever; 0:
    fail at once).  While waiting it says once, through ``log``, whom it waits for.
    """

    def __init__(
        self,
        root: Path | str,
        purpose: str = "a technic writer",
        timeout: float | None = DEFAULT_LOCK_TIMEOUT_S,
        log=None,
    ):
        self.root = Path(root)
        self.purpose = purpose
        self.timeout = timeout
        self.log = log if log is not None else (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._fh = None

    @property
    def path(self) -> Path:
        return self.root / LOCK_NAME

    @property
    def held(self) -> bool:
        return self._fh is not None

    def holder(self) -> dict:
        try:
            text = self.path.read_text()
            return json.loads(text) if text.strip() else {}
        except (OSError, ValueError):
            return {}

    def acquire(self) -> StoreLock:
        fcntl = _fcntl()
        if self._fh is not None:
            return self
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+")
        except OSError as exc:
            raise StoreError(
                f"cannot create the store's lock {self.path}: {exc.strerror}"
            ) from None
        deadline = None if self.timeout is None else time.monotonic() + max(0.0, self.timeout)
        told = False
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    fh.close()
                    raise StoreError(f"cannot lock {self.path}: {exc.strerror}") from None
            who = describe_holder(self.holder())
            if deadline is not None and time.monotonic() >= deadline:
                fh.close()
                raise StoreBusy(
                    f"{self.root} is being written by {who}; gave up after "
                    f"{self.timeout:g}s (--lock-timeout)"
                )
            if not told:
                limit = "no time limit" if deadline is None else f"up to {self.timeout:g}s"
                self.log(
                    f"waiting for the store's writer lock at {self.root}, held by {who} ({limit})"
                )
                told = True
            time.sleep(POLL_S)
        fh.seek(0)
        fh.truncate()
        fh.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "purpose": self.purpose,
                    "command": " ".join(sys.argv)[:200],
                    "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                }
            )
        )
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is None:
            return
        fcntl = _fcntl()
        try:
            self._fh.seek(0)
            self._fh.truncate()
            self._fh.flush()
        except OSError:
            pass
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
        self._fh.close()
        self._fh = None

    def __enter__(self) -> StoreLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
