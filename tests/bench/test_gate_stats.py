"""The gate's verdict on synthetic timing samples: the decision logic alone."""

import numpy as np
import pytest

from technic_core.bench.gate.stats import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REGRESSION,
    compare_entry,
    compare_samples,
    decide,
)

RNG = np.random.default_rng(5)


def noisy(mean: float, n: int = 20, cv: float = 0.03) -> list[float]:
    return list(mean * (1 + cv * RNG.standard_normal(n)))


def entry(name, base, head, errors=None):
    return {
        "name": name,
        "cpu_min": {"base": base, "head": head},
        "errors": {"base": None, "head": None, **(errors or {})},
    }


def test_same_code_is_same():
    row = compare_samples("k", noisy(1e-3), noisy(1e-3), factor=1.2)
    assert row.status == "same" and 0.95 < row.ratio < 1.05 and row.rounds == 20
    assert decide([row]) == EXIT_OK


def test_thirty_percent_slower_is_a_regression():
    base = noisy(1e-3)
    head = [b * 1.3 for b in noisy(1.0)]
    row = compare_samples("k", base, [h * 1e-3 for h in head], factor=1.2)
    assert row.status == "regression" and row.ratio > 1.2 and row.agree >= 0.6
    assert decide([row]) == EXIT_REGRESSION


def test_faster_is_reported_but_passes():
    row = compare_samples("k", noisy(1e-3), noisy(0.6e-3), factor=1.2)
    assert row.status == "improved" and decide([row]) == EXIT_OK


def test_a_few_slow_rounds_do_not_fail_the_build():
    base = noisy(1e-3)
    head = list(base)
    for i in (2, 7, 11):  # a neighbour's burst hits three head samples
        head[i] *= 3.0
    row = compare_samples("k", base, head, factor=1.2)
    assert row.status == "same" and row.ratio < 1.05


def test_median_past_factor_without_most_rounds_agreeing_is_not_a_regression():
    base = [1.0] * 20
    head = [1.0, 1.5] * 10  # median 1.25, yet only half the rounds are slower
    row = compare_samples("k", base, head, factor=1.2)
    assert row.ratio == pytest.approx(1.25) and row.status == "same"
    assert compare_samples("k", base, head, factor=1.2, min_agree=0.5).status == "regression"


def test_drift_shared_by_both_sides_cancels():
    drift = np.linspace(1.0, 2.0, 20)  # the machine gets twice as slow during the run
    base = list(1e-3 * drift)
    head = list(1.02e-3 * drift)
    row = compare_samples("k", base, head, factor=1.2)
    assert row.status == "same" and row.ratio == pytest.approx(1.02)


def test_head_failure_is_exit_2_and_outranks_a_regression():
    rows = [
        compare_entry(entry("a", [1.0] * 5, [], {"head": "ValueError: boom"}), 1.2),
        compare_samples("b", [1.0] * 5, [2.0] * 5, 1.2),
    ]
    assert rows[0].status == "failed" and "boom" in rows[0].note
    assert decide(rows) == EXIT_FAILED


def test_missing_on_both_sides_or_new_in_head_is_not_a_failure():
    na = compare_entry(
        entry("f", [], [], {"head": "n/a: no fused path", "base": "n/a: no fused path"}), 1.2
    )
    new = compare_entry(entry("g", [], [1.0] * 5, {"base": "n/a: module not in this commit"}), 1.2)
    assert (na.status, new.status) == ("n/a", "new")
    assert decide([na, new]) == EXIT_OK


def test_a_head_that_can_no_longer_run_what_the_base_ran_fails():
    lost = compare_entry(entry("f", [1.0] * 5, [], {"head": "n/a: Ray cannot start here"}), 1.2)
    assert lost.status == "failed" and "ran on base" in lost.note and "Ray" in lost.note
    assert decide([lost]) == EXIT_FAILED


def test_head_that_does_not_load_is_exit_2():
    assert decide([], load_errors={"head": "SyntaxError"}) == EXIT_FAILED
    assert decide([], load_errors={"base": "SyntaxError"}) == EXIT_OK


def test_factor_must_allow_a_slowdown():
    with pytest.raises(ValueError, match="factor"):
        compare_samples("k", [1.0], [1.0], factor=1.0)


def scaling_entry(one_b, all_b, one_h, all_h, par_b, par_h, errors=None):
    return {
        "name": "s",
        "kind": "scaling",
        "errors": {"base": None, "head": None, **(errors or {})},
        "one": {"base": one_b, "head": one_h},
        "all": {"base": all_b, "head": all_h},
        "parallelism": {"base": par_b, "head": par_h},
    }


def test_a_lost_parallel_speedup_is_a_regression():
    from technic_core.bench.gate.stats import compare_scaling

    # base: 1.8x faster on two cores and work spread over two threads; head: neither
    rows = compare_scaling(
        scaling_entry(noisy(1.8), noisy(1.0), noisy(1.8), noisy(1.8), noisy(1.9), noisy(1.0)),
        factor=1.25,
    )
    kinds = {r.kind: r for r in rows}
    assert set(kinds) == {"speedup", "parallelism"}
    assert kinds["speedup"].status == "regression" and kinds["speedup"].ratio > 1.6
    assert kinds["parallelism"].status == "regression" and kinds["parallelism"].head_s < 1.1
    assert decide(rows) == EXIT_REGRESSION


