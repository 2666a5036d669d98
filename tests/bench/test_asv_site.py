"""After the main job, `asv publish` and `asv preview` work: real asv, a tiny suite, a temp site."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from technic_core.bench import asv_site

ROOT = Path(__file__).resolve().parents[2]

SUITE = """
class Sizes:
    params = [[1, 2]]
    param_names = ["n"]
    def time_sum(self, n):
        sum(range(n))
"""


@pytest.fixture()
def site(tmp_path):
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "__init__.py").write_text("")
    (tmp_path / "suite" / "bench_tiny.py").write_text(SUITE)
    conf = asv_site.read_config(ROOT / "asv.conf.json")
    conf.update(
        repo=str(ROOT),
        benchmark_dir=str(tmp_path / "suite"),
        results_dir=str(tmp_path / "results"),
        env_dir=str(tmp_path / "env"),
        html_dir=str(tmp_path / "html"),
    )
    (tmp_path / "asv.conf.json").write_text(json.dumps(conf))
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp_path)}
    return tmp_path, env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_publish_fails_on_a_fresh_checkout_and_works_after_prepare(site):
    tmp, env = site
    asv = [sys.executable, "-m", "asv"]
    conf = ["--config", str(tmp / "asv.conf.json")]
    before = subprocess.run(
        [*asv, "publish", *conf], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert before.returncode != 0 and "benchmarks.json" in before.stdout + before.stderr

    html = asv_site.prepare(tmp / "asv.conf.json", machine="testbox", cwd=ROOT, env=env)
    assert html == (tmp / "html").resolve() and (html / "index.html").is_file()
    listed = json.loads((html / "index.json").read_text())["benchmarks"]
    assert "bench_tiny.Sizes.time_sum" in listed
    # the user's own `asv publish` now works, and `asv preview` serves the site
    again = subprocess.run(
        [*asv, "publish", *conf], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stdout + again.stderr
    port = _free_port()
    server = subprocess.Popen(
        [*asv, "preview", "--port", str(port), *conf],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline, page = time.monotonic() + 60, None
        while time.monotonic() < deadline and page is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.json", timeout=2) as r:
                    page = json.loads(r.read())
            except OSError:
                time.sleep(0.3)
        assert page is not None, "asv preview did not answer within 60 s"
        assert "bench_tiny.Sizes.time_sum" in page["benchmarks"]
    finally:
        server.terminate()
        server.wait(10)


def test_module_entry_point_reports_a_failure_in_one_line(tmp_path, capsys):
    (tmp_path / "asv.conf.json").write_text(
        '{"version": 1, "repo": "/nonexistent", "benchmark_dir": "b"}'
    )
    assert asv_site.main(["--config", str(tmp_path / "asv.conf.json")]) == 1
    assert capsys.readouterr().err.startswith("[asv] could not prepare asv's site:")
