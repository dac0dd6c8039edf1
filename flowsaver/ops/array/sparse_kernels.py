"""``SparseToDense``: a dense tensor of ``default_value`` with values written at indices
(what sampled losses use to mask accidental hits)."""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.ops.registry import NO_GRADIENT_YET, OpTable
from flowsaver.ops.shapes import partial_shape

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'SparseToDense(sparse_indices: Tindices, output_shape: Tindices, sparse_values: T, default_value: T) -> (dense: T); validate_indices: bool = true; T: type; Tindices: type {int32, int64}',
)
# TensorFlow's gradient gathers the values' gradient with GatherNd, not here yet
TABLE.mark(NO_GRADIENT_YET, "SparseToDense")
shape_fn("SparseToDense")(lambda op: [partial_shape(op.inputs[1])])


@kernel("SparseToDense")
def _sparse_to_dense(op, ctx):
    validate = op.get_attr("validate_indices")

    def run(indices, shape, values, default):
        shape = tuple(int(d) for d in np.reshape(shape, -1))
        indices = np.asarray(indices).reshape(-1, len(shape)) if len(shape) else \
            np.zeros((np.size(indices), 0), np.int64)
        out = np.full(shape, default, dtype=np.asarray(values).dtype)
        values = np.broadcast_to(values, (indices.shape[0],))
        if indices.shape[0] == 0:
            return out
        bad = (indices < 0) | (indices >= np.array(shape))
        if bad.any():
            row = int(np.argmax(bad.any(axis=1)))
            raise errors.InvalidArgumentError(
                None, op, f"indices[{row}] = {_index_str(indices[row])} is out of bounds: "
                          f"need 0 <= index < {_index_str(shape)}")
        if validate and indices.shape[0] > 1:
            step = np.diff(np.ravel_multi_index(tuple(indices.T), shape))
            if np.any(step <= 0):
                row = int(np.argmax(step <= 0)) + 1
                what = "repeated" if step[row - 1] == 0 else "out of order"
                raise errors.InvalidArgumentError(
                    None, op, f"indices[{row}] = {_index_str(indices[row])} is {what}. Many "
                              f"sparse ops require sorted indices. Use `tf.sparse.reorder` to "
                              f"create a correctly ordered copy.")
        out[tuple(indices.T)] = values
        return out
    return run


def _index_str(index) -> str:
    return "[" + ",".join(str(int(d)) for d in index) + "]"
