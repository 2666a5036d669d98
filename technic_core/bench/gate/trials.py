"""Measure the gate itself: false alarms against changes that slow nothing, catches of planted slowdowns.

    python -m technic_core.bench.gate.trials run --runs 10            # unattended; resumable
    python -m technic_core.bench.gate.trials summary                  # the table, from the file
    python -m technic_core.bench.gate.trials noise                    # per benchmark, self/null ratios
    python -m technic_core.bench.gate.trials replay --factor 1.25     # re-decide the saved samples

Each run is one ``technic gate`` process on a scratch clone of the repository
(``git clone --shared``, so nothing is extracted or compiled before it, as on
CI's clean clone), base = the commit under trial, head = that commit with one
change applied by text substitution and committed:

    self     nothing (the commit against itself)
    null     a comment in the kernels module and a reordered import (new text each run)
    kernel   the numba RSI kernel does 30% more work (its block loop again on 30% of columns)
    state    the state advance does 30% more work (30% of the symbols advanced again, in place)
    http     the HTTP client's response parsing does 30% more work (30% of responses parsed twice)
    threads  the numba backend forced onto one thread (THREADS = 1)

Kinds are taken in turns, so that each sees the same spread of machine load.
Every run appends one line to ``OUT/trials.jsonl`` (verdict, what was flagged
before and after confirmation, the planted benchmark's ratio, seconds, load)
and keeps the gate's whole JSON under ``OUT/runs/``; ``touch OUT/STOP`` ends
the trial after the current run.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .gate import SCALING_FACTOR, SPEEDUP_FACTOR, rows_from
from .stats import decide

OUT = Path("reports/gate-trials")
KERNELS = "technic_core/indicators/kernels/numba_kernels.py"
BACKEND = "technic_core/indicators/backends/numba_backend.py"
STATE = "technic_core/indicators/kernels/state_step.py"
HTTP = "technic_core/sources/http_client.py"

_RSI_DEF = "def rsi(x, p, starts, out, col0, col1, width):\n"
_ADVANCE_LOOP = """    for g0 in range(0, groups, CHUNK):
        _chunk(
            S,
            which,
            starts,
            lengths,
            step,
            g0,
            min(groups, g0 + CHUNK),
            lay,
            sma,
            ema,
            fp,
            inv,
            o,
            h,
            lw,
            c,
            v,
        )
"""
_DECODE = """    return json.loads(body)
"""

# kind -> [(file, old, new)]; ``{run}`` in new is the run's number.
CHANGES: dict[str, list[tuple[str, str, str]]] = {
    "self": [],
    "null": [
        (
            KERNELS,
            "\nimport numpy as np\n",
            "\n# trial {run}: a comment that changes nothing but the file's text and line numbers\n"
            "import numpy as np\n",
        ),
        (
            BACKEND,
            "from ..kernels import numba_kernels as K\nfrom . import _fused\n",
            "from . import _fused\nfrom ..kernels import numba_kernels as K\n",
        ),
    ],
    "kernel": [
        (
            KERNELS,
            _RSI_DEF,
            _RSI_DEF + "    _rsi_blocks(x, p, starts, out, col0, col1, width)\n"
            "    _rsi_blocks(x, p, starts, out, col0, col0 + (col1 - col0) * 3 // 10, width)  # planted\n"
            "\n\n@njit(**_JIT)\ndef _rsi_blocks(x, p, starts, out, col0, col1, width):\n",
        ),
    ],
    "state": [
        (
            STATE,
            _ADVANCE_LOOP,
            _ADVANCE_LOOP
            # 30% more work and no more: those symbols advance by the bar again, in place (a
            # scratch copy of the whole state, as before, cost more than the advance itself)
            + """    m = groups * 3 // 10   # planted: 30% of the symbols advanced again
    for g0 in range(0, m, CHUNK):
        _chunk(S, which, starts, lengths, step, g0, min(m, g0 + CHUNK), lay, sma, ema, fp, inv,
               o, h, lw, c, v)
