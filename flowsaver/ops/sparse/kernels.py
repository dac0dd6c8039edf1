"""Sparse ops: ``SparseToDense`` (what ``tf.sparse.to_dense`` builds)."""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.ops import shapes
from flowsaver.ops.registry import NO_GRADIENT_YET, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'SparseToDense(sparse_indices: Tindices, output_shape: Tindices, sparse_values: T, default_value: T) -> (dense: T); validate_indices: bool = true; T: type; Tindices: type {int32, int64}',
)
TABLE.mark(NO_GRADIENT_YET, "SparseToDense")


@shape_fn("SparseToDense")
def _to_dense_shape(op):
    return [shapes.shape_from_tensor(op.inputs[1])]


@kernel("SparseToDense")
def _to_dense(op, ctx):
    validate = op.get_attr("validate_indices")
    dtype = op.get_attr("T").as_numpy_dtype

    def run(indices, shape, values, default):
        shape = tuple(int(d) for d in np.reshape(shape, -1))
        indices = np.asarray(indices).reshape(-1, len(shape)) if len(shape) else \
            np.zeros((np.size(values), 0), np.int64)
        values = np.broadcast_to(np.asarray(values, dtype=dtype), (len(indices),))
        out = np.full(shape, np.asarray(default, dtype=dtype), dtype=dtype)
        if validate:
            _check(op, indices, shape)
        if len(indices):
            out[tuple(indices.T)] = values
        return out
    return run


def _check(op, indices, shape) -> None:
    previous = None
    for i, index in enumerate(indices):
        where = "[" + ",".join(str(int(d)) for d in index) + "]"
        if np.any(index < 0) or np.any(index >= np.asarray(shape, np.int64)):
            raise errors.InvalidArgumentError(
                None, op, f"{op.name}: indices[{i}] = {where} is out of bounds: need "
                          f"0 <= index < [{','.join(map(str, shape))}]")
        key = tuple(int(d) for d in index)
        if previous is not None and key <= previous:
            what = "repeated" if key == previous else "out of order"
            raise errors.InvalidArgumentError(
                None, op, f"{op.name}: indices[{i}] = {where} is {what}; sparse indices "
                          f"must be sorted and unique when validate_indices is set")
        previous = key
