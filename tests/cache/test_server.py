"""The embedded server and the cache's configuration."""

import os

import psutil
import pytest

from technic_core.cache import Cache, CacheDown, EmbeddedRedis
from technic_core.cache import server as server_mod
from technic_core.cli import main


def test_embedded_server_starts_persists_and_stops(tmp_path):
    srv = EmbeddedRedis(tmp_path, persist=True)
    with srv:
        pid = srv.proc.pid
        assert psutil.pid_exists(pid)
        c = Cache(url=srv.url).client()
        c.set("technic:test", b"kept")
        c.close()
    assert not srv.running and not psutil.pid_exists(pid)
    assert (tmp_path / "technic-cache.rdb").is_file()
    assert not os.path.exists(srv.socket_path)
    with EmbeddedRedis(tmp_path, persist=True) as again:
        assert Cache(url=again.url).client().get("technic:test") == b"kept"


def test_ephemeral_server_leaves_nothing(tmp_path):
    with EmbeddedRedis(tmp_path, persist=False) as srv:
        Cache(url=srv.url).client().set("k", b"v")
    assert list(tmp_path.iterdir()) == []


def test_default_cache_is_the_embedded_server_in_the_cache_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("TECHNIC_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(server_mod, "_EMBEDDED", None)
    try:
        cache = Cache()
        assert cache.url is None
        cache.client().set("k", b"v")
        assert "embedded redis-server" in cache.describe()
    finally:
        server_mod._EMBEDDED.stop()
    assert (tmp_path / "technic-cache.rdb").is_file()


def test_redis_url_and_ttl_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("TECHNIC_CACHE_TTL", "3600")
    cache = Cache()
    assert cache.url == "redis://127.0.0.1:1/0" and cache.ttl == 3600
    with pytest.raises(CacheDown, match="Connection"):
        cache.client()
    with pytest.raises(CacheDown):  # remembered: no second wait on a dead server
        cache.client()
    monkeypatch.setenv("TECHNIC_CACHE_TTL", "soon")
    with pytest.raises(ValueError, match="TECHNIC_CACHE_TTL"):
        Cache()


def test_entries_expire_after_the_ttl(tmp_path, store):
    from technic_core.scan import scan

    with EmbeddedRedis(tmp_path / "r", persist=False) as srv:
        cache = Cache(url=srv.url, ttl=1000)
        scan(store, phases="vectorized,cache", cache=cache)
        c = cache.client()
        ttls = [c.ttl(k) for k in c.scan_iter(match="technic:*", count=1000)]
    assert ttls and all(0 < t <= 1000 for t in ttls)


def test_cli_scan_with_the_cache(store, tmp_path, capsys):
    with EmbeddedRedis(tmp_path / "r", persist=False) as srv:
        args = [
            "scan",
            "--universe",
            str(store),
            "--phases",
            "vectorized,cache",
            "--quiet",
            "--redis-url",
            srv.url,
            "--cache-ttl",
            "600",
        ]
        assert main(args) == 0
        assert main(args) == 0
    out = capsys.readouterr().out
    assert "'hits': 0" in out and "'incremental': 0" in out
    assert out.count("cache: {") == 2
    assert main(["scan", "--universe", str(store), "--phases", "cache", "--quiet"]) == 2
    assert "runs on the vectorised engine" in capsys.readouterr().err


def test_a_forked_child_never_stops_its_parents_server(tmp_path):
    with EmbeddedRedis(tmp_path, persist=False) as srv:
        pid = os.fork()
        if pid == 0:  # the child: stopping is a no-op there
            srv._finalizer()  # what garbage collection at the child's exit would run
            srv.stop()
            os._exit(0)
        os.waitpid(pid, 0)
        assert srv.running
        assert Cache(url=srv.url).client().ping()
