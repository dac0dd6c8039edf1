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
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.array import basic as array_basic
from flowsaver.ops.array import block_grad as array_block_grad
from flowsaver.ops.array import block_kernels as array_block_kernels
from flowsaver.ops.array import core_kernels as array_core_kernels
from flowsaver.ops.array import grad as array_grad
from flowsaver.ops.array import index_kernels as array_index_kernels
from flowsaver.ops.array import kernels as array_kernels
from flowsaver.ops.array import partition_grad as array_partition_grad
from flowsaver.ops.array import partition_kernels as array_partition_kernels
from flowsaver.ops.array import sequence_grad as array_sequence_grad
from flowsaver.ops.array import sequence_kernels as array_sequence_kernels
from flowsaver.ops.array import sparse_kernels as array_sparse_kernels
from flowsaver.ops.array import split_grad as array_split_grad
from flowsaver.ops.array import split_kernels as array_split_kernels
from flowsaver.ops.array import transform_kernels as array_transform_kernels
from flowsaver.ops.array import unique_kernels as array_unique_kernels
from flowsaver.ops.array.slicing import getitem
from flowsaver.ops.autodiff import indexed_slices
from flowsaver.ops.autodiff import kernels as autodiff_kernels
from flowsaver.ops.control_flow import grad as control_flow_grad
from flowsaver.ops.control_flow import kernels as control_flow_kernels
from flowsaver.ops.control_flow import loop_kernels as control_flow_loop_kernels
from flowsaver.ops.data import dataset_kernels as data_dataset_kernels
from flowsaver.ops.data import iterator_kernels as data_iterator_kernels
from flowsaver.ops.data_flow import stack_kernels as data_flow_stack_kernels
from flowsaver.ops.data_flow import tensor_array_grad as data_flow_tensor_array_grad
from flowsaver.ops.data_flow import tensor_array_kernels as data_flow_tensor_array_kernels
from flowsaver.ops.functional import kernels as functional_kernels
from flowsaver.ops.functional import list_array_kernels as functional_list_array_kernels
from flowsaver.ops.functional import list_kernels as functional_list_kernels
from flowsaver.ops.functional import optional_kernels as functional_optional_kernels
from flowsaver.ops.io import kernels as io_kernels
from flowsaver.ops.io import parsing_kernels as io_parsing_kernels
from flowsaver.ops.logging import grad as logging_grad
from flowsaver.ops.logging import kernels as logging_kernels
from flowsaver.ops.math import clip_kernels as math_clip_kernels
from flowsaver.ops.math import grad as math_grad
from flowsaver.ops.math import kernels as math_kernels
from flowsaver.ops.math import matmul_grad as math_matmul_grad
from flowsaver.ops.math import matmul_kernels as math_matmul_kernels
from flowsaver.ops.math import reduce_kernels as math_reduce_kernels
from flowsaver.ops.math import scan_grad as math_scan_grad
from flowsaver.ops.math import scan_kernels as math_scan_kernels
from flowsaver.ops.math import segment_grad as math_segment_grad
from flowsaver.ops.math import segment_kernels as math_segment_kernels
from flowsaver.ops.math import sparse_segment_grad as math_sparse_segment_grad
from flowsaver.ops.math import sparse_segment_kernels as math_sparse_segment_kernels
from flowsaver.ops.math import special_grad as math_special_grad
from flowsaver.ops.math import special_kernels as math_special_kernels
from flowsaver.ops.nn import activation_grad_kernels as nn_activation_grad_kernels
from flowsaver.ops.nn import candidate_kernels as nn_candidate_kernels
from flowsaver.ops.nn import conv_grad_kernels as nn_conv_grad_kernels
from flowsaver.ops.nn import conv_kernels as nn_conv_kernels
from flowsaver.ops.nn import depthwise_kernels as nn_depthwise_kernels
from flowsaver.ops.nn import grad as nn_grad
from flowsaver.ops.image import color_kernels as image_color_kernels
from flowsaver.ops.image import kernels as image_kernels
from flowsaver.ops.image import crop_kernels as image_crop_kernels
from flowsaver.ops.image import nms_kernels as image_nms_kernels
from flowsaver.ops.image import resize_kernels as image_resize_kernels
from flowsaver.ops.nn import kernels as nn_kernels
from flowsaver.ops.nn import norm_grad as nn_norm_grad
from flowsaver.ops.nn import norm_kernels as nn_norm_kernels
from flowsaver.ops.nn import sort_grad as nn_sort_grad
from flowsaver.ops.nn import topk_kernels as nn_topk_kernels
from flowsaver.ops.op_builder import register_tensor_conversion
from flowsaver.ops.queue import kernels as queue_kernels
from flowsaver.ops.queue import reader_kernels as queue_reader_kernels
from flowsaver.ops.random import gamma_kernels as random_gamma_kernels
from flowsaver.ops.random import grad as random_grad
from flowsaver.ops.random import kernels as random_kernels
from flowsaver.ops.random import multinomial_kernels as random_multinomial_kernels
from flowsaver.ops.random import stateless_kernels as random_stateless_kernels
from flowsaver.ops.state import kernels as state_kernels
from flowsaver.ops.summary import kernels as summary_kernels
from flowsaver.ops.state import lazy_tensor, partitioned, resource_variables, variables
from flowsaver.ops.state import resource_kernels as state_resource_kernels
from flowsaver.ops.state import scatter_kernels as state_scatter_kernels
from flowsaver.ops.training import kernels as training_kernels
from flowsaver.ops.training import more_kernels as training_more_kernels
from flowsaver.ops.training import sparse_kernels as training_sparse_kernels

