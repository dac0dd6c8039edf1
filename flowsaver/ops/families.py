"""Every op family, installed in one place.

Each family is a package under ``flowsaver/ops/`` with the same files: ``kernels.py``
(OpDef lines, shape functions, NumPy kernels; larger families split it by topic, e.g.
``conv_kernels.py``), ``grad.py`` (gradient functions) and ``api.py`` (the public
functions, re-exported). Importing a family module only fills its own ``OpTable``;
``install`` below copies every table into the registry, registers the objects that
convert to tensors and gives tensors and variables their Python operators. The public
facade (``import flowsaver as tf``) and ``Session`` call it before anything is built or run.
"""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.ops import operators, registry
from flowsaver.ops.array import core_kernels as array_core_kernels
from flowsaver.ops.array import grad as array_grad
from flowsaver.ops.array import index_kernels as array_index_kernels
from flowsaver.ops.array import kernels as array_kernels
from flowsaver.ops.array import sequence_grad as array_sequence_grad
from flowsaver.ops.array import sequence_kernels as array_sequence_kernels
from flowsaver.ops.array import transform_kernels as array_transform_kernels
from flowsaver.ops.array.slicing import getitem
from flowsaver.ops.autodiff import indexed_slices
from flowsaver.ops.autodiff import kernels as autodiff_kernels
from flowsaver.ops.control_flow import assert_kernels as control_flow_assert_kernels
from flowsaver.ops.control_flow import grad as control_flow_grad
from flowsaver.ops.control_flow import kernels as control_flow_kernels
from flowsaver.ops.control_flow import loop_kernels as control_flow_loop_kernels
from flowsaver.ops.data_flow import stack_kernels as data_flow_stack_kernels
from flowsaver.ops.data_flow import tensor_array_grad as data_flow_tensor_array_grad
from flowsaver.ops.data_flow import tensor_array_kernels as data_flow_tensor_array_kernels
from flowsaver.ops.io import kernels as io_kernels
from flowsaver.ops.math import grad as math_grad
from flowsaver.ops.math import kernels as math_kernels
from flowsaver.ops.math import reduce_kernels as math_reduce_kernels
from flowsaver.ops.nn import activation_grad_kernels as nn_activation_grad_kernels
from flowsaver.ops.nn import conv_grad_kernels as nn_conv_grad_kernels
from flowsaver.ops.nn import conv_kernels as nn_conv_kernels
from flowsaver.ops.nn import grad as nn_grad
from flowsaver.ops.nn import kernels as nn_kernels
from flowsaver.ops.nn import sort_grad as nn_sort_grad
from flowsaver.ops.nn import topk_kernels as nn_topk_kernels
from flowsaver.ops.op_builder import register_tensor_conversion
from flowsaver.ops.random import kernels as random_kernels
from flowsaver.ops.state import kernels as state_kernels
from flowsaver.ops.state import partitioned, resource_variables, variables
from flowsaver.ops.state import resource_kernels as state_resource_kernels
from flowsaver.ops.training import kernels as training_kernels

# family -> its modules' tables
FAMILIES = {
    "array": (array_core_kernels.TABLE, array_kernels.TABLE, array_index_kernels.TABLE,
              array_transform_kernels.TABLE, array_grad.TABLE, array_sequence_kernels.TABLE,
              array_sequence_grad.TABLE),
    "math": (math_kernels.TABLE, math_reduce_kernels.TABLE, math_grad.TABLE),
    "nn": (nn_kernels.TABLE, nn_conv_kernels.TABLE, nn_conv_grad_kernels.TABLE,
           nn_activation_grad_kernels.TABLE, nn_grad.TABLE, nn_topk_kernels.TABLE,
           nn_sort_grad.TABLE),
    "control_flow": (control_flow_kernels.TABLE, control_flow_loop_kernels.TABLE,
                     control_flow_grad.TABLE, control_flow_assert_kernels.TABLE),
    "data_flow": (data_flow_stack_kernels.TABLE, data_flow_tensor_array_kernels.TABLE,
                  data_flow_tensor_array_grad.TABLE),
    "state": (state_kernels.TABLE, state_resource_kernels.TABLE),
    "random": (random_kernels.TABLE,),
    "io": (io_kernels.TABLE,),
    "training": (training_kernels.TABLE,),
    "autodiff": (autodiff_kernels.TABLE,),
}

# objects that stand for a tensor, and how each converts (``convert_to_tensor``)
CONVERSIONS = (
    (variables.Variable, variables.to_tensor),
    (resource_variables.ResourceVariable, resource_variables.to_tensor),
    (resource_variables.UnreadVariable, resource_variables.unread_to_tensor),
    (partitioned.PartitionedVariable, partitioned.to_tensor),
    (indexed_slices.IndexedSlices, indexed_slices.to_tensor),
)

_installed = []


def install() -> None:
    """Install every family into the registry, once; later calls do nothing."""
    if _installed:
        return
    _installed.append(True)
    for tables in FAMILIES.values():
        for table in tables:
            registry.install(table)
    for cls, fn in CONVERSIONS:
        register_tensor_conversion(cls, fn)
    operators.install([Tensor, variables.Variable, resource_variables.ResourceVariable,
                       resource_variables.UnreadVariable], {"getitem": getitem})
