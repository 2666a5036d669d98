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
    return ladder.run_ladder(store, repeat=2, backend="talib")


def test_every_step_is_listed_in_ladder_order(report):
    assert [s.label for s in report.steps] == LABELS
    assert {s.status for s in report.steps} <= STATUSES
    for s in report.steps[1:]:
        name = s.label[1:]
        assert s.claim == PHASES[name].claim
        if not PHASES[name].built:
            assert s.status == "not built" and s.wall_s is None and s.why


def test_steps_that_ran_have_consistent_figures(report):
    ran = [s for s in report.steps if s.status == "ran"]
    assert ran, "nothing ran: " + "; ".join(f"{s.label}: {s.why}" for s in report.steps)
    prev = vectorized = None
    for s in ran:
        assert len(s.walls) == 2 and s.wall_s == pytest.approx(sorted(s.walls)[0] / 2 + sorted(s.walls)[1] / 2)
        assert s.n_symbols == 24
        assert s.seconds_per_symbol == pytest.approx(s.wall_s / 24)
        assert s.projected_full_s == pytest.approx(s.seconds_per_symbol * FULL_UNIVERSE)
        if "gpu" in s.phases:
            assert s.backend == "cupy"      # never a CPU figure on the GPU's row
        elif "cache" in s.phases:
            assert s.backend == "numba-state"   # the cache computes with its state kernel
        else:
            assert s.backend == ("talib" if "vectorized" in s.phases else "baseline")
        assert s.path
        sibling = s.label.lstrip("+") in ("cache", "ray", "gpu")
        assert not (sibling and any(p in s.phases for p in ("cache", "ray", "gpu") if p != s.label[1:]))
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


def test_cli_prints_the_table_and_writes_json(store, tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["bench", "--universe", str(store), "--json", str(out), "--quiet", "--symbols", "15"])
    text = capsys.readouterr().out
    assert code in (0, 1)
    assert "+vectorized" in text and "proj 5277" in text and f"wrote {out}" in text
    assert json.loads(out.read_text())["n_symbols"] == 15


def test_gpu_step_without_a_device_is_unavailable_not_a_cpu_run(report):
    from technic_core.indicators import unavailable_reason
    gpu = report.steps[-1]
    assert gpu.label == "+gpu"
    if PHASES["gpu"].built and unavailable_reason("cupy") is not None:
        assert gpu.status == "unavailable" and "cupy" in gpu.why


def test_bad_repeat_is_refused(store):
    with pytest.raises(ValueError, match="repeat"):
        ladder.run_ladder(store, repeat=0)