# family -> its modules' tables
FAMILIES = {
    "array": (array_core_kernels.TABLE, array_kernels.TABLE, array_index_kernels.TABLE,
              array_transform_kernels.TABLE, array_grad.TABLE, array_partition_kernels.TABLE,
              array_partition_grad.TABLE, array_sparse_kernels.TABLE, array_split_kernels.TABLE,
              array_split_grad.TABLE, array_sequence_kernels.TABLE,
              array_sequence_grad.TABLE, array_unique_kernels.TABLE,
              array_block_kernels.TABLE, array_block_grad.TABLE),
    "math": (math_kernels.TABLE, math_reduce_kernels.TABLE, math_grad.TABLE,
             math_matmul_kernels.TABLE, math_matmul_grad.TABLE, math_special_kernels.TABLE,
             math_special_grad.TABLE, math_scan_kernels.TABLE, math_scan_grad.TABLE,
             math_clip_kernels.TABLE, math_segment_kernels.TABLE, math_segment_grad.TABLE,
             math_sparse_segment_kernels.TABLE, math_sparse_segment_grad.TABLE),
    "nn": (nn_kernels.TABLE, nn_conv_kernels.TABLE, nn_conv_grad_kernels.TABLE,
           nn_activation_grad_kernels.TABLE, nn_grad.TABLE, nn_norm_kernels.TABLE,
           nn_depthwise_kernels.TABLE, nn_norm_grad.TABLE, nn_candidate_kernels.TABLE,
           nn_topk_kernels.TABLE, nn_sort_grad.TABLE),
    "control_flow": (control_flow_kernels.TABLE, control_flow_loop_kernels.TABLE,
                     control_flow_grad.TABLE),
    "data_flow": (data_flow_stack_kernels.TABLE, data_flow_tensor_array_kernels.TABLE,
                  data_flow_tensor_array_grad.TABLE),
    "functional": (functional_kernels.TABLE, functional_list_kernels.TABLE,
                   functional_list_array_kernels.TABLE, functional_optional_kernels.TABLE),
    "state": (state_kernels.TABLE, state_resource_kernels.TABLE,
              state_scatter_kernels.TABLE),
    "random": (random_kernels.TABLE, random_stateless_kernels.TABLE,
               random_multinomial_kernels.TABLE, random_gamma_kernels.TABLE, random_grad.TABLE),
    "io": (io_kernels.TABLE, io_parsing_kernels.TABLE),
    "logging": (logging_kernels.TABLE, logging_grad.TABLE),
    "summary": (summary_kernels.TABLE,),
    "data": (data_dataset_kernels.TABLE, data_iterator_kernels.TABLE),
    "image": (image_kernels.TABLE, image_resize_kernels.TABLE, image_color_kernels.TABLE,
              image_nms_kernels.TABLE, image_crop_kernels.TABLE),
    "queue": (queue_kernels.TABLE, queue_reader_kernels.TABLE),
    "training": (training_kernels.TABLE, training_more_kernels.TABLE,
                 training_sparse_kernels.TABLE),
    "autodiff": (autodiff_kernels.TABLE,),
}

# objects that stand for a tensor, and how each converts (``convert_to_tensor``)
CONVERSIONS = (
    (variables.Variable, variables.to_tensor),
    (resource_variables.ResourceVariable, resource_variables.to_tensor),
    (resource_variables.UnreadVariable, resource_variables.unread_to_tensor),
    (partitioned.PartitionedVariable, partitioned.to_tensor),
    (indexed_slices.IndexedSlices, indexed_slices.to_tensor),
    (TensorShape, array_basic.tensor_shape_to_tensor),
    (lazy_tensor.LazyEvalTensor, lazy_tensor.to_tensor),
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
