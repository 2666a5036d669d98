"""Frames in memory on a real local Ray: each block is read from memory once and shipped."""

import pytest

ray = pytest.importorskip("ray")

from technic_core.scan import results_match, scan  # noqa: E402
from technic_core.universe.generate import generate_universe  # noqa: E402

from .helpers import BACKEND, PHASES, RAY_PHASES  # noqa: E402


def test_a_long_frame_scans_on_ray_as_in_process():
    g = generate_universe(60, 280, 21)
    long, uni = g.long_frame(), g.universe
    here = scan(long, uni, phases=PHASES, backend=BACKEND, block_size=16)
    res = scan(long, uni, phases=RAY_PHASES, backend=BACKEND, block_size=16)
    assert not ray.is_initialized()
    assert res.info["engine"] == "ray" and res.info["source"].startswith("frames in memory")
    assert len(here.table) > 10 and results_match(here, res) == []
