"""Concurrency stress (issue 14): 4 importers and 4 scanners on one store and one Redis.

For ``DURATION_S`` seconds, four importer processes commit vendor updates
(new sessions, corrections of past bars, new symbols) to one store while four
scanner processes scan it through a real Redis (cached and uncached phases).
Then:

* no process crashed;
* every committed version holds exactly the base bars plus the updates
  committed up to it: zero lost and zero duplicated bars, in every version;
* every version's panel (issue 16) holds exactly its bars, and is used without warning;
* every scan's table equals a fresh uncached scan (TA-Lib) of the version it read,
  which equals the same scan from the Parquet files alone.

Each importer records which update became which version, and each scan the
version it read (``info['store_version']``); every version is retained for
the test (``TECHNIC_STORE_KEEP_S``), so each can be re-read afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pandas as pd
import pytest

from technic_core.cache import EmbeddedRedis
from technic_core.scan import scan
from technic_core.scan.compare import table_differences
from technic_core.sources import LocalSource
from technic_core.universe import Store
from technic_core.universe.writer import write_store

from . import stress_worker as W
from .helpers import REPO, assert_panel_agrees

DURATION_S = 45.0
COLUMNS = ["symbol", "date", "open", "high", "low", "close", "volume"]


def _expected(base_long: pd.DataFrame, applied: list[pd.DataFrame]) -> pd.DataFrame:
    """The base bars with updates applied: a later row for the same (symbol, session) wins."""
    rows = pd.concat([base_long[COLUMNS], *[a[COLUMNS] for a in applied]], ignore_index=True)
    rows = rows.assign(
        symbol=rows["symbol"].astype(str),
        date=pd.to_datetime(rows["date"]).astype("datetime64[ns]"),
    )
    rows = rows.drop_duplicates(["symbol", "date"], keep="last")
    return rows.sort_values(["symbol", "date"]).reset_index(drop=True)


def _stored(root, version: int) -> pd.DataFrame:
    df = Store(root, version=version).long()
    assert not df.attrs["errors"], df.attrs["errors"]
    df = df.assign(symbol=df["symbol"].astype(str), date=df["date"].astype("datetime64[ns]"))[
        COLUMNS
    ]
    return df.sort_values(["symbol", "date"]).reset_index(drop=True)


@pytest.mark.slow
def test_four_importers_and_four_scanners(tmp_path, monkeypatch):
    monkeypatch.setenv("TECHNIC_STORE_KEEP_S", "3600")  # keep every version for the checks
    root, out = tmp_path / "store", tmp_path / "out"
    out.mkdir()
    uni, base_long = W.base()
    write_store(root, uni, base_long, {"generator": "stress"})
    env = {**os.environ, "TECHNIC_STORE_KEEP_S": "3600"}
    with EmbeddedRedis(tmp_path / "redis", persist=False) as redis_server:
        deadline = time.time() + DURATION_S + 8.0  # the workers' start-up (imports, JIT) first

        def worker(role, k, *extra):
            argv = [sys.executable, "-m", "tests.reliability.stress_worker", role, str(root)]
            return subprocess.Popen(
                [*argv, str(out), str(k), str(deadline), *extra],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )

        procs = [worker("import", k) for k in range(4)]
        procs += [worker("scan", k, redis_server.url) for k in range(4)]
        try:
            results = [p.communicate(timeout=DURATION_S + 240) for p in procs]
        finally:  # a worker past its time is killed, not left holding the store or Redis
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.communicate()
    crashed = [
        (k, p.returncode, err[-2000:])
        for k, (p, (_, err)) in enumerate(zip(procs, results))
        if p.returncode != 0
    ]
    assert crashed == [], crashed

    def records(name):
        return [
            json.loads(line)
            for k in range(4)
            for line in (out / f"{name}{k}.jsonl").read_text().splitlines()
            if line.strip()
        ]

    imports, scans = records("importer"), records("scanner")
    assert len(imports) >= 8 and len(scans) >= 8, (len(imports), len(scans))

    # every version: the base plus exactly the updates committed up to it
    updates = W.events()
    versions = sorted({i["version"] for i in imports})
    assert versions == list(range(2, 2 + len(imports)))  # one version per import, none lost
    by_version = {i["version"]: i["event"] for i in imports}
    applied: list[pd.DataFrame] = []
    bars_checked = panel_bars = 0
    for v in range(1, max(versions) + 1):
        if v in by_version:
            applied.append(updates[by_version[v]])
        want = _expected(base_long, applied)
        got = _stored(root, v)
        assert not got.duplicated(["symbol", "date"]).any(), f"version {v}: duplicated bars"
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=f"store version {v}")
        bars_checked += len(got)
        # its panel, committed with it by whichever writer won the lock, is its bars exactly
        panel_bars += assert_panel_agrees(root, v)

    # every scan's table equals a fresh, uncached scan of the version it read
    fresh: dict[int, pd.DataFrame] = {}
    for s in scans:
        v = s["version"]
        if v not in fresh:
            fresh[v] = scan(
                LocalSource(root, version=v), phases="vectorized", backend="talib"
            ).table
            # and the same from the Parquet files alone: the panel changes no answer
            parquet = scan(
                LocalSource(root, version=v, panel=False), phases="vectorized", backend="talib"
            )
            assert table_differences(fresh[v], parquet.table) == [], v
        got = pd.read_parquet(out / s["table"])
        diffs = table_differences(fresh[v], got)
        assert diffs == [], (s["phases"], v, diffs[:3])
    cached = [s for s in scans if s["cache"]]
    print(
        f"\nstress: {DURATION_S:.0f}s, {len(imports)} imports committed (versions 2..{max(versions)}), "
        f"{len(scans)} scans ({len(cached)} through Redis) of {len(fresh)} versions, "
        f"{bars_checked:,} stored bars checked across every version (and {panel_bars:,} in their panels); "
        f"cache hits {sum(s['cache']['hits'] for s in cached)}, "
        f"incremental {sum(s['cache']['incremental'] for s in cached)}, "
        f"misses {sum(s['cache']['misses'] for s in cached)}"
    )
