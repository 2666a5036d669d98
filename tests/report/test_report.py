"""The report, built from a real (small) benchmark run, parses, embeds everything and renders."""

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from technic_core.bench import ladder
from technic_core.report.build import build_report

from ..helpers import make_store

ROOT = Path(__file__).resolve().parents[2]

# a real bench run feeds the report, and Chromium renders it: `pytest -m "not slow"` leaves it out of a quick run
pytestmark = pytest.mark.slow

# A tiny real asv suite: the same benchmark names the report reads, at tiny sizes.
SUITE = """
import numpy as np
from technic_core import indicators as ind
from technic_core.universe.generate import generate_universe

class FullSet:
    params = [["numpy", "talib"], [20, 60]]
    param_names = ["backend", "symbols"]
    def setup(self, backend, n):
        g = generate_universe(n, 120, 1)
        self.f = (g.high, g.low, g.close)
    def time_full_set(self, backend, n):
        h, lo, c = self.f
        ind.rsi(c, 14, backend=backend); ind.atr(h, lo, c, 14, backend=backend)

class Indicator:
    params = [["rsi", "sma"], ["numpy", "talib"], [60]]
    param_names = ["indicator", "backend", "symbols"]
    def setup(self, name, backend, n):
        self.c = generate_universe(n, 120, 2).close
    def time_indicator(self, name, backend, n):
        getattr(ind, name)(self.c, 14, backend=backend)

class BackendVsTALib:
    params = [["rsi"], ["numpy", "cupy"]]
    param_names = ["indicator", "backend"]
    def setup(self, name, backend):
        if backend == "cupy":
            raise NotImplementedError("no device here")
        c = generate_universe(30, 120, 3).close
        self.dev = float(np.nanmax(np.abs(ind.rsi(c, 14, backend=backend) - ind.rsi(c, 14, backend="talib"))))
    def track_max_deviation(self, name, backend):
        return self.dev
"""


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.refs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href") and v and not v.startswith("#"):
                self.refs.append(v)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    store = make_store(tmp / "store", 24, 260, seed=5)
    # no sweep: the indicator and growth charts come from the asv results below
    rep = ladder.run_ladder(store, repeat=1, sweep=False)
    bench = ladder.write_json(rep, tmp / "bench.json")
    (tmp / "suite").mkdir()
    (tmp / "suite" / "__init__.py").write_text("")
    (tmp / "suite" / "bench_indicators.py").write_text(SUITE)
    conf = json.loads(
        "\n".join(
            line
            for line in (ROOT / "asv.conf.json").read_text().splitlines()
            if not line.strip().startswith("//")
        )
    )
    conf.update(
        repo=str(ROOT),
        benchmark_dir=str(tmp / "suite"),
        results_dir=str(tmp / "results"),
        env_dir=str(tmp / "env"),
        html_dir=str(tmp / "html"),
    )
    (tmp / "asv.conf.json").write_text(json.dumps(conf))
    asv = [sys.executable, "-m", "asv"]
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp)}
    subprocess.run(
        [*asv, "machine", "--yes", "--machine", "testbox", "--config", str(tmp / "asv.conf.json")],
        check=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
    )
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    # --python=same saves results only under an explicit commit hash
    run = subprocess.run(
        [
            *asv,
            "run",
            "--python=same",
            "--quick",
            "--machine",
            "testbox",
            "--set-commit-hash",
            head,
            "--config",
            str(tmp / "asv.conf.json"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    out = build_report(tmp / "report.html", bench, tmp / "results")
    return out


def test_report_is_valid_self_contained_html_with_every_chart(built):
    text = built.read_text()
    parser = _Collect()
    parser.feed(text)
    parser.close()
    assert parser.tags[0] == "html" and "body" in parser.tags
    assert parser.refs == [], f"external references: {parser.refs}"
    assert "url(http" not in text and "@import" not in text and "https://" not in text
    assert "http://" not in text.replace("http://www.w3.org/", "")  # only the SVG/XLink namespaces
    for title in (
        "The phase ladder",
        "Measured against projected speedups",
        "Correctness against the baseline",
        "Per-indicator time by backend",
        "Growth with the universe",
        "History across commits",
    ):
        assert f"<h2>{title}</h2>" in text, title
    assert text.count("<svg") >= 5
    assert "no data" not in text.lower() and "asv's results" in text  # the asv charts were drawn
    # one commit measured: nothing compared, so no claim that nothing regressed
    assert "No regression flagged" not in text and "nothing compared yet" in text


def test_report_renders_in_headless_chromium(built, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (.ci/test installs it as root)")
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            built.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    import matplotlib.image as mpimg
    import numpy as np

    img = mpimg.imread(shot)
    colours = np.unique((img[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert img.shape[0] >= 2000 and len(colours) > 50, "the rendered report looks blank"


def test_deviation_table_lists_skipped_backends_instead_of_nan(built):
    text = built.read_text()
    section = text.split("<h2>Deviation from TA-Lib (asv)</h2>", 1)[1].split("<h2>", 1)[0]
    assert "<td>rsi</td><td>numpy</td>" in section
    assert "cupy</td>" not in section and "nan" not in section.lower()
    assert "not run on this machine: cupy" in section


def _sections(text: str) -> dict[str, str]:
    parts = text.split("<h2>")[1:]
    return {p.split("</h2>", 1)[0]: p.split("</h2>", 1)[1] for p in parts}


@pytest.fixture(scope="module")
def bench_only(tmp_path_factory):
    """The main job in small: a real technic bench (sample and sweeps), no asv results."""
    tmp = tmp_path_factory.mktemp("main")
    store = make_store(tmp / "store", 60, 270, seed=5)
    rep = ladder.run_ladder(store, repeat=2, sample=20)
    bench = ladder.write_json(rep, tmp / "bench.json")
    return rep, build_report(tmp / "report.html", bench, tmp / "no-asv-results").read_text()


def test_after_a_bench_run_every_section_is_filled(bench_only):
    rep, text = bench_only
    sections = _sections(text)
    assert list(sections) == [
        "The phase ladder",
        "Measured against projected speedups",
        "Correctness against the baseline",
        "Per-indicator time by backend",
        "Growth with the universe",
        "History across commits",
        "Regression gate: last verdicts",
    ]  # always shown since issue 20
    assert "no data" not in text.lower()
    for title in (
        "The phase ladder",
        "Measured against projected speedups",
        "Per-indicator time by backend",
        "Growth with the universe",
    ):
        assert "<svg" in sections[title], title
    assert "TA-Lib at its best" in sections["Per-indicator time by backend"]
    # history needs asv across commits: the section names the command, and claims nothing
    hist = sections["History across commits"]
    assert "<code>asv run --quick HEAD~5..HEAD</code>" in hist and "<svg" not in hist
    assert "No regression flagged" not in text


def test_every_measured_figure_has_its_spread_and_noise_is_marked(bench_only):
    rep, text = bench_only
    ladder_html = _sections(text)["The phase ladder"]
    rows = [r for r in ladder_html.split("<tr>")[2:]]
    ran = [s for s in rep.steps if s.status == "ran"]
    assert len([r for r in rows if "<small>(" in r]) == len(ran)  # wall and projection intervals
    for s in ran:
        row = next(r for r in rows if r.startswith(f"<td>{s.label}</td>"))
        assert row.count("<small>(") >= (2 if s.label == "baseline" else 4), row
        assert ("within noise" in row) == bool(s.within_noise)
    if any(s.within_noise for s in ran):
        assert "within noise" in _sections(text)["Measured against projected speedups"]
    ray = next(s for s in rep.steps if s.label == "+ray")
    if ray.status == "ran":
        row = next(r for r in rows if r.startswith("<td>+ray</td>"))
        assert f"<td>{ray.start_s:.1f}</td><td>{ray.stop_s:.1f}</td>" in row


def test_header_is_tables_and_what_ran_is_words(bench_only):
    rep, text = bench_only
    head = text.split("<h2>", 1)[0]
    assert "<h3>Machine</h3>" in head and "<h3>Commit</h3>" in head and "<h3>This run</h3>" in head
    assert "{'" not in text and "': " not in text  # no Python dict reprs anywhere
    cache = next(s for s in rep.steps if s.label == "+cache")
    if cache.status == "ran":
        assert "Redis cache: " in cache.path and "{" not in cache.path
