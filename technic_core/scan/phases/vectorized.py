"""Phase 3A: indicators, features and scores for a whole block at once.

Which backend computes the indicators is chosen here, with the fallback chain
``cupy -> numba -> numpy -> baseline``: a backend that cannot run (or whose
kernel fails) is reported once, with its reason, and the next one runs.
``strict=True`` turns that into an error.  The result always names the
backend that actually ran.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from ... import indicators as ind
from ...indicators.errors import BackendUnavailable
from ...indicators.registry import FALLBACK_ORDER, load_backend
from ...indicators.validate import IndicatorInputError, check_layout
from ...universe.store import BarBlock
from ..features import INDICATOR_KEYS, block_features, indicator_calls
from ..scores import compute_scores
from .outcome import BlockOutcome, BlockResult, EngineOptions

__all__ = ["BlockOutcome", "BlockResult", "run", "run_blocks", "fetch_and_compute", "split"]

# Symbols per block when the caller says "auto" and the blocks run in this
# process.  Measured (docs/ray.md): scan time is flat from 128 to 2,048 symbols
# per block while peak memory grows with the block; 512 keeps a block's bars
# and indicator arrays near 100 MB on 504 sessions.
DEFAULT_BLOCK_SIZE = 512
AUTO = "auto"


class BackendFallback(UserWarning):
    """The asked-for indicator backend did not run; another one did."""


def chain_from(requested: str | None) -> list[str]:
    if requested is None:
        requested = ind.default_backend()
    if requested not in FALLBACK_ORDER:
        ind.unavailable_reason(requested)  # raises for unknown names
        return [requested]
    return list(FALLBACK_ORDER[FALLBACK_ORDER.index(requested) :])


def last_values(block: BarBlock, backend: str) -> dict[str, np.ndarray]:
    """Indicator values at every column's last row, fused when the backend offers it."""
    f = block.fields
    mod = load_backend(backend)
    fused = getattr(mod, "fused_indicators", None)
    if fused is not None and block.shape[1]:
        starts = check_layout("fused", {k: f[k] for k in ("high", "low", "close", "volume")})
        args = (f["open"], f["high"], f["low"], f["close"], f["volume"])
        # a backend that begins each column at its start takes the validated starts
        out = fused(*args, starts=starts) if getattr(mod, "TAKES_STARTS", False) else fused(*args)
        return {k: np.asarray(out[k]) for k in INDICATOR_KEYS}
    full = indicator_calls(ind, f["high"], f["low"], f["close"], f["volume"], backend=backend)
    return {k: v[-1] for k, v in full.items()}


def block_indicators(
    block: BarBlock, backend: str | None = None, strict: bool = False
) -> tuple[dict, str, list[str]]:
    """(indicator values at each column's last row, backend used, fallback notes)."""
    notes: list[str] = []
    chain = chain_from(backend)
    for i, name in enumerate(chain):
        try:
            if block.shape[0] == 0:
                last = {k: np.full(block.shape[1], np.nan) for k in INDICATOR_KEYS}
            else:
                last = last_values(block, name)
        except IndicatorInputError:
            raise
        except (BackendUnavailable, ImportError, RuntimeError, ValueError, TypeError) as exc:
            reason = f"backend {name!r} did not run: {exc}"
            if strict or i == len(chain) - 1:
                raise BackendUnavailable(reason) from exc
            notes.append(reason)
            warnings.warn(
                f"{reason}; falling back to {chain[i + 1]!r}", BackendFallback, stacklevel=3
            )
            continue
        return last, name, notes
    raise AssertionError("unreachable")


def compute_block(
    block: BarBlock, backend: str | None = None, strict: bool = False
) -> tuple[dict, str, list[str]]:
    """(features and scores by column, backend used, fallback notes)."""
    last, used, notes = block_indicators(block, backend, strict)
    feats = block_features(block.fields, last)
    return {**feats, **compute_scores(feats)}, used, notes


def block_rows(block: BarBlock, values: dict) -> pd.DataFrame:
    rows = pd.DataFrame(values, index=pd.Index(block.symbols, name="symbol"))
    rows["n_bars"] = block.lengths.astype(np.int64)
    return rows


