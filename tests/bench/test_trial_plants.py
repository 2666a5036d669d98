"""Every planted change of the gate trials still applies to this tree (code moves under the plants)."""

import shutil
from pathlib import Path

import pytest

from technic_core.bench.gate import trials

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", [k for k in trials.KINDS if k != "self"])
def test_the_plant_applies_and_changes_the_named_files(kind, tmp_path):
    shutil.copytree(ROOT / "technic_core", tmp_path / "technic_core")
    before = {rel: (tmp_path / rel).read_text() for rel, _, _ in trials.CHANGES[kind]}
    trials.apply_change(tmp_path, kind, run=3)
    for rel, text in before.items():
        after = (tmp_path / rel).read_text()
        assert after != text
        compile(after, rel, "exec")  # still Python


def test_a_plant_whose_text_moved_is_refused(tmp_path):
    shutil.copytree(ROOT / "technic_core", tmp_path / "technic_core")
    rel = trials.CHANGES["state"][0][0]
    (tmp_path / rel).write_text("# the loop is gone\n")
    with pytest.raises(ValueError, match="update trials.CHANGES"):
        trials.apply_change(tmp_path, "state", run=1)
