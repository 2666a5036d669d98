"""What a scan returns: the table, rejections, errors, timings and what ran."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

FULL_UNIVERSE = 5277  # the original scanner's ticker list
BUDGET_S = 90.0  # the target for a full-universe scan
STAGES = ("universe", "prescreen", "fetch", "indicators", "scoring", "filtering", "ranking")


@dataclass
class ScanResult:
    table: pd.DataFrame
    rejections: dict[str, int]
    errors: pd.DataFrame  # symbol, reason
    timings: dict[str, float]  # seconds per stage
    n_symbols: int  # symbols in the universe scanned
    phases: tuple[str, ...]
    backend: str | None  # indicator backend that actually ran
    info: dict = field(default_factory=dict)

    @property
    def wall_s(self) -> float:
        return float(
            self.timings.get("total", sum(v for k, v in self.timings.items() if k in STAGES))
        )

    @property
    def seconds_per_symbol(self) -> float:
        return self.wall_s / self.n_symbols if self.n_symbols else float("nan")

    @property
    def projected_full_s(self) -> float:
        """Time a universe of FULL_UNIVERSE symbols would take at this rate."""
        return self.seconds_per_symbol * FULL_UNIVERSE

    @property
    def within_budget(self) -> bool:
        return self.projected_full_s <= BUDGET_S

    def to_frame(self) -> pd.DataFrame:
        """The ranked table (a copy), one row per passing symbol; ``attrs`` holds the rest
        (``rejections``, ``errors`` as symbol -> reason, ``phases``, ``backend``, ``n_symbols``)."""
        df = self.table.copy()
        df.attrs = self._meta()
        return df

    def to_parquet(self, path: str | Path) -> Path:
        """Write the table to Parquet; the rest of the result (rejections, errors, timings,
        phases) goes in the file's metadata under ``technic`` (JSON).  Returns the path."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        table = pa.Table.from_pandas(self.table, preserve_index=False)
        meta = {
            **(table.schema.metadata or {}),
            b"technic": json.dumps({**self._meta(), "timings": self.timings}).encode(),
        }
        pq.write_table(table.replace_schema_metadata(meta), path)
        return path

    def _meta(self) -> dict:
        return {
            "rejections": dict(self.rejections),
            "errors": dict(
                zip(self.errors["symbol"].astype(str), self.errors["reason"].astype(str))
            )
            if len(self.errors)
            else {},
            "phases": list(self.phases),
            "backend": self.backend,
            "n_symbols": self.n_symbols,
        }

    def __repr__(self) -> str:
        head = (
            f"ScanResult({self.n_symbols} symbols: {len(self.table)} passed, "
            f"{sum(self.rejections.values())} rejected, {len(self.errors)} errors; "
            f"phases {','.join(self.phases) or 'baseline'}, backend {self.backend or '-'}, "
            f"{self.wall_s:.2f}s)"
        )
        cols = [
            c
            for c in ("rank", "symbol", "tech_rating", "signal", "sector", "close")
            if c in self.table.columns
        ]
        if not len(self.table) or not cols:
            return head
        top = self.table[cols].head(5).to_string(index=False, float_format=lambda x: f"{x:.2f}")
        more = (
            f"\n... {len(self.table) - 5} more rows (.table, .to_frame())"
            if len(self.table) > 5
            else ""
        )
        return f"{head}\n{top}{more}"

    def summary(self) -> str:
        phases = ",".join(self.phases) or "baseline"
        lines = [
            f"phases: {phases}    backend: {self.backend or '-'}",
            f"symbols: {self.n_symbols}    passed: {len(self.table)}    errors: {len(self.errors)}",
            "rejected: " + ", ".join(f"{k}={v}" for k, v in self.rejections.items() if v)
            or "rejected: none",
            "time: " + "  ".join(f"{k} {v:.3f}s" for k, v in self.timings.items() if k != "total"),
            f"total {self.wall_s:.3f}s = {self.seconds_per_symbol * 1e3:.3f} ms/symbol; "
            f"projected {FULL_UNIVERSE} symbols: {self.projected_full_s:.1f}s "
            f"({'within' if self.within_budget else 'OVER'} the {BUDGET_S:.0f}s budget)",
        ]
        for k, v in self.info.items():
            if k.startswith("_"):
                continue
            lines.append(f"{k}: {v}")
        return "\n".join(lines)
