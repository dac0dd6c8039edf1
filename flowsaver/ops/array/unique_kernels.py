"""``Unique``: the distinct values of a vector in order of first appearance, and for each
element the position of its value among them (``x == y[idx]``)."""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.registry import NO_GRADIENT, OpTable
from flowsaver.ops.shapes import with_rank

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'Unique(x: T) -> (y: T, idx: out_idx); T: type; out_idx: type {int32, int64} = int32',
)
TABLE.mark(NO_GRADIENT, "Unique")


@shape_fn("Unique")
def _unique_shape(op):
    x = with_rank(op, op.inputs[0].shape, 1)
    return [TensorShape([None]), x]


@kernel("Unique")
def _unique(op, ctx):
    index_type = op.get_attr("out_idx").as_numpy_dtype

    def run(x):
        x = np.asarray(x)
        if x.ndim != 1:
            raise errors.InvalidArgumentError(None, op, f"unique expects a 1D vector. (node "
                                                        f"{op.name}, input shape "
                                                        f"{list(x.shape)})")
        # np.unique sorts; renumber its values by where each first appears
        _, first, inverse = np.unique(x, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        return x[np.sort(first)], rank[inverse.reshape(-1)].astype(index_type)
    return run
