"""Phase 3A: indicators, features and scores for a whole block at once.

Which backend computes the indicators is chosen here, with the fallback chain
``cupy -> numba -> numpy -> baseline``: a backend that cannot run (or whose
kernel fails) is reported once, with its reason, and the next one runs.
``strict=True`` turns that into an error.  The result always names the
backend that actually ran.
"""
from __future__ import annotations

import warnings

import numpy as np

from ... import indicators as ind
from ...indicators.registry import FALLBACK_ORDER, BackendUnavailable, load_backend
from ...indicators.validate import IndicatorInputError, check_layout
from ...universe.store import BarBlock
from ..features import INDICATOR_KEYS, block_features, indicator_calls
from ..scores import compute_scores


class BackendFallback(UserWarning):
    """The asked-for indicator backend did not run; another one did."""


def chain_from(requested: str | None) -> list[str]:
    if requested is None:
        requested = ind.default_backend()
    if requested not in FALLBACK_ORDER:
        ind.unavailable_reason(requested)  # raises for unknown names
        return [requested]
    return list(FALLBACK_ORDER[FALLBACK_ORDER.index(requested):])


def last_values(block: BarBlock, backend: str) -> dict[str, np.ndarray]:
    """Indicator values at every column's last row, fused when the backend offers it."""
    f = block.fields
    mod = load_backend(backend)
    fused = getattr(mod, "fused_indicators", None)
    if fused is not None and block.shape[1]:
        check_layout("fused", {k: f[k] for k in ("high", "low", "close", "volume")})
        out = fused(f["open"], f["high"], f["low"], f["close"], f["volume"])
        return {k: np.asarray(out[k]) for k in INDICATOR_KEYS}
    full = indicator_calls(ind, f["high"], f["low"], f["close"], f["volume"], backend=backend)
    return {k: v[-1] for k, v in full.items()}


def compute_block(block: BarBlock, backend: str | None = None, strict: bool = False) -> tuple[dict, str, list[str]]:
    """(features+scores by column, backend used, fallback notes)."""
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
            warnings.warn(f"{reason}; falling back to {chain[i + 1]!r}", BackendFallback, stacklevel=3)
            continue
        feats = block_features(block.fields, last)
        scores = compute_scores(feats)
        return {**feats, **scores}, name, notes
    raise AssertionError("unreachable")
