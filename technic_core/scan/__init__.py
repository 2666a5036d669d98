"""The scan: features, scores, filters, the table, and the phase pipeline."""

from .compare import results_match, table_differences
from .phases import LADDER, PHASES, PhaseUnavailable, parse_phases
from .pipeline import scan
from .result import BUDGET_S, FULL_UNIVERSE, ScanResult

__all__ = [
    "scan",
    "ScanResult",
    "LADDER",
    "PHASES",
    "PhaseUnavailable",
    "parse_phases",
    "results_match",
    "table_differences",
    "BUDGET_S",
    "FULL_UNIVERSE",
]


# ``technic_core.scan(...)`` is the documented entry point, yet ``technic_core.scan``
# is also this package: make the package callable so both spellings work.
import inspect as _inspect  # noqa: E402
import sys as _sys  # noqa: E402
import types as _types  # noqa: E402


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs):
        return scan(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
# help(technic_core.scan) and inspect.signature show the function a call runs.
__signature__ = _inspect.signature(scan)
__doc__ = f"{__doc__}\n\nCalling the package calls ``scan(...)``:\n\n{_inspect.getdoc(scan)}\n"
