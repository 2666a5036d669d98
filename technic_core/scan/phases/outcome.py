"""What every scan engine takes and hands back: one contract for the phases.

An engine is ``run(source, symbols, options) -> BlockOutcome``: the per-symbol loop
(``per_symbol``, phases 0-2), the in-process blocks (``vectorized``, 3A), the cache
(``cache_phase``, 3B) and Ray (``ray_phase``, 3C).  The pipeline picks one from its table
(``pipeline.ENGINES``) and finishes every outcome the same way (filters, ranking).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd


@dataclass
class EngineOptions:
    """Everything an engine may use beyond the source and the symbols."""

    backend: str | None = None  # indicator backend (vectorised engines)
    strict: bool = False  # an unavailable backend or Ray is an error
    block_size: int | str | None = "auto"  # symbols a block ("auto", None: one block)
    ray_address: str | None = None  # the ray engine's cluster (None: local or $RAY_ADDRESS)
    cache: object = None  # the cache engine's Cache or Redis URL
    prefetch: bool = False  # the per-symbol engine reads every bar in one batch first
    snapshot: pd.DataFrame | None = None  # the latest session's bars, when pre-screening has them
    progress: Callable | None = None  # wraps the iterable of blocks (or of symbols)


@dataclass
class BlockResult:
    """One block's answer: small enough to ship back from a worker on another machine.

    ``where`` says where it was computed (engine, node, process) so a run can
    show how blocks spread.
    """

    rows: pd.DataFrame  # computed rows, index = symbol
    errors: dict[str, str]  # bad symbols of the block and why
    latest: dict[str, float]  # latest close of every symbol seen (bad ones too)
    backend: str | None
    notes: list[str]
    timings: dict[str, float]  # fetch, indicators, scoring (seconds)
    where: dict = field(default_factory=dict)


class BlockOutcome:
    """What an engine hands back to the pipeline (small: no bars)."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []  # computed rows, index = symbol
        self.errors: dict[str, str] = {}
        self.latest: dict[str, float] = {}  # latest close of every symbol seen
        self.backend: str | None = None
        self.notes: list[str] = []
        self.timings: dict[str, float] = {}
        self.blocks = 0
        self.where: list[dict] = []  # per block, in the order blocks finished
        self.engine_info: dict = {}  # what the engine says of itself (result.info)
        self.outside_s: dict[
            str, float
        ] = {}  # seconds outside the scan's total (Ray's start, stop)
        self.batch_read_s = 0.0  # the prefetch's one batch read (a fixed cost)

    def add_time(self, stage: str, seconds: float) -> None:
        self.timings[stage] = self.timings.get(stage, 0.0) + seconds

    def merge(self, res: BlockResult) -> None:
        self.errors.update(res.errors)
        self.latest.update(res.latest)
        self.frames.append(res.rows)
        for stage, seconds in res.timings.items():
            self.add_time(stage, seconds)
        if res.backend is not None:
            self.backend = res.backend
        self.notes.extend(n for n in res.notes if n not in self.notes)
        if res.where:
            self.where.append(res.where)
        self.blocks += 1

    def computed(self) -> pd.DataFrame:
        frames = [f for f in self.frames if len(f)]
        if frames:
            return pd.concat(frames)
        return self.frames[0].iloc[:0] if self.frames else pd.DataFrame()


class Engine(Protocol):
    def __call__(self, src, symbols: list[str], options: EngineOptions) -> BlockOutcome: ...