def block_result(block: BarBlock, backend: str | None, strict: bool) -> BlockResult:
    """Compute one block; the result holds no bars."""
    t0 = time.perf_counter()
    last, used, notes = block_indicators(block, backend, strict)
    t1 = time.perf_counter()
    fields = block.fields
    if block.shape[0] == 0:  # no symbol had bars: one empty row keeps every array 2-D
        fields = {k: np.full((1, block.shape[1]), np.nan) for k in fields}
    feats = block_features(fields, last)
    values = {**feats, **compute_scores(feats)}
    rows = block_rows(block, values)
    latest = dict(block.error_latest_close)
    latest.update(zip(block.symbols, np.asarray(values["close"], dtype=np.float64)))
    return BlockResult(
        rows,
        dict(block.errors),
        latest,
        used,
        notes,
        {"indicators": t1 - t0, "scoring": time.perf_counter() - t1},
    )


def fetch_and_compute(src, chunk: list[str], backend: str | None, strict: bool) -> BlockResult:
    """Read one block from ``src`` and compute it: the unit of work of every block engine."""
    t0 = time.perf_counter()
    block = src.block(chunk)
    fetch = time.perf_counter() - t0
    res = block_result(block, backend, strict)
    res.timings = {"fetch": fetch, **res.timings}
    return res


def resolve_block_size(block_size: int | str | None) -> int | None:
    """The in-process engine's reading of ``block_size``: "auto" is DEFAULT_BLOCK_SIZE."""
    return DEFAULT_BLOCK_SIZE if block_size == AUTO else block_size


def split(symbols: list[str], block_size: int | str | None) -> list[list[str]]:
    """Consecutive chunks of ``block_size`` symbols (``None``: one chunk of all; "auto": the default)."""
    block_size = resolve_block_size(block_size)
    if block_size is not None and (not isinstance(block_size, int) or block_size < 1):
        raise ValueError(f"block_size must be a positive number of symbols, got {block_size}")
    size = block_size or max(1, len(symbols))
    return [symbols[i : i + size] for i in range(0, len(symbols), size)] or [[]]


def run_blocks(
    src,
    symbols: list[str],
    backend: str | None,
    strict: bool,
    block_size: int | str | None = AUTO,
    progress=None,
) -> BlockOutcome:
    """The in-process engine: fetch and compute ``symbols`` block by block.

    ``block_size=None`` is one block of everything; a smaller size bounds peak
    memory by one block's bars (only one block is alive at a time: each is
    dropped once its small result is merged).
    """

    out = BlockOutcome()
    chunks = split(symbols, block_size)
    if len(chunks) > 1 and getattr(src, "grouped_fetch", False):
        # Each of a grouped source's requests answers for every symbol (one session of the
        # whole market): fetching per block would repeat all of them once per block.
        t0 = time.perf_counter()
        src = PrefetchedLong(src.long(symbols))
        out.add_time("fetch", time.perf_counter() - t0)
    done = getattr(src, "block_done", None)
    for chunk in progress(chunks) if progress else chunks:
        out.merge(fetch_and_compute(src, chunk, backend, strict))
        if done is not None:
            done()
    return out


class PrefetchedLong:
    """Blocks cut from one long frame already fetched (symbol, date, OHLCV; a symbol's rows together)."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.errors = dict(df.attrs.get("errors") or {})

    def block(self, symbols: list[str]) -> BarBlock:
        part = self.df[self.df["symbol"].isin(symbols)]
        wanted = set(symbols)
        return BarBlock.from_long(
            part, symbols, errors={s: r for s, r in self.errors.items() if s in wanted}
        )


def run(src, symbols: list[str], options: EngineOptions) -> BlockOutcome:
    """The engine contract (``outcome.Engine``): the in-process block engine."""
    out = run_blocks(
        src, symbols, options.backend, options.strict, options.block_size, options.progress
    )
    out.engine_info.update(
        engine="in-process", block_size=resolve_block_size(options.block_size), blocks=out.blocks
    )
    return out
