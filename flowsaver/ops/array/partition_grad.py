"""Gradients of ``DynamicPartition`` and ``ParallelDynamicStitch``, as TensorFlow builds
them: a partition's gradient is stitched back by each row's original position; a stitch's
gradient gathers each input's rows."""
from __future__ import annotations

from flowsaver.ops.array import basic as array_ops
from flowsaver.ops.array import slicing
from flowsaver.ops.autodiff.indexed_slices import IndexedSlices
from flowsaver.ops.math import reductions
from flowsaver.ops.op_builder import create_op
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient


@gradient("DynamicPartition")
def _partition_grad(op, *grads):
    data, partitions = op.inputs
    prefix_shape = array_ops.shape(partitions)
    original = array_ops.reshape(reductions.range(reductions.reduce_prod(prefix_shape)),
                                 prefix_shape)
    parts = create_op("DynamicPartition", [original, partitions],
                      {"num_partitions": op.get_attr("num_partitions")})
    stitched = create_op("ParallelDynamicStitch", [parts, list(grads)])
    return [array_ops.reshape(stitched, array_ops.shape(data)), None]


@gradient("ParallelDynamicStitch")
def _stitch_grad(op, grad):
    n = op.get_attr("N")
    indices = list(op.inputs[:n])
    if isinstance(grad, IndexedSlices):
        rows = array_ops.shape(op.outputs[0])[0]
        grad = slicing.unsorted_segment_sum(grad.values, grad.indices, rows)
    return [None] * n + [slicing.gather(grad, i) for i in indices]
