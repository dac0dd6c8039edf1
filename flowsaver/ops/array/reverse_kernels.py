"""``ReverseV2`` (``tf.reverse``): a tensor with the order of elements reversed along
``axis``; its gradient reverses the incoming gradient the same way."""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.ops.op_builder import create_op
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)

TABLE.define(
    'ReverseV2(tensor: T, axis: Tidx) -> (output: T); Tidx: type {int32, int64} = int32; T: type {uint8, int8, uint16, int16, int32, uint32, int64, uint64, bool, bfloat16, half, float, double, complex64, complex128, string}',
)


@TABLE.shape_fn("ReverseV2")
def _same_shape(op):
    return [op.inputs[0].shape]


@TABLE.kernel("ReverseV2")
def _reverse(op, ctx):
    def run(tensor, axis):
        tensor = np.asarray(tensor)
        axes = [int(a) for a in np.reshape(axis, -1)]
        rank = tensor.ndim
        if any(not -rank <= a < rank for a in axes):
            raise errors.InvalidArgumentError(None, op, f"'axis' {axes} out of range for a "
                                                        f"tensor of rank {rank}")
        normalized = [a % rank for a in axes] if rank else []
        if len(set(normalized)) != len(normalized):
            raise errors.InvalidArgumentError(None, op, f"axis {axes} is duplicated")
        return np.flip(tensor, normalized).copy() if normalized else tensor
    return run


@TABLE.gradient("ReverseV2")
def _reverse_grad(op, grad):
    return [create_op("ReverseV2", [grad, op.inputs[1]]), None]


def reverse(tensor, axis, name=None):
    """``tensor`` with its elements reversed along each dimension in ``axis``."""
    return create_op("ReverseV2", [tensor, axis], name=name)
