"""Progress reaches any log: plain lines off a terminal, a tqdm bar on one."""

import io
import os
import subprocess
import sys

import pytest

from technic_core.progress import LineProgress, duration, every_s, track

from .helpers import make_store


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_lines_every_interval_with_count_rate_and_eta():
    out, clock = io.StringIO(), Clock()
    bar = LineProgress(range(1000), desc="scan", unit="sym", stream=out, every=5.0, clock=clock)
    for _ in bar:
        clock.t += 0.01  # 10 ms a symbol: 100 sym/s, a line every 500 symbols
    lines = out.getvalue().splitlines()
    assert lines == [
        "scan: 500/1,000 sym (50%), 100.0 sym/s, ETA 5.0s",
        "scan: 1,000/1,000 sym (100%), 100.0 sym/s, ETA 0.0s",
        "scan: 1,000 sym in 10.0s (100.0 sym/s)",
    ]


def test_a_short_task_writes_nothing_and_update_works_without_iterating():
    out, clock = io.StringIO(), Clock()
    bar = LineProgress(range(50), desc="fast", stream=out, every=5.0, clock=clock)
    for _ in bar:
        clock.t += 0.01
    assert out.getvalue() == ""
    # the Ray engine's use: a total from len(), then update()/close()
    out2 = io.StringIO()
    bar = LineProgress(range(4), desc="blocks", unit="block", stream=out2, every=1.0, clock=clock)
    for _ in range(4):
        clock.t += 2.0
        bar.update(1)
    bar.close()
    bar.close()
    lines = out2.getvalue().splitlines()
    assert lines[0] == "blocks: 1/4 block (25%), 0.5 block/s, ETA 6.0s"
    assert lines[-1] == "blocks: 4 block in 8.0s (0.5 block/s)" and len(lines) == 5


def test_terminal_gets_tqdm_anything_else_plain_lines():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    from tqdm import tqdm

    assert isinstance(track(range(3), "x", stream=Tty()), tqdm)
    assert isinstance(track(range(3), "x", stream=io.StringIO()), LineProgress)


def test_interval_from_the_environment(monkeypatch):
    monkeypatch.setenv("TECHNIC_PROGRESS_S", "0.5")
    assert every_s() == 0.5
    monkeypatch.setenv("TECHNIC_PROGRESS_S", "soon")
    with pytest.raises(ValueError, match="TECHNIC_PROGRESS_S"):
        every_s()
    assert duration(75) == "1m15s" and duration(7300) == "2h01m"


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ["scan", "--phases", "baseline"],
        ["bench", "--sample", "40", "--repeat", "1", "--no-sweep", "--json", "-"],
    ],
)
def test_commands_piped_to_a_log_print_progress_lines_and_no_escape_codes(tmp_path, argv):
    store = make_store(tmp_path / "u", n_symbols=60, n_bars=270, seed=2)
    env = dict(os.environ, TECHNIC_PROGRESS_S="0.05", TECHNIC_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "technic_core", *argv, "--universe", str(store)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    progress = [ln for ln in lines if " sym (" in ln and " sym/s" in ln and "ETA" in ln]
    assert progress, proc.stderr[-2000:]
    assert any(ln.endswith("sym/s)") and " sym in " in ln for ln in lines)
    assert "\x1b" not in proc.stdout + proc.stderr and "\r" not in proc.stderr