""",
        ),
    ],
    "http": [
        (
            HTTP,
            _DECODE,
            "    _PLANT[0] += 1\n"
            "    if _PLANT[0] % 10 < 3:  # planted: 3 responses in 10 parsed twice\n"
            "        json.loads(body)\n" + _DECODE + "\n\n_PLANT = [0]\n",
        ),
        (
            HTTP,
            "        rows: list = []\n",
            "        if not getattr(self, '_planted', False):  # planted: the frame built again\n"
            "            self._planted = True                   # from 30% of the sessions\n"
            "            k = len(docs) * 3 // 10\n"
            "            self.grouped_frame(sessions[:k], docs[:k], symbols)\n"
            "            self._planted = False\n"
            "        rows: list = []\n",
        ),
    ],
    "threads": [
        (BACKEND, "THREADS = _threads.THREADS", "THREADS = 1"),
    ],
}
# What a caught plant names (a substring of a regression's name).
TARGETS = {
    "kernel": ["Kernel.time_kernel(rsi, numba", "Indicator.time_indicator(rsi, numba"],
    "state": ["StateAdvance", "CacheRescan"],
    "http": ["HttpParse", "HttpFetch", "HttpScan"],
    "threads": ["[parallelism]", "[speedup]"],
}
KINDS = tuple(CHANGES)


def _git(repo, *args):
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "trial",
        "GIT_AUTHOR_EMAIL": "trial@localhost",
        "GIT_COMMITTER_NAME": "trial",
        "GIT_COMMITTER_EMAIL": "trial@localhost",
    }
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def apply_change(repo: Path, kind: str, run: int) -> None:
    """Edit the checkout at ``repo`` as ``kind`` says; ValueError if the code moved under it."""
    for rel, old, new in CHANGES[kind]:
        path = repo / rel
        text = path.read_text()
        if text.count(old) != 1:
            raise ValueError(
                f"{kind}: {rel} has {text.count(old)} copies of the text to change "
                f"({old.strip().splitlines()[0]!r}); update trials.CHANGES"
            )
        path.write_text(text.replace(old, new.replace("{run}", str(run))))


def scratch_pair(repo: Path, rev: str, kind: str, run: int) -> tuple[Path, str, str]:
    """A scratch clone with (base, head) commits for one run of ``kind``."""
    repo = repo.resolve()
    tmp = Path(tempfile.mkdtemp(prefix=f"technic-trial-{kind}-"))
    _git(tmp, "clone", "-q", "--shared", "--no-checkout", str(repo), "r")
    clone = tmp / "r"
    base = _git(repo, "rev-parse", rev)
    _git(clone, "checkout", "-q", "--detach", base)
    if not CHANGES[kind]:
        return clone, base, base
    apply_change(clone, kind, run)
    _git(clone, "commit", "-qam", f"trial {kind} {run}")
    return clone, base, _git(clone, "rev-parse", "HEAD")


class LoadProbe:
    """The 1-minute load average every 15 s while a run goes on."""

    def __init__(self):
        self.samples: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.wait(15):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join(5)
        s = sorted(self.samples)
        return {"min": s[0], "median": s[len(s) // 2], "max": s[-1], "n": len(s)}


def caught(kind: str, regressions: list[str]) -> bool:
    return any(t in r for r in regressions for t in TARGETS.get(kind, []))


def target_ratio(kind: str, rows: list[dict]) -> dict[str, float]:
    return {
        r["name"] + ("" if r.get("kind", "time") == "time" else f" [{r['kind']}]"): r["ratio"]
        for r in rows
        if r.get("ratio") is not None
        and any(t in r["name"] + f" [{r.get('kind', 'time')}]" for t in TARGETS.get(kind, []))
    }


def run_json(out: Path, kind: str, run: int, rev: str) -> Path:
    """Where a run's gate JSON is kept: named by its commit too, so that trials of another
    commit in the same directory do not overwrite it."""
    return out / "runs" / f"{kind}-{rev[:12]}-{run:02d}.json"


def saved_run(out: Path, rec: dict) -> Path:
    """A record's gate JSON; records from before the commit was in the name fall back to
    ``kind-NN.json`` (which a later commit's run of the same number may have replaced)."""
    js = run_json(out, rec["kind"], rec["run"], rec.get("rev", ""))
    old = out / "runs" / f"{rec['kind']}-{rec['run']:02d}.json"
    return js if js.exists() or not old.exists() else old


def one_run(repo: Path, rev: str, kind: str, run: int, out: Path, gate_args: list[str]) -> dict:
    clone, base, head = scratch_pair(repo, rev, kind, run)
    js = run_json(out, kind, run, base)
    js.parent.mkdir(parents=True, exist_ok=True)
    probe = LoadProbe()
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "technic_core",
                "gate",
                "--repo",
                str(clone),
                "--base",
                base,
                "--head",
                head,
                "--json",
                str(js),
                "--reports",
                "-",
                "--quiet",
                *gate_args,
            ],
            capture_output=True,
            text=True,
            timeout=3600,
            cwd=Path.cwd(),
        )
    finally:
        load = probe.stop()
        shutil.rmtree(clone.parent, ignore_errors=True)
    rec = {
        "kind": kind,
        "run": run,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "rev": base[:12],
        "exit": proc.returncode,
        "seconds": round(time.perf_counter() - t0, 1),
        "load": load,
    }
    if js.is_file():
        doc = json.loads(js.read_text())
        rows = doc["rows"]
        first = rows_from(doc["raw"].get("first", {"benchmarks": []}), doc["factor"])
        rec["regressions"] = doc["regressions"]
        rec["first_pass_flags"] = [r.name for r in first if r.status == "regression"]
        rec["not_confirmed"] = [r["name"] for r in rows if "not confirmed" in (r.get("note") or "")]
        rated = [r for r in rows if r.get("ratio") is not None and r.get("kind", "time") == "time"]
        if rated:
            w = max(rated, key=lambda r: r["ratio"])
            rec["worst"] = [w["name"], round(w["ratio"], 3)]
        rec["target"] = {k: round(v, 3) for k, v in target_ratio(kind, rows).items()}
        rec["gate_seconds"] = round(doc["seconds"], 1)
    else:
        rec["error"] = (proc.stderr or proc.stdout)[-2000:]
    rec["ok"] = (
        (rec["exit"] == 0)
        if kind in ("self", "null")
        else (rec["exit"] == 1 and caught(kind, rec.get("regressions", [])))
    )
    return rec


