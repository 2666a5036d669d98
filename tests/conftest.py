"""Test-wide setup.

Numba's CUDA simulator must be chosen before numba.cuda is first imported, so
it is set here, at collection, when this machine has no NVIDIA driver: the
GPU kernels then run on the CPU against the same assertions as on a device.
"""

import os
import shutil

if shutil.which("nvidia-smi") is None and "NUMBA_ENABLE_CUDASIM" not in os.environ:
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
