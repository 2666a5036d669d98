"""The pipeline: phases agree with the baseline; rules fire; the result is complete."""

import pytest

from technic_core import indicators
from technic_core.scan import PhaseUnavailable, parse_phases, results_match, scan
from technic_core.scan.filters import RULES
from technic_core.scan.table import TABLE_COLUMNS

from ..helpers import make_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store"), 120, 300, seed=3)


@pytest.fixture(scope="module")
def baseline(store):
    return scan(store, phases="baseline")


def test_result_shape(baseline):
    t = baseline.table
    assert list(t.columns) == list(TABLE_COLUMNS)
    assert list(t["rank"]) == list(range(1, len(t) + 1))
    key = list(zip(-t["tech_rating"], -t["dollar_vol_20"], t["symbol"]))
    assert key == sorted(key)
    assert set(baseline.rejections) == set(RULES)
    assert sum(baseline.rejections.values()) + len(baseline.errors) + len(t) == baseline.n_symbols
    for stage in ("fetch", "indicators", "scoring", "filtering", "ranking"):
        assert baseline.timings[stage] >= 0
    assert baseline.projected_full_s == pytest.approx(baseline.seconds_per_symbol * 5277)
    assert t["sector_pct"].between(0, 100).all()


@pytest.mark.parametrize(
    "phases",
    ["prefetch", "prescreen", "prefetch,prescreen", "vectorized", "prefetch,prescreen,vectorized"],
)
def test_phases_give_the_baseline_answer(store, baseline, phases):
    res = scan(store, phases=phases)
    assert results_match(baseline, res) == []


@pytest.mark.parametrize("backend", [b for b in indicators.available_backends()])
def test_every_backend_gives_the_baseline_answer(store, baseline, backend):
    res = scan(store, phases="prefetch,prescreen,vectorized", backend=backend)
    assert res.backend == backend
    assert results_match(baseline, res) == []


def test_prescreen_saves_fetches(store):
    res = scan(store, phases="prefetch,prescreen", backend="numpy")
    assert (
        res.info["history_fetches_saved"]
        >= res.rejections["symbol_format"] + res.rejections["leveraged"]
    )


def test_parse_phases():
    assert parse_phases("baseline") == ()
    assert parse_phases("vectorized,prefetch") == ("prefetch", "vectorized")
    with pytest.raises(ValueError, match="unknown phase"):
        parse_phases("warp")
    unbuilt = [
        p
        for p, ph in __import__("technic_core.scan.phases", fromlist=["PHASES"]).PHASES.items()
        if not ph.built
    ]
    if unbuilt:
        with pytest.raises(PhaseUnavailable, match="not built yet"):
            parse_phases(unbuilt[0])


def test_every_rule_and_signal_fires_on_the_default_mix(tmp_path):
    root = make_store(tmp_path, 1500, 504, seed=7)
    res = scan(root, phases="prefetch,prescreen,vectorized")
    for rule, n in res.rejections.items():
        assert n > 0, f"rule {rule} never fired"
    assert set(res.table["signal"]) == {"Strong Long", "Long", "Neutral", "Short", "Strong Short"}
    assert res.table["sma_200"].isna().any() and res.table["sma_200"].notna().any()


def test_all_means_every_phase_that_combines():
    assert parse_phases("all") == ("prefetch", "prescreen", "vectorized", "ray", "gpu")
    with pytest.raises(ValueError, match="cannot be combined"):
        parse_phases("prefetch,vectorized,cache,ray")
