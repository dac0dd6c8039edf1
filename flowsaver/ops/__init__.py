"""Ops: the registry and one module per op family. Importing this registers every kernel."""
from flowsaver.ops import (array_kernels, core_kernels, math_kernels,  # noqa: F401
                           random_kernels, state_kernels)
from flowsaver.ops import io_kernels  # noqa: F401,E402
from flowsaver.ops import control_flow_kernels  # noqa: F401,E402
from flowsaver.ops import conv_kernels, nn_kernels  # noqa: F401,E402
from flowsaver.ops import math_reduce_kernels  # noqa: F401,E402
from flowsaver.ops import array_index_kernels, array_transform_kernels  # noqa: F401,E402
from flowsaver.ops import resource_kernels  # noqa: F401,E402
from flowsaver.ops import training_kernels  # noqa: F401,E402
from flowsaver.ops import grad_kernels  # noqa: F401,E402
from flowsaver.ops import conv_grad_kernels, grad_support_kernels  # noqa: F401,E402
from flowsaver.ops import gamma_kernels, multinomial_kernels, stateless_random_kernels  # noqa: F401,E402,E501
