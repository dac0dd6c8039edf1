"""``tf.linspace`` (also ``tf.lin_space``): TensorFlow 2's N-d composite, op for op.

``num`` evenly spaced values from ``start`` to ``stop`` inclusive, along a new ``axis``;
``start`` and ``stop`` may be tensors of any broadcastable shapes. TensorFlow builds it
from broadcasting, a ``range`` of step indices scaled by the step size, and a ``concat``
of start, interior and stop values sliced to ``num`` (so ``num`` of 0 or 1 works).
"""
from __future__ import annotations

from flowsaver.graph.operation import Tensor
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math.basic import cast
from flowsaver.ops.math.reductions import range as range_
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ['linspace', 'lin_space']


def _int_tensor(value, name: str) -> Tensor:
    """``value`` as an int32 tensor (always through a ``Cast``, as TensorFlow does)."""
    tensor = convert_to_tensor(value, name=name, preferred_dtype="int32")
    if not tensor.dtype.base_dtype.is_integer:
        raise TypeError(f"Argument `tensor` (name: {name}) must be of type integer. Received "
                        f"`tensor` = {tensor} of dtype: {tensor.dtype}")
    return create_op("Cast", [tensor], {"DstT": "int32"})


def linspace(start, stop, num, name=None, axis=0) -> Tensor:
    """``num`` values from ``start`` to ``stop``, both included, evenly spaced along
    ``axis``."""
    g = graph_of([start, stop, num])
    with g.as_default(), g.name_scope(name or "linspace"):
        start = convert_to_tensor(start, name="start")
        stop = convert_to_tensor(stop, name="stop", dtype=start.dtype.base_dtype)
        num_int = _int_tensor(num, "num")
        num = cast(num_int, start.dtype.base_dtype)
        shape = create_op("BroadcastArgs", [array_ops.shape(start), array_ops.shape(stop)])
        start = array_ops.broadcast_to(start, shape)
        stop = array_ops.broadcast_to(stop, shape)
        expanded_start = array_ops.expand_dims(start, axis=axis)
        expanded_stop = array_ops.expand_dims(stop, axis=axis)
        shape = array_ops.shape(expanded_start)
        ndims = array_ops.shape(shape)[0]
        axis = array_ops.where_v2(axis >= 0, axis, ndims + axis)
        num_fill = create_op("Maximum", [num_int - 2, 0])
        n_steps = create_op("Maximum", [num_int - 1, 1])
        delta = (expanded_stop - expanded_start) / cast(n_steps, expanded_stop.dtype.base_dtype)
        expanded_start = cast(expanded_start, delta.dtype.base_dtype)
        expanded_stop = cast(expanded_stop, delta.dtype.base_dtype)
        range_end = array_ops.where_v2(num_int >= 0, n_steps, -1)
        desired_range = cast(range_(1, range_end, dtype="int64"), delta.dtype.base_dtype)
        mask = create_op("Equal", [axis, range_(ndims)])
        desired_range_shape = array_ops.where_v2(mask, num_fill, 1)
        desired_range = array_ops.reshape(desired_range, desired_range_shape)
        res = expanded_start + delta * desired_range
        concatenated = array_ops.concat((expanded_start, res, expanded_stop), axis=axis)
        begin = array_ops.zeros_like(shape)
        size = array_ops.concat((shape[0:axis], array_ops.reshape(num_int, [1]),
                                 shape[axis + 1:]), axis=0)
        return array_ops.slice(concatenated, begin, size)


lin_space = linspace
