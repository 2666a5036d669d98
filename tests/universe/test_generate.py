import numpy as np

from technic_core.universe.generate import generate_universe


def test_same_seed_same_universe_other_seed_differs():
    a = generate_universe(80, 120, seed=5)
    b = generate_universe(80, 120, seed=5)
    c = generate_universe(80, 120, seed=6)
    assert a.universe.equals(b.universe)
    np.testing.assert_array_equal(a.close, b.close)
    assert not np.array_equal(np.nan_to_num(a.close), np.nan_to_num(c.close))


def test_bars_are_consistent_and_right_aligned():
    g = generate_universe(300, 260, seed=9)
    listed = ~np.isnan(g.close)
    # every column is one contiguous run ending at the last row
    assert listed[-1].all()
    np.testing.assert_array_equal(listed.sum(axis=0), g.lengths)
    o, h, lo, c, v = g.open, g.high, g.low, g.close, g.volume
    m = listed
    assert (h[m] >= np.maximum(o[m], c[m])).all() and (lo[m] <= np.minimum(o[m], c[m])).all()
    assert (lo[m] > 0).all() and (v[m] >= 0).all()
    assert (v[m] == 0).any(), "halted sessions exist"
    assert (g.lengths < 20).any() and (g.lengths < 260).any(), "recent listings exist"


def test_universe_mix_fires_every_universe_rule():
    u = generate_universe(5277, 30, seed=7).universe
    assert len(u) == 5277 and u["symbol"].is_unique
    assert u["is_leveraged"].any() and u["is_etf"].sum() > u["is_leveraged"].sum()
    assert u["market_cap"].isna().any()
    assert (~u["symbol"].str.fullmatch(r"[A-Z]{1,5}")).any()
    strict = u["sector"].isin(["Real Estate", "Utilities"])
    assert (strict & u["market_cap"].between(150e6, 750e6)).any()
    assert u["sector"].nunique() == 11
