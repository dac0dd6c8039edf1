"""Public functions that move blocks of pixels between space, batch and depth:
``tf.space_to_batch_nd``, ``tf.batch_to_space_nd``, ``tf.space_to_batch``,
``tf.batch_to_space``, ``tf.space_to_depth`` and ``tf.depth_to_space`` (TF1's forms)."""
from __future__ import annotations

import numpy as np

from flowsaver.graph.operation import Tensor
from flowsaver.ops.op_builder import create_op, graph_of


def _gen(op_type: str, inputs: list, attrs: dict | None, name) -> Tensor:
    with graph_of(inputs).as_default():
        return create_op(op_type, inputs, attrs, name=name)


def space_to_batch_nd(input, block_shape, paddings, name=None) -> Tensor:  # noqa: A002
    """Each ``block_shape`` tile of the zero-padded spatial dimensions dealt out to
    ``prod(block_shape)`` batches (``SpaceToBatchND``)."""
    return _gen("SpaceToBatchND", [input, block_shape, paddings], None, name)


def batch_to_space_nd(input, block_shape, crops, name=None) -> Tensor:  # noqa: A002
    """The inverse of ``space_to_batch_nd``, then ``crops`` cut off (``BatchToSpaceND``)."""
    return _gen("BatchToSpaceND", [input, block_shape, crops], None, name)


def _square(block_size, block_shape):
    if block_shape is not None:
        if block_size is not None:
            raise ValueError("Cannot specify both 'block_shape' and 'block_size'.")
        block_size = block_shape
    return np.array([block_size, block_size], dtype=np.int64)


def space_to_batch(input, paddings, block_size=None, name=None, block_shape=None):  # noqa: A002
    """``space_to_batch_nd`` of a 4-D batch with a square block (TF1's form)."""
    result = space_to_batch_nd(input, _square(block_size, block_shape),
                               paddings, name=name)
    result.set_shape(result.shape.with_rank(4))
    return result


def batch_to_space(input, crops, block_size, name=None, block_shape=None):  # noqa: A002
    """``batch_to_space_nd`` of a 4-D batch with a square block (TF1's form)."""
    result = batch_to_space_nd(input, _square(block_size, block_shape),
                               crops, name=name)
    result.set_shape(result.shape.with_rank(4))
    return result


def space_to_depth(input, block_size, name=None, data_format="NHWC") -> Tensor:  # noqa: A002
    """Each ``block_size`` square of pixels moved into the channels (``SpaceToDepth``)."""
    return _gen("SpaceToDepth", [input], {"block_size": block_size,
                                          "data_format": data_format}, name)


def depth_to_space(input, block_size, name=None, data_format="NHWC") -> Tensor:  # noqa: A002
    """The inverse of ``space_to_depth`` (``DepthToSpace``)."""
    return _gen("DepthToSpace", [input], {"block_size": block_size,
                                          "data_format": data_format}, name)
