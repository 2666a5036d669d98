"""The fallback chain cupy -> numba -> numpy -> baseline: never silent, strict on request."""

import warnings

import pytest

from technic_core.indicators import BackendUnavailable, registry
from technic_core.scan import results_match, scan
from technic_core.scan.phases.vectorized import BackendFallback, chain_from

from ..helpers import make_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("fb"), 30, 260, seed=8)


@pytest.fixture(scope="module")
def reference(store):
    return scan(store, phases="prefetch,prescreen,vectorized", backend="numpy")


def test_chain_order():
    assert chain_from("cupy") == ["cupy", "numba", "numpy", "baseline"]
    assert chain_from("numpy") == ["numpy", "baseline"]
    assert chain_from("talib") == ["talib"]


def test_gpu_phase_without_device_falls_back_with_a_warning(store, reference):
    if registry.unavailable_reason("cupy") is None:
        pytest.skip("a CUDA device is present: the GPU ran for real")
    with pytest.warns(
        BackendFallback, match="backend 'cupy' did not run: .*falling back to 'numba'"
    ):
        res = scan(store, phases="prefetch,prescreen,vectorized,gpu")
    assert res.backend == "numba"
    assert "cupy" in res.info["backend_fallback"]
    assert results_match(reference, res) == []


def test_strict_turns_the_fallback_into_an_error(store):
    if registry.unavailable_reason("cupy") is None:
        pytest.skip("a CUDA device is present")
    with pytest.raises(BackendUnavailable, match="cupy"):
        scan(store, phases="prefetch,prescreen,vectorized,gpu", strict=True)


@pytest.mark.parametrize("broken,expect", [("numba", "numpy"), ("numpy", "baseline")])
def test_each_step_of_the_chain(store, reference, monkeypatch, broken, expect):
    # a backend whose probe says it cannot run, as when its package is missing
    monkeypatch.setitem(registry._PROBED, broken, f"{broken} is not installed (test)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = scan(store, phases="prefetch,prescreen,vectorized", backend=broken)
    assert res.backend == expect
    assert any(f"{broken} is not installed" in str(w.message) for w in caught)
    assert results_match(reference, res) == []


def test_a_failing_kernel_falls_back(store, reference, monkeypatch):
    from technic_core.indicators.backends import numba_backend

    def boom(*a, **k):
        raise RuntimeError("kernel launch failed (test)")

    monkeypatch.setattr(numba_backend, "fused_indicators", boom)
    with pytest.warns(BackendFallback, match="kernel launch failed"):
        res = scan(store, phases="prefetch,prescreen,vectorized", backend="numba")
    assert res.backend == "numpy"
    assert results_match(reference, res) == []


def test_gpu_needs_the_vectorised_engine(store):
    with pytest.raises(ValueError, match="runs on the vectorised engine"):
        scan(store, phases="prefetch,gpu")
