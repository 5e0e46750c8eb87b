"""Compile symbolic networks on a backend (:mod:`~symmol.compile.backends`).

Predict functions and training steps (:mod:`~symmol.compile.functions`), with stable shapes on
accelerators (:mod:`~symmol.compile.padding`).
"""

from symmol.compile.backends import (
    BACKENDS,
    DEVICES,
    WHILE_SCAN_BACKENDS,
    configure_blas,
    cuda_available,
    get_backend_mode,
)
from symmol.compile.functions import (
    compile_function,
    compile_predict,
    compile_train_step,
    input_layers_of,
    input_variables,
)
from symmol.compile.padding import DeviceFunction, csr_bucket_size, pad_csr
from symmol.compile.tiered import TieredFunction

__all__ = ["BACKENDS", "DEVICES", "WHILE_SCAN_BACKENDS", "DeviceFunction", "TieredFunction", "compile_function",
           "compile_predict", "compile_train_step", "configure_blas", "csr_bucket_size", "cuda_available",
           "get_backend_mode", "input_layers_of", "input_variables", "pad_csr"]
