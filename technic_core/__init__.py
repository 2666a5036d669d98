"""technic: a full-market stock scanner whose every optimisation is measured.

``technic_core.scan(...)`` runs a scan (see ``technic_core.scan.pipeline.scan``).
"""
__version__ = "0.1.0"

from . import scan  # noqa: E402  (a callable package: technic_core.scan(...))

__all__ = ["scan", "__version__"]
