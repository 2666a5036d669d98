"""What a scan returns: the table, rejections, errors, timings and what ran."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

FULL_UNIVERSE = 5277     # the original scanner's ticker list
BUDGET_S = 90.0          # the target for a full-universe scan
STAGES = ("universe", "prescreen", "fetch", "indicators", "scoring", "filtering", "ranking")


@dataclass
class ScanResult:
    table: pd.DataFrame
    rejections: dict[str, int]
    errors: pd.DataFrame                    # symbol, reason
    timings: dict[str, float]               # seconds per stage
    n_symbols: int                          # symbols in the universe scanned
    phases: tuple[str, ...]
    backend: str | None                     # indicator backend that actually ran
    info: dict = field(default_factory=dict)

    @property
    def wall_s(self) -> float:
        return float(self.timings.get("total", sum(v for k, v in self.timings.items() if k in STAGES)))

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

    def summary(self) -> str:
        phases = ",".join(self.phases) or "baseline"
        lines = [
            f"phases: {phases}    backend: {self.backend or '-'}",
            f"symbols: {self.n_symbols}    passed: {len(self.table)}    errors: {len(self.errors)}",
            "rejected: " + ", ".join(f"{k}={v}" for k, v in self.rejections.items() if v) or "rejected: none",
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
