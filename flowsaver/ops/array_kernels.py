"""Array ops: building, reshaping and combining tensors. Defs, shape functions, kernels."""
from __future__ import annotations

import numpy as np

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops import shape_util
from flowsaver.ops.registry import define, kernel, shape_fn

define(
    'Fill(dims: index_type, value: T) -> (output: T); T: type; index_type: type {int32, int64} = int32',
    'Pack(values: N * T) -> (output: T); N: int >= 1; T: type; axis: int = 0',
)


@shape_fn("Fill")
def _fill_shape(op):
    return [shape_util.shape_from_tensor(op.inputs[0])]


@kernel("Fill")
def _fill(op, ctx):
    return lambda dims, value: np.full(tuple(np.reshape(dims, -1)), value, dtype=np.asarray(value).dtype)


@shape_fn("Pack")
def _pack_shape(op):
    shape = TensorShape(None)
    for t in op.inputs:
        shape = shape.merge_with(t.shape)
    if shape.ndims is None:
        return [TensorShape(None)]
    dims = shape.as_list()
    axis = op.get_attr("axis")
    axis = axis + len(dims) + 1 if axis < 0 else axis
    return [dims[:axis] + [len(op.inputs)] + dims[axis:]]


@kernel("Pack")
def _pack(op, ctx):
    axis = op.get_attr("axis")
    return lambda *values: np.stack(values, axis=axis)
