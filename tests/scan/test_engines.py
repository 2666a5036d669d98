"""One engine contract: every phase's engine is ``run(source, symbols, options) -> BlockOutcome``,
picked by the pipeline from one table, and its costs come back on the outcome."""

import importlib
import inspect

from technic_core.scan import pipeline, results_match, scan
from technic_core.scan.phases import per_symbol, vectorized
from technic_core.scan.phases.outcome import BlockOutcome, EngineOptions
from technic_core.sources import LocalSource

from ..helpers import make_store


def _engines():
    mods = [importlib.import_module(f"technic_core.scan.phases.{m}") for _, m in pipeline.ENGINES]
    return [m.run for m in mods] + [per_symbol.run]


def test_every_engine_has_the_one_signature():
    for run in _engines():
        assert list(inspect.signature(run).parameters) == ["src", "symbols", "options"], (
            run.__module__
        )


def test_the_pipeline_picks_the_engine_from_its_table():
    assert pipeline.engine_for(("baseline",)) is per_symbol.run
    assert pipeline.engine_for(("prefetch", "prescreen")) is per_symbol.run
    assert pipeline.engine_for(("prefetch", "vectorized")) is vectorized.run
    assert pipeline.engine_for(("vectorized", "ray")).__module__.endswith(".ray_phase")
    assert pipeline.engine_for(("vectorized", "cache")).__module__.endswith(".cache_phase")
    assert [p for p, _ in pipeline.ENGINES] == ["cache", "ray", "vectorized"]


def test_engines_called_directly_give_the_same_rows(tmp_path):
    root = make_store(tmp_path / "s", 24, 280, seed=3)
    src = LocalSource(root)
    symbols = list(src.universe()["symbol"])
    slow = per_symbol.run(src, symbols, EngineOptions(prefetch=True))
    fast = vectorized.run(src, symbols, EngineOptions(backend="numba", strict=True, block_size=7))
    assert isinstance(slow, BlockOutcome) and isinstance(fast, BlockOutcome)
    assert slow.engine_info == {"engine": "in-process"} and slow.batch_read_s > 0
    assert fast.engine_info == {"engine": "in-process", "block_size": 7, "blocks": 4}
    assert fast.outside_s == {} and slow.outside_s == {}
    a, b = slow.computed().sort_index(), fast.computed().sort_index()
    assert list(a.index) == list(b.index) and len(a) > 0
    assert (
        results_match(scan(root, phases="prefetch"), scan(root, phases="prefetch,vectorized")) == []
    )
