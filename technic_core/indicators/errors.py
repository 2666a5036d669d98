"""The indicator package's exceptions, in a module that imports nothing.

Backends, the registry, the GPU probe and the public API all raise these; keeping them
here lets each import them without importing the others (the registry imports the GPU
probe, and the GPU backend must not import the registry back for an exception class).
"""

from __future__ import annotations


class IndicatorInputError(ValueError):
    """Indicator input that cannot give a correct answer (shape, dtype, gaps, parameters)."""


class BackendUnavailable(RuntimeError):
    """The named backend cannot run here; the message says why."""
