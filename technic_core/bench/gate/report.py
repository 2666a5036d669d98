"""The gate's table in ``reports/``: the last run whole (JSON and Markdown) and one line per run.

reports/gate-latest.json     rows, raw samples, verdict, load (what ``--json`` writes too)
reports/gate-latest.md       the table as Markdown
reports/gate-history.jsonl   one summary line per run, newest last (read by the HTML
                             report's ``report.gate_section``)
"""

from __future__ import annotations

import json
from pathlib import Path

LATEST_JSON = "gate-latest.json"
LATEST_MD = "gate-latest.md"
HISTORY = "gate-history.jsonl"


def summary(out: dict) -> dict:
    """The line a run adds to the history: enough to show a verdict without the samples."""
    return {
        "date": out["date"],
        "base": out["base"][:12],
        "head": out["head"][:12],
        "base_ref": out.get("base_ref"),
        "head_ref": out.get("head_ref"),
        "exit": out["exit"],
        "verdict": out["verdict"],
        "regressions": out["regressions"],
        "everything": out.get("everything", False),
        "seconds": round(out["seconds"], 1),
        "load": [round(x, 2) for x in out.get("load", ())],
        "rows": len(out["rows"]),
        "failed": [r["name"] for r in out["rows"] if r["status"] == "failed"],
        "new": [r["name"] for r in out["rows"] if r["status"] == "new"],
        "removed": [r["name"] for r in out["rows"] if r["status"] == "removed"],
    }


def write(out: dict, reports: Path | str = "reports") -> list[Path]:
    """Write the latest JSON and Markdown, append the history line; the paths written."""
    root = Path(reports)
    root.mkdir(parents=True, exist_ok=True)
    (root / LATEST_JSON).write_text(json.dumps(out, indent=1))
    (root / LATEST_MD).write_text(f"# technic gate, {out['date']}\n\n{out['markdown']}\n")
    with open(root / HISTORY, "a") as fh:
        fh.write(json.dumps(summary(out)) + "\n")
    return [root / LATEST_JSON, root / LATEST_MD, root / HISTORY]
