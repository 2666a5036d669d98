"""The HTML report's section on the regression gate: its last verdicts, from ``reports/gate-history.jsonl``.

Self-contained (results files only, as the rest of the report): ``technic
gate`` appends one summary line per run to the history; this renders the
newest few.  ``gate_section(reports_dir)`` returns the section's HTML.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

HISTORY = "gate-history.jsonl"
VERDICT = {
    0: "<span class=ok>no regression</span>",
    1: "<span class=bad>REGRESSION</span>",
    2: "<span class=bad>FAILED</span>",
}


def last_gate_runs(reports_dir: Path | str = "reports", n: int = 10) -> list[dict]:
    """The last ``n`` runs' summaries, newest first (torn or foreign lines skipped)."""
    path = Path(reports_dir) / HISTORY
    if not path.is_file():
        return []
    runs = []
    for line in path.read_text().splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "exit" in doc and "head" in doc:
            runs.append(doc)
    return runs[::-1][:n]


def gate_section(reports_dir: Path | str = "reports", n: int = 10) -> str:
    """HTML: a table of the last gate verdicts, or a line saying there are none yet."""
    runs = last_gate_runs(reports_dir, n)
    if not runs:
        return (
            "<p>No <code>technic gate</code> runs recorded yet "
            f"({html.escape(str(Path(reports_dir) / HISTORY))}).</p>"
        )
    e = html.escape
    rows = []
    for r in runs:
        flagged = ", ".join(r.get("regressions") or []) or "-"
        other = "; ".join(
            f"{k}: {', '.join(r.get(k) or [])}" for k in ("failed", "new", "removed") if r.get(k)
        )
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{c}</td>"
                for c in (
                    e(str(r.get("date", "-"))),
                    f"<code>{e(str(r['head']))}</code> vs "
                    f"<code>{e(str(r.get('base', '-')))}</code>",
                    "whole suite" if r.get("everything") else "gated set",
                    VERDICT.get(r["exit"], e(str(r["exit"]))),
                    e(flagged),
                    e(other or "-"),
                    e(f"{r.get('seconds', 0):.0f} s"),
                    e(", ".join(f"{x:g}" for x in r.get("load", []))),
                )
            )
            + "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "date",
            "head vs base",
            "set",
            "verdict",
            "regressions",
            "failed / new / removed",
            "time",
            "load (1, 5, 15 min)",
        )
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
