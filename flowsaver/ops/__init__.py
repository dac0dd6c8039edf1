"""Ops: the registry and one module per op family. Importing this registers every kernel."""
from flowsaver.ops import (array_kernels, core_kernels, math_kernels,  # noqa: F401
                           random_kernels, state_kernels)
from flowsaver.ops import io_kernels  # noqa: F401,E402
