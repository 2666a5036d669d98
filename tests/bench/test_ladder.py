"""`technic bench` on a tiny universe: a complete, consistent ladder table and JSON."""

import json

import pytest

from technic_core.bench import ladder
from technic_core.cli import main
from technic_core.scan import LADDER, PHASES
from technic_core.scan.result import FULL_UNIVERSE

from ..helpers import make_store

LABELS = ["baseline", *(f"+{p}" for p in LADDER)]
STATUSES = {"ran", "not built", "unavailable", "failed"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("u") / "store", n_symbols=24, n_bars=270)


@pytest.fixture(scope="module")
def report(store):
    # TA-Lib as the vectorised engine: a backend that runs wherever the tests run.
    pytest.importorskip("talib")
    return ladder.run_ladder(store, repeat=2, backend="talib", sweep=False)


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    pytest.importorskip("talib")
    store = make_store(tmp_path_factory.mktemp("u2") / "store", n_symbols=60, n_bars=270, seed=4)
    return ladder.run_ladder(store, repeat=2, backend="talib", sample=20, sweep=False)


@pytest.mark.slow
def test_every_step_is_listed_in_ladder_order(report):
    assert [s.label for s in report.steps] == LABELS
    assert {s.status for s in report.steps} <= STATUSES
    for s in report.steps[1:]:
        name = s.label[1:]
        assert s.claim == PHASES[name].claim
        if not PHASES[name].built:
            assert s.status == "not built" and s.wall_s is None and s.why


@pytest.mark.slow
def test_steps_that_ran_have_consistent_figures(report):
    ran = [s for s in report.steps if s.status == "ran"]
    assert ran, "nothing ran: " + "; ".join(f"{s.label}: {s.why}" for s in report.steps)
    prev = vectorized = None
    for s in ran:
        assert len(s.walls) == 2 and s.wall_s == pytest.approx(
            sorted(s.walls)[0] / 2 + sorted(s.walls)[1] / 2
        )
        assert s.n_symbols == 24
        assert s.seconds_per_symbol == pytest.approx(s.wall_s / 24)
        assert s.projected_full_s == pytest.approx(s.seconds_per_symbol * FULL_UNIVERSE)
        if "gpu" in s.phases:
            assert s.backend == "cupy"  # never a CPU figure on the GPU's row
        elif "cache" in s.phases:
            assert s.backend == "numba-state"  # the cache computes with its state kernel
        else:
            assert s.backend == ("talib" if "vectorized" in s.phases else "baseline")
        assert s.path
        sibling = s.label.lstrip("+") in ("cache", "ray", "gpu")
        assert not (
            sibling and any(p in s.phases for p in ("cache", "ray", "gpu") if p != s.label[1:])
        )
        ref = vectorized if sibling else prev
        if ref is not None:
            assert s.prev_label == ref.label
            assert s.speedup_prev == pytest.approx(ref.wall_s / s.wall_s)
        prev = s
        if s.label == "+vectorized":
            vectorized = s
    base = report.steps[0]
    for s in ran:
        if base.status == "ran":
            assert s.matched is True, f"{s.label}: {s.differences}"
            if s is not base:
                assert s.speedup_base == pytest.approx(base.wall_s / s.wall_s)
        else:
            assert s.matched is None and s.speedup_base is None
    # the cumulative claim is the product of the plan's step claims
    assert report.steps[3].claim_cumulative == pytest.approx(2.0 * 1.5 * 2.0)


@pytest.mark.slow
def test_table_and_json_say_the_same(report, tmp_path):
    text = ladder.format_report(report)
    for s in report.steps:
        assert s.label in text
        if s.status != "ran":
            assert s.status.upper() in text
    path = ladder.write_json(report, tmp_path / "b.json")
    data = json.loads(path.read_text())
    assert data["kind"] == "technic-bench-ladder" and data["n_symbols"] == 24
    assert [s["label"] for s in data["steps"]] == LABELS
    assert [s["wall_s"] for s in data["steps"]] == [s.wall_s for s in report.steps]
    assert data["machine"]["cpu_count"] >= 1 and data["date"]
    assert "commit" in data["commit"]


