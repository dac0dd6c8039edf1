"""``DynamicPartition`` and ``ParallelDynamicStitch``: split rows by partition number and
put them back by index (the pair behind embedding lookups over partitioned tables)."""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'DynamicPartition(data: T, partitions: int32) -> (outputs: num_partitions * T); num_partitions: int >= 1; T: type',
    'ParallelDynamicStitch(indices: N * int32, data: N * T) -> (merged: T); N: int >= 1; T: type',
)


@shape_fn("DynamicPartition")
def _partition_shape(op):
    data, parts = op.inputs[0].shape, op.inputs[1].shape
    count = op.get_attr("num_partitions")
    if data.ndims is None or parts.ndims is None:
        return [TensorShape(None)] * count
    if not TensorShape(data.as_list()[:parts.ndims]).is_compatible_with(parts):
        raise ValueError(f"Dimensions must be equal, but are {data} and {parts} for "
                         f"'{op.name}' (op: 'DynamicPartition')")
    return [TensorShape([None] + data.as_list()[parts.ndims:])] * count


@kernel("DynamicPartition")
def _partition(op, ctx):
    count = op.get_attr("num_partitions")

    def run(data, partitions):
        flat = partitions.reshape(-1)
        bad = (flat < 0) | (flat >= count)
        if bad.any():
            i = int(np.argmax(bad))
            raise errors.InvalidArgumentError(
                None, op, f"partitions[{i}] = {int(flat[i])} is not in [0, {count})")
        rows = data.reshape((flat.size,) + data.shape[partitions.ndim:])
        return [rows[flat == p] for p in range(count)]
    return run


@shape_fn("ParallelDynamicStitch")
def _stitch_shape(op):
    n = op.get_attr("N")
    indices, data = op.inputs[:n], op.inputs[n:]
    inner = TensorShape(None)
    for i, d in zip(indices, data):
        if i.shape.ndims is not None and d.shape.ndims is not None:
            inner = inner.merge_with(TensorShape(d.shape.as_list()[i.shape.ndims:]))
    if inner.ndims is None:
        return [TensorShape(None)]
    values = [value_of(i) for i in indices]
    first = None
    if all(v is not None for v in values):
        first = max((int(np.max(v)) + 1 for v in values if np.size(v)), default=0)
    return [TensorShape([first] + inner.as_list())]


@kernel("ParallelDynamicStitch")
def _stitch(op, ctx):
    n = op.get_attr("N")

    def run(*args):
        indices, data = args[:n], args[n:]
        size = max((int(np.max(i)) + 1 for i in indices if np.size(i)), default=0)
        inner = data[0].shape[indices[0].ndim:]
        out = np.zeros((size,) + inner, dtype=data[0].dtype)
        for i, d in zip(indices, data):
            out[i.reshape(-1)] = d.reshape((-1,) + inner)
        return out
    return run