def test_no_speedup_to_lose_on_a_busy_machine_is_not_a_regression():
    from technic_core.bench.gate.stats import compare_scaling

    # a neighbour holds the second core: the base shows no wall-time speedup, so losing
    # "it" means nothing; the per-thread CPU spread is the same on both sides
    rows = compare_scaling(
        scaling_entry(noisy(1.0), noisy(1.05), noisy(1.0), noisy(1.4), noisy(1.9), noisy(1.9)),
        factor=1.25,
    )
    kinds = {r.kind: r for r in rows}
    assert kinds["speedup"].status == "same" and "none to lose" in kinds["speedup"].note
    assert kinds["parallelism"].status == "same"
    assert decide(rows) == EXIT_OK


def test_removed_and_new_benchmarks_are_reported_not_failed():
    removed = compare_entry({"name": "r", "only": "base", "errors": {}}, 1.2)
    new = compare_entry({"name": "n", "only": "head", "errors": {}}, 1.2)
    assert (removed.status, new.status) == ("removed", "new")
    assert decide([removed, new]) == EXIT_OK


def test_plan_times_the_tagged_benchmarks_both_sides_have():
    from technic_core.bench.gate.gate import plan

    base = {
        "a": {"gate": True, "scaling": False},
        "b": {"gate": True, "scaling": True},
        "gone": {"gate": True, "scaling": False},
        "untagged": {"gate": False, "scaling": False},
    }
    head = {
        "a": {"gate": True, "scaling": False},
        "b": {"gate": True, "scaling": True},
        "fresh": {"gate": True, "scaling": False},
        "untagged": {"gate": False, "scaling": False},
    }
    both, only, scaling = plan({"base": base, "head": head}, everything=False, select=None)
    assert both == ["a", "b"] and scaling == ["b"]
    assert {o["name"]: o["only"] for o in only} == {"fresh": "head", "gone": "base"}
    both, _, _ = plan({"base": base, "head": head}, everything=True, select=None)
    assert "untagged" in both
    both, only, scaling = plan({"base": base, "head": head}, everything=False, select=["b"])
    assert both == ["b"] and only == [] and scaling == ["b"]


def test_a_flag_stands_only_if_fresh_processes_confirm_it():
    from technic_core.bench.gate.gate import confirm_rows

    first = [
        compare_samples("k", [1.0] * 9, [1.4] * 9, 1.2),
        compare_samples("j", [1.0] * 9, [1.5] * 9, 1.2),
        compare_samples("ok", [1.0] * 9, [1.0] * 9, 1.2),
    ]
    second = [
        compare_samples("k", [1.0] * 9, [1.02] * 9, 1.2),
        compare_samples("j", [1.0] * 9, [1.45] * 9, 1.2),
    ]
    rows = {r.name: r for r in confirm_rows(first, second)}
    assert rows["k"].status == "same" and "not confirmed" in rows["k"].note
    assert rows["j"].status == "regression" and "confirmed" in rows["j"].note
    assert rows["ok"].status == "same"


# Samples recorded by the trials (2026-12-02, commit efed438, load ~3.8): the full set's
# all-core samples with the numba backend forced onto one thread (input validation still on
# the pool, so the head is not down to 1.0), and the null run whose row read highest.
THREADS_PLANT = dict(
    one_b=[0.13, 0.1156, 0.097, 0.1337, 0.1004],
    all_b=[0.1141, 0.1065, 0.1154, 0.1168, 0.1022],
    one_h=[0.1287, 0.1399, 0.075, 0.0831, 0.092],
    all_h=[0.1063, 0.1683, 0.0843, 0.1249, 0.1136],
    par_b=[1.7579, 2.104, 1.7667, 1.816, 1.6634],
    par_h=[1.525, 1.5686, 1.48, 1.5134, 1.5249],
)
NULL_HIGHEST = dict(
    one_b=[0.0787, 0.1372, 0.1241, 0.1083, 0.0983, 0.1036],
    all_b=[0.1035, 0.1259, 0.1051, 0.1124, 0.1159, 0.1271],
    one_h=[0.0842, 0.0814, 0.1248, 0.0799, 0.1112, 0.0771],
    all_h=[0.1003, 0.1058, 0.1193, 0.1319, 0.1233, 0.1188],
    par_b=[2.1061, 2.142, 1.8907, 2.0399, 2.139, 2.0569],
    par_h=[2.0412, 2.0898, 1.9431, 1.8728, 1.8741, 1.7896],
)


def test_the_gates_parallelism_factor_separates_the_trials_plant_from_their_noise():
    from technic_core.bench.gate.gate import SCALING_FACTOR, SPEEDUP_FACTOR
    from technic_core.bench.gate.stats import compare_scaling

    def parallelism(samples):
        rows = compare_scaling(
            scaling_entry(*samples.values()), SCALING_FACTOR, speedup_factor=SPEEDUP_FACTOR
        )
        return {r.kind: r for r in rows}

    plant, null = parallelism(THREADS_PLANT), parallelism(NULL_HIGHEST)
    assert plant["parallelism"].status == "regression", plant["parallelism"]
    assert null["parallelism"].status == "same" and null["speedup"].status == "same"
    # the factor the gate had before the trials missed this plant
    old = {r.kind: r for r in compare_scaling(scaling_entry(*THREADS_PLANT.values()), 1.25)}
    assert old["parallelism"].status == "same"


def test_trial_runs_of_two_commits_keep_their_own_json(tmp_path):
    from technic_core.bench.gate.trials import run_json, saved_run

    a, b = run_json(tmp_path, "self", 0, "a" * 40), run_json(tmp_path, "self", 0, "b" * 40)
    assert a != b and a.name == f"self-{'a' * 12}-00.json"
    old = tmp_path / "runs" / "null-03.json"
    old.parent.mkdir(parents=True)
    old.write_text("{}")
    assert saved_run(tmp_path, {"kind": "null", "run": 3, "rev": "c" * 12}) == old