@pytest.mark.slow
def test_cli_prints_the_table_and_writes_json(store, tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(
        ["bench", "--universe", str(store), "--json", str(out), "--quiet", "--symbols", "15"]
    )
    text = capsys.readouterr().out
    assert code in (0, 1)
    assert "+vectorized" in text and "proj 5277" in text and f"wrote {out}" in text
    assert json.loads(out.read_text())["n_symbols"] == 15


@pytest.mark.slow
def test_gpu_step_without_a_device_is_unavailable_not_a_cpu_run(report):
    from technic_core.indicators import unavailable_reason

    gpu = report.steps[-1]
    assert gpu.label == "+gpu"
    if PHASES["gpu"].built and unavailable_reason("cupy") is not None:
        assert gpu.status == "unavailable" and "cupy" in gpu.why


def test_bad_repeat_and_sample_are_refused(store):
    with pytest.raises(ValueError, match="repeat"):
        ladder.run_ladder(store, repeat=0)
    with pytest.raises(ValueError, match="sample"):
        ladder.run_ladder(store, sample=0)


@pytest.mark.slow
def test_per_symbol_steps_run_on_the_sample_and_are_projected(sampled):
    assert sampled.mode == "sample" and sampled.sample["size"] == 20
    assert sampled.sample["universe_size"] == 60 and len(sampled.sample["symbols"]) == 20
    ran = [s for s in sampled.steps if s.status == "ran"]
    assert [s.label for s in ran][:4] == ["baseline", "+prefetch", "+prescreen", "+vectorized"]
    for s in ran:
        per_symbol = s.label in ("baseline", "+prefetch", "+prescreen")
        assert s.runs_on == ("sample" if per_symbol else "all")
        assert s.measured_symbols == (20 if per_symbol else 60) and s.n_symbols == 60
        assert len(s.walls) == 2
        assert s.wall_lo <= s.wall_s <= s.wall_hi
        if per_symbol:
            # projected to 60 symbols from 20: each run's projection well above its own wall
            assert len(s.projections) == 2 and "bootstrap" in s.interval
            assert min(s.projections) > 1.5 * min(s.walls)
        else:
            assert (s.wall_lo, s.wall_hi) == (
                min(s.walls),
                max(s.walls),
            ) and "min-max" in s.interval
        assert s.projected_lo == pytest.approx(s.wall_lo * FULL_UNIVERSE / 60)
        # every step's answer compared with the baseline's on the same 20 symbols
        assert s.matched is True and s.checked_on == "the 20-symbol sample", s.differences
        if s.speedup_prev is not None:
            assert s.speedup_prev_lo <= s.speedup_prev <= s.speedup_prev_hi
            ref = next(r for r in ran if r.label == s.prev_label)
            overlap = ref.wall_lo <= s.wall_hi and s.wall_lo <= ref.wall_hi
            assert s.within_noise == overlap
    text = ladder.format_report(sampled)
    assert "sample: 20 of 60 symbols" in text and "within noise: the speedup" in text
    for s in ran:
        if s.within_noise:
            assert any(
                line.startswith(s.label) and "within noise" in line for line in text.splitlines()
            )


@pytest.mark.slow
def test_ray_start_and_stop_are_their_own_figures(sampled):
    ray = next(s for s in sampled.steps if s.label == "+ray")
    if ray.status != "ran":
        pytest.skip(f"Ray did not run here: {ray.why}")
    assert ray.start_s > 0 and ray.stop_s > 0
    assert ray.info["ray_start_s"] + ray.info["ray_warmup_s"] == pytest.approx(
        ray.start_s, abs=2e-3
    )
    assert ray.info["ray_shutdown_s"] == pytest.approx(ray.stop_s, abs=2e-3)
    assert "already connected" in ray.info["ray_cluster"]  # the timed scans did not start Ray
    assert "start and stop timed apart" in ray.path


def test_a_step_is_unavailable_by_the_exception_class_not_its_name():
    from technic_core.indicators import BackendUnavailable

    class Unrelated(RuntimeError):
        pass

    Unrelated.__name__ = "BackendUnavailable"  # a look-alike: a real failure, not "unavailable"
    assert ladder._classify_error(BackendUnavailable("no CUDA device"))[0] == "unavailable"
    assert ladder._classify_error(Unrelated("kernel crashed"))[0] == "failed"
