"""Test-wide setup.

Numba's CUDA simulator must be chosen before numba.cuda is first imported, so
it is set here, at collection, when this machine has no NVIDIA driver: the
GPU kernels then run on the CPU against the same assertions as on a device.
"""

import os
import shutil

import pytest

if shutil.which("nvidia-smi") is None and "NUMBA_ENABLE_CUDASIM" not in os.environ:
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

# Every file that starts a local Ray (itself or through the scan's ray phase): one group, so
# one worker runs them one after another. Two Ray clusters at once would share two cores
# between two sets of raylets, each test's workers starved by the other's.
RAY_FILES = {
    "tests/bench/test_ladder.py",
    "tests/ray/test_cluster.py",
    "tests/ray/test_local.py",
    "tests/ray/test_memory_source.py",
    "tests/scan/test_blocks.py",
    "tests/scan/test_engines.py",
    "tests/scan/test_pipeline.py",
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under xdist (``.ci/test``: ``-n 2``), a file's tests go to one worker, in order.

    Its module fixtures (a generated store, a gate's repository, a Ray cluster) are then built
    once, as in a serial run; the Ray files are one unit (above).
    """
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "ray" if path in RAY_FILES else path

    return ByFile(config, log)
