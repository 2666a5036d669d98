"""Results files in, tidy tables out: ``technic bench`` JSON and asv's results database."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def load_bench(path: Path | str) -> dict | None:
    p = Path(path)
    if not p.is_file():
        return None
    doc = json.loads(p.read_text())
    if doc.get("kind") != "technic-bench-ladder":
        raise ValueError(f"{p} is not a `technic bench` results file")
    return doc


def load_asv(results_dir: Path | str) -> pd.DataFrame:
    """One row per (machine, commit, benchmark, parameter set) with its value, via asv's own reader."""
    from asv import results as asv_results

    root = Path(results_dir)
    rows = []
    if not root.is_dir():
        return pd.DataFrame(columns=["machine", "commit", "date", "benchmark", "params", "value"])
    for machine_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for res in asv_results.iter_results_for_machine(str(root), machine_dir.name):
            for key in res.get_all_result_keys():
                params = res.get_result_params(key)
                values = res.get_result_value(key, params)
                combos = _combinations(params)
                for combo, value in zip(combos, values):
                    rows.append(
                        {
                            "machine": machine_dir.name,
                            "commit": res.commit_hash[:8],
                            "date": pd.to_datetime(res.date, unit="ms"),
                            "benchmark": key,
                            "params": combo,
                            "value": value,
                        }
                    )
    return pd.DataFrame(rows, columns=["machine", "commit", "date", "benchmark", "params", "value"])


def _combinations(params: list) -> list[tuple]:
    if not params:
        return [()]
    out: list[tuple] = [()]
    for values in params:
        out = [c + (str(v).strip("'"),) for c in out for v in values]
    return out
