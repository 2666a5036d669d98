"""The regression gate (``technic gate``): the asv suite's own benchmarks, two commits, paired workers.

``gate`` runs it, ``pair`` drives the workers in lockstep, ``worker`` is one
commit's process (asv_runner inside), ``stats`` decides, ``report`` writes
the table to ``reports/`` and reads back the last verdicts, ``trials``
measures the gate itself (false alarms, planted slowdowns caught).
"""

from .gate import DEFAULT_FACTOR, DEFAULT_ROUNDS, GateError, run_gate
from .stats import EXIT_FAILED, EXIT_OK, EXIT_REGRESSION

__all__ = [
    "DEFAULT_FACTOR",
    "DEFAULT_ROUNDS",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_REGRESSION",
    "GateError",
    "run_gate",
]
