"""How a figure with its interval is written: one rule for the bench's text tables and the
HTML report, so the same run reads the same in both."""

from __future__ import annotations


def secs(x: float | None) -> str:
    """Seconds: three decimals under 10 s, one above; "-" for no figure."""
    if x is None:
        return "-"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def interval(est, lo, hi, kind: str = "s", html: bool = False) -> str:
    """``96.1 (88.2-104.5)`` or ``1.15x (0.95-1.38)``; ``html``: the interval in ``<small>``
    with an en dash."""
    if est is None:
        return "-"
    if kind == "x":
        f = (lambda v: f"{v:.2f}") if est < 10 else (lambda v: f"{v:.0f}")
        main, lo_s, hi_s = f"{f(est)}x", f(lo), f(hi)
    else:
        main, lo_s, hi_s = secs(est), secs(lo), secs(hi)
    if html:
        return f"{main} <small>({lo_s}–{hi_s})</small>"
    return f"{main} ({lo_s}-{hi_s})"
