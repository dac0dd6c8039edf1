"""Gradients of the sparse segment reductions, as TensorFlow 2.21 builds them.

Each row of ``data`` receives the gradient of every segment that read it, scaled by what
the forward op divided that segment by. By default the gradient is dense, one
``SparseSegment*Grad`` over ``data``'s row count; an op built with ``sparse_gradient``
gets an ``IndexedSlices`` instead, the rows of its distinct indices from
``SparseSegment*GradV2``. The indices, ids and segment count get no gradient.
"""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.autodiff.indexed_slices import IndexedSlices
from flowsaver.ops.math.sparse_segment_kernels import FORWARD, WITH_NUM_SEGMENTS, _reduction
from flowsaver.ops.op_builder import create_op
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient


def _sparse_segment_grad(op, grad):
    data, indices, ids = op.inputs[:3]
    no_gradient = [None] * (len(op.inputs) - 1)
    grad_type = f"SparseSegment{_reduction(op.type)}Grad"
    if op.get_attr("sparse_gradient"):
        data_shape = array_ops.shape(data)
        values, unique_indices = create_op(f"{grad_type}V2",
                                           [grad, indices, ids, data_shape[0]])
        return [IndexedSlices(values, unique_indices, data_shape)] + no_gradient
    dim0 = array_ops.shape(data)[0]
    return [create_op(grad_type, [grad, indices, ids, dim0])] + no_gradient


for _op_type in FORWARD + WITH_NUM_SEGMENTS:
    gradient(_op_type)(_sparse_segment_grad)
