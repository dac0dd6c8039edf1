"""Gradients of the space/batch/depth rearrangements, as TensorFlow builds them: each op's
gradient is its inverse applied to the incoming gradient, with the same blocks."""
from __future__ import annotations

from flowsaver.ops.array import blocks
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient


@gradient("SpaceToBatchND")
def _space_to_batch_nd_grad(op, grad):
    return [blocks.batch_to_space_nd(grad, op.inputs[1], op.inputs[2]), None, None]


@gradient("BatchToSpaceND")
def _batch_to_space_nd_grad(op, grad):
    return [blocks.space_to_batch_nd(grad, op.inputs[1], op.inputs[2]), None, None]


@gradient("SpaceToBatch")
def _space_to_batch_grad(op, grad):
    return [blocks.batch_to_space(grad, op.inputs[1], block_size=op.get_attr("block_size")),
            None]


@gradient("BatchToSpace")
def _batch_to_space_grad(op, grad):
    return [blocks.space_to_batch(grad, op.inputs[1], block_size=op.get_attr("block_size")),
            None]


def _layout(op):
    data_format = op.get_attr("data_format")
    data_format = data_format.decode() if isinstance(data_format, bytes) else data_format
    if data_format == "NCHW_VECT_C":
        raise ValueError(f"Cannot compute {op.type} gradient with NCHW_VECT_C. NCHW_VECT_C "
                         f"requires qint8 data type.")
    return data_format


@gradient("SpaceToDepth")
def _space_to_depth_grad(op, grad):
    return blocks.depth_to_space(grad, op.get_attr("block_size"), data_format=_layout(op))


@gradient("DepthToSpace")
def _depth_to_space_grad(op, grad):
    return blocks.space_to_depth(grad, op.get_attr("block_size"), data_format=_layout(op))