def run_trials(runs: int, kinds: list[str], out: Path, rev: str, gate_args: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    repo = Path(_git(Path.cwd(), "rev-parse", "--show-toplevel"))
    rev = _git(repo, "rev-parse", rev)
    for kind in kinds:  # fail now, not hours in, if a change no longer applies
        tmp = Path(tempfile.mkdtemp(prefix="technic-trial-check-"))
        try:
            _git(tmp, "clone", "-q", "--shared", "--no-checkout", str(repo), "r")
            _git(tmp / "r", "checkout", "-q", "--detach", rev)
            apply_change(tmp / "r", kind, 0)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    log = out / "trials.jsonl"
    while True:
        done = collections.Counter(r["kind"] for r in load(log) if r.get("rev") == rev[:12])
        todo = [k for k in kinds if done[k] < runs]
        if not todo or (out / "STOP").exists():
            break
        kind = min(todo, key=lambda k: (done[k], kinds.index(k)))
        rec = one_run(repo, rev, kind, done[kind], out, gate_args)
        with open(log, "a") as fh:
            fh.write(json.dumps(rec) + "\n")
        print(
            f"{rec['date']} {kind} #{rec['run']}: exit {rec['exit']} "
            f"({'ok' if rec['ok'] else 'WRONG'}) in {rec['seconds']:.0f} s, load "
            f"{rec['load']['median']:.1f}; flagged {rec.get('regressions')} "
            f"(first pass {rec.get('first_pass_flags')}); target {rec.get('target')}",
            flush=True,
        )


def load(log: Path) -> list[dict]:
    if not log.is_file():
        return []
    out = []
    for line in log.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def rejudge(rec: dict, out: Path) -> dict:
    """A record's verdict and planted-benchmark ratios from its saved run, by today's TARGETS."""
    rec = dict(rec)
    if rec["kind"] not in ("self", "null"):
        rec["ok"] = rec["exit"] == 1 and caught(rec["kind"], rec.get("regressions", []))
    js = saved_run(out, rec)
    if js.is_file():
        rec["target"] = target_ratio(rec["kind"], json.loads(js.read_text())["rows"])
    return rec


def summary(out: Path, rev: str | None = None) -> str:
    recs = [
        rejudge(r, out) for r in load(out / "trials.jsonl") if rev is None or r.get("rev") == rev
    ]
    lines = [
        "| change | runs | false alarms / caught | ratio of the planted benchmark (median, range) "
        "| flagged before confirmation | gate s (median) | load (median of runs' medians, max) |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in KINDS:
        rs = [r for r in recs if r["kind"] == kind]
        if not rs:
            continue
        n = len(rs)
        if kind in ("self", "null"):
            verdict = f"{sum(r['exit'] != 0 for r in rs)} false alarm(s)"
        else:
            verdict = f"caught {sum(r['ok'] for r in rs)} of {n}"
        tr = sorted(max(r["target"].values()) for r in rs if r.get("target"))
        ratio = f"{tr[len(tr) // 2]:.2f} ({tr[0]:.2f}-{tr[-1]:.2f})" if tr else "-"
        pre = sum(bool(r.get("first_pass_flags")) for r in rs)
        secs = sorted(r.get("gate_seconds", r["seconds"]) for r in rs)
        loads = sorted(r["load"]["median"] for r in rs)
        lines.append(
            f"| {kind} | {n} | {verdict} | {ratio} | {pre} of {n} | {secs[len(secs) // 2]:.0f} "
            f"| {loads[len(loads) // 2]:.1f}, {max(r['load']['max'] for r in rs):.1f} |"
        )
    return "\n".join(lines)


def noise(out: Path, kinds=("self", "null")) -> str:
    """Per benchmark, over the runs of ``kinds`` (nothing slower): the spread of first-pass ratios."""
    from . import stats

    seen: dict[str, list[float]] = collections.defaultdict(list)
    for f in sorted((out / "runs").glob("*.json")):
        if f.stem.split("-")[0] not in kinds:
            continue
        raw = json.loads(f.read_text())["raw"]
        for part in ("first", "scaling"):
            for e in raw.get(part, {}).get("benchmarks", []):
                rows = (
                    stats.compare_scaling(e, 1.25)
                    if e.get("kind") == "scaling"
                    else [stats.compare_entry(e, 1.2)]
                )
                for r in rows:
                    if r.ratio is not None:
                        seen[r.name + ("" if r.kind == "time" else f" [{r.kind}]")].append(r.ratio)
    lines = ["| benchmark | runs | median ratio | highest | lowest |", "|---|---|---|---|---|"]
    for name, xs in sorted(seen.items(), key=lambda kv: -max(kv[1])):
        xs = sorted(xs)
        lines.append(
            f"| {name} | {len(xs)} | {xs[len(xs) // 2]:.3f} | {xs[-1]:.3f} | {xs[0]:.3f} |"
        )
    return "\n".join(lines)


def replay(
    out: Path, factor: float, scaling_factor: float, min_agree: float, speedup_factor: float
) -> str:
    """Re-decide every saved run's first pass with another factor (no confirmation pass)."""
    from . import stats

    lines = []
    for f in sorted((out / "runs").glob("*.json")):
        doc = json.loads(f.read_text())
        raw = doc["raw"]
        rows = []
        for part in ("first", "scaling"):
            for e in raw.get(part, {}).get("benchmarks", []):
                if e.get("kind") == "scaling":
                    rows += stats.compare_scaling(
                        e, scaling_factor, min_agree=min_agree, speedup_factor=speedup_factor
                    )
                else:
                    rows.append(stats.compare_entry(e, factor, min_agree=min_agree))
        code = decide(rows)
        flagged = [
            r.name + ("" if r.kind == "time" else f" [{r.kind}]")
            for r in rows
            if r.status == "regression"
        ]
        lines.append(f"{f.stem}: exit {code} {flagged}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m technic_core.bench.gate.trials")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run trials until each kind has --runs runs of --rev")
    r.add_argument("--runs", type=int, default=10)
    r.add_argument("--kinds", default=",".join(KINDS))
    r.add_argument("--rev", default="HEAD")
    r.add_argument("--out", default=str(OUT))
    r.add_argument("gate_args", nargs="*", help="more arguments for technic gate (after --)")
    s = sub.add_parser("summary", help="the table of the recorded runs")
    s.add_argument("--out", default=str(OUT))
    s.add_argument("--rev", help="only runs of this commit (12 hex digits)")
    nz = sub.add_parser(
        "noise", help="per benchmark, the first-pass ratios of the self and null runs"
    )
    nz.add_argument("--out", default=str(OUT))
    p = sub.add_parser("replay", help="re-decide the saved first passes with other factors")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--factor", type=float, default=1.2)
    p.add_argument("--scaling-factor", type=float, default=SCALING_FACTOR)
    p.add_argument("--speedup-factor", type=float, default=SPEEDUP_FACTOR)
    p.add_argument("--min-agree", type=float, default=0.6)
    a = ap.parse_args(argv)
    out = Path(a.out)
    if a.cmd == "run":
        kinds = [k.strip() for k in a.kinds.split(",") if k.strip()]
        bad = [k for k in kinds if k not in CHANGES]
        if bad:
            ap.error(f"unknown kind(s) {bad}; choose from {', '.join(KINDS)}")
        run_trials(a.runs, kinds, out, a.rev, a.gate_args)
        print(summary(out))
    elif a.cmd == "summary":
        print(summary(out, a.rev))
    elif a.cmd == "noise":
        print(noise(out))
    else:
        print(replay(out, a.factor, a.scaling_factor, a.min_agree, a.speedup_factor))
    return 0


if __name__ == "__main__":
    sys.exit(main())
