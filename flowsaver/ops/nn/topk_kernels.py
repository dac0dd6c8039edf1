"""``TopKV2``: the ``k`` largest entries of each row (last dimension), with their indices.

Ties go to the lower index, as in TensorFlow, so sorting is stable: ``tf.sort`` and
``tf.argsort`` are built on it.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.registry import OpTable
from flowsaver.ops.shapes import fail

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'TopKV2(input: T, k: Tk) -> (values: T, indices: index_type); sorted: bool = true; '
    'T: type {float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, '
    'uint32, uint64}; Tk: type {int16, int32, int64} = int32; '
    'index_type: type {int16, int32, int64} = int32',
)


@shape_fn("TopKV2")
def _top_k_shape(op):
    shape = op.inputs[0].shape
    if op.inputs[1].shape.ndims not in (None, 0):
        raise fail(op, f"Shape must be rank 0 but is rank {op.inputs[1].shape.ndims}")
    if shape.ndims is not None and shape.ndims < 1:
        raise fail(op, f"Shape must be at least rank 1 but is rank {shape.ndims}")
    k = value_of(op.inputs[1])
    k = None if k is None else int(k)
    if k is not None and k < 0:
        raise fail(op, f"Need k >= 0, got {k}")
    if shape.ndims is None:
        return [TensorShape(None)] * 2
    dims = shape.as_list()
    if k is not None and dims[-1] is not None and dims[-1] < k:
        raise fail(op, f"input must have last dimension >= k = {k} but is {dims[-1]}")
    out = TensorShape(dims[:-1] + [k])
    return [out, out]


def descending_order(x: np.ndarray) -> np.ndarray:
    """Indices sorting the last axis of ``x`` from largest to smallest, ties by index."""
    n = x.shape[-1]
    ascending = np.argsort(x[..., ::-1], axis=-1, kind="stable")
    return (n - 1 - ascending)[..., ::-1]


@kernel("TopKV2")
def _top_k(op, ctx):
    index_type = op.get_attr("index_type").as_numpy_dtype

    def top_k(x, k):
        k = int(k)
        if k < 0:
            raise errors.InvalidArgumentError(None, op, f"Need k >= 0, got {k}")
        if x.ndim < 1:
            raise errors.InvalidArgumentError(None, op, "input must be >= 1-D, got shape []")
        if x.shape[-1] < k:
            raise errors.InvalidArgumentError(
                None, op, f"input must have at least k columns. Had {x.shape[-1]}, needed {k}")
        if k == 1:  # the first largest entry of each row
            indices = np.argmax(x, axis=-1)[..., None]
        else:
            indices = descending_order(x)[..., :k]
        return np.take_along_axis(x, indices, axis=-1), indices.astype(index_type)
    return top_k
