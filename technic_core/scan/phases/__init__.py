"""The phases of the optimisation ladder (docs/scan.md), each a switch on the one pipeline.

A phase changes how fast the answer comes, never the answer.  ``claim`` is
the original plan's projected speedup for the step, kept beside every
measurement so the two can be compared; it is never used as a figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    name: str
    step: str  # SPEC's label
    claim: float  # the plan's projected speedup of this step (not a measurement)
    description: str
    built: bool


PHASES: dict[str, Phase] = {
    p.name: p
    for p in (
        Phase(
            "prefetch",
            "1 batch prefetch",
            2.0,
            "all bars loaded in the fewest requests before any compute",
            True,
        ),
        Phase(
            "prescreen",
            "2 pre-screening",
            1.5,
            "universe rules and a last-session snapshot drop symbols before their history is fetched",
            True,
        ),
        Phase(
            "vectorized",
            "3A vectorised",
            2.0,
            "indicators, scores and filters for all symbols at once on (T, N) arrays",
            True,
        ),
        Phase(
            "cache",
            "3B Redis cache",
            2.0,
            "bars and indicator state cached in Redis; a rescan after one new bar computes that bar",
            True,
        ),
        Phase("ray", "3C Ray", 3.0, "symbol blocks spread over a Ray cluster", True),
        Phase("gpu", "3D GPU", 3.0, "indicators on the GPU (CuPy and Numba CUDA kernels)", True),
    )
}
LADDER = tuple(PHASES)


class PhaseUnavailable(RuntimeError):
    """A phase that is not built, or cannot run here; the message says which and why."""


def parse_phases(spec: str | Iterable[str] | None) -> tuple[str, ...]:
    """Phases in ladder order from 'baseline', 'all', 'a,b' or an iterable of names."""
    if spec is None:
        return ()
    if isinstance(spec, str):
        items = [s.strip() for s in spec.split(",") if s.strip()]
    else:
        items = [str(s).strip() for s in spec]
    if items in ([], ["baseline"]):
        return ()
    if items == ["all"]:
        # every built phase that combines: the cache computes alone (its own kernel)
        return tuple(p for p in LADDER if PHASES[p].built and p != "cache")
    unknown = [s for s in items if s not in PHASES and s != "baseline"]
    if unknown:
        raise ValueError(
            f"unknown phase(s) {', '.join(unknown)}; choose from baseline, all, {', '.join(LADDER)}"
        )
    chosen = {s for s in items if s != "baseline"}
    unbuilt = [s for s in LADDER if s in chosen and not PHASES[s].built]
    if unbuilt:
        raise PhaseUnavailable(f"phase(s) {', '.join(unbuilt)} not built yet")
    needs_block = [s for s in ("cache", "ray", "gpu") if s in chosen]
    if needs_block and "vectorized" not in chosen:
        raise ValueError(
            f"phase {needs_block[0]} runs on the vectorised engine: add it, e.g. "
            f"--phases prefetch,prescreen,vectorized,{needs_block[0]}"
        )
    if "cache" in chosen and ({"ray", "gpu"} & chosen):
        other = sorted({"ray", "gpu"} & chosen)[0]
        raise ValueError(
            f"phases cache and {other} cannot be combined: the cache computes with its own "
            "incremental state kernel in-process"
        )
    return tuple(p for p in LADDER if p in chosen)
