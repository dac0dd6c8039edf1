"""The gradient of ``TopKV2``: each row's gradient scattered back to the entries it came from
(TensorFlow's construction: linear indices into the flattened input, ``ScatterNd``)."""
from __future__ import annotations

from flowsaver.ops.array import basic as array_ops
from flowsaver.ops.array import layout
from flowsaver.ops.array.reorder import scatter_nd
from flowsaver.ops.array.slicing import gather
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)


@TABLE.gradient("TopKV2")
def _top_k_grad(op, grad, _):
    in_shape = array_ops.shape(op.inputs[0])
    ind_shape = array_ops.shape(op.outputs[1])
    ind_lastdim = gather(math_ops.cast(ind_shape, "int64"), array_ops.size(ind_shape) - 1)
    ind_2d = array_ops.reshape(op.outputs[1], array_ops.stack([-1, ind_lastdim]))
    in_lastdim = gather(math_ops.cast(in_shape, "int64"), array_ops.size(in_shape) - 1)
    outerdim = array_ops.shape(ind_2d)[0]
    offsets = math_ops.range(0, math_ops.cast(outerdim, "int64") * in_lastdim, in_lastdim)
    ind = array_ops.reshape(
        ind_2d + math_ops.cast(layout.expand_dims(offsets, -1), "int32"), [-1])
    return [array_ops.reshape(
        scatter_nd(layout.expand_dims(ind, -1), array_ops.reshape(grad, [-1]),
                   [math_ops.reduce_prod(in_shape)]), in_shape),
        array_ops.zeros([], dtype="int32")]
