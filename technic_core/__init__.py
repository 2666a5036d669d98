"""technic: a full-market stock scanner whose every optimisation is measured.

``technic_core.scan(...)`` runs a scan (see ``technic_core.scan.pipeline.scan``) of a store,
an API, or frames in memory; ``technic_core.indicators`` holds the thirteen indicators (numpy,
pandas or polars in, the same out); ``panel_from_long`` / ``panel_from_frames`` build a
validated panel from frames.  See docs/api.md.
"""

__version__ = "0.1.0"

from . import scan  # noqa: E402  (a callable package: technic_core.scan(...))
from .panels import PanelInputError, panel_from_frames, panel_from_long  # noqa: E402
from .scan.result import ScanResult  # noqa: E402

__all__ = [
    "scan",
    "ScanResult",
    "panel_from_long",
    "panel_from_frames",
    "PanelInputError",
    "__version__",
]
