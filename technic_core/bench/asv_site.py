"""Make ``asv publish`` and ``asv preview`` work in a checkout, right after the main job.

``asv publish`` refuses to run until asv knows the machine (``asv machine``,
which writes ``~/.asv-machine.json``) and the suite's benchmark list
(``.asv/results/benchmarks.json``, written by a discovery pass).  A fresh
clone has neither, so the main job does both (about a second: discovery
only imports the suite, it measures nothing) and publishes.  The site then
lists every benchmark; results appear once asv has measured some commits
(``asv run --quick HEAD~5..HEAD``, or this checkout alone with
``asv run --python=same --quick --set-commit-hash $(git rev-parse HEAD)``).

Run as ``python -m technic_core.bench.asv_site [--config asv.conf.json]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

TIMEOUT_S = 300


class AsvSiteError(RuntimeError):
    """asv refused one of the steps; the message has its output."""


def _asv(args: list[str], config: Path | None, cwd: Path | None, env: dict | None) -> str:
    cmd = [sys.executable, "-m", "asv", *args, *(["--config", str(config)] if config else [])]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    if proc.returncode != 0:
        raise AsvSiteError(
            f"`asv {' '.join(args)}` exited {proc.returncode}: "
            f"{(proc.stdout + proc.stderr).strip()[-1500:]}"
        )
    return proc.stdout


def read_config(config: Path) -> dict:
    """asv.conf.json (asv allows // comments in it)."""
    lines = [ln for ln in config.read_text().splitlines() if not ln.strip().startswith("//")]
    return json.loads("\n".join(lines))


def prepare(
    config: Path | None = None,
    *,
    machine: str | None = None,
    cwd: Path | None = None,
    env: dict | None = None,
    publish: bool = True,
) -> Path:
    """Machine file (if asv has none for this machine), benchmark list, then ``asv publish``.

    Returns the published site's directory.
    """
    root = Path(cwd or Path.cwd())
    conf_path = Path(config) if config else root / "asv.conf.json"
    conf = read_config(conf_path)
    # `asv machine --yes` keeps an existing entry and adds this machine if missing
    _asv(["machine", "--yes", *(["--machine", machine] if machine else [])], config, cwd, env)
    _asv(
        [
            "run",
            "--python=same",
            "--bench",
            "just-discover",
            *(["--machine", machine] if machine else []),
        ],
        config,
        cwd,
        env,
    )
    results = (conf_path.parent / conf.get("results_dir", "results")).resolve()
    if not (results / "benchmarks.json").is_file():
        raise AsvSiteError(f"asv's discovery wrote no {results / 'benchmarks.json'}")
    html = (conf_path.parent / conf.get("html_dir", "html")).resolve()
    if publish:
        _asv(["publish"], config, cwd, env)
    return html


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m technic_core.bench.asv_site",
        description="make `asv publish` and `asv preview` work in this checkout",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--config", default="asv.conf.json", help="asv's configuration file")
    args = p.parse_args(argv)
    try:
        html = prepare(Path(args.config))
    except (AsvSiteError, OSError, subprocess.SubprocessError, ValueError) as exc:
        print(f"[asv] could not prepare asv's site: {exc}", file=sys.stderr)
        return 1
    print(
        f"[asv] asv's site published to {html}: `asv preview` serves it; `asv publish` refreshes it"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
