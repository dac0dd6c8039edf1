"""Helpers for shape functions: broadcasting, and values known while building the graph."""
from __future__ import annotations

import numpy as np

from flowsaver.format import tensor_proto
from flowsaver.graph.tensor_shape import TensorShape, broadcast_shapes


def broadcast(op) -> list:
    """The broadcast shape of a binary op's two inputs (one output)."""
    try:
        return [broadcast_shapes(op.inputs[0].shape, op.inputs[1].shape)]
    except ValueError as e:
        raise ValueError(f"{e} for '{op.name}' (op: '{op.type}') with input shapes: "
                         f"{op.inputs[0].shape}, {op.inputs[1].shape}.") from None


def constant_value(tensor):
    """The value of ``tensor`` when it is known without running the graph, else None.

    Knows Const, Shape/Size/Rank of static shapes, Pack of known values, Cast and
    Identity, as TensorFlow's ``constant_value`` does for shape inference.
    """
    op = tensor.op
    if op.type == "Const":
        return tensor_proto.to_array(op._get_attr_proto("value").tensor)
    if op.type == "Shape" and op.inputs[0].shape.is_fully_defined():
        return np.array(op.inputs[0].shape.as_list(), dtype=op.get_attr("out_type").as_numpy_dtype)
    if op.type == "Size" and op.inputs[0].shape.is_fully_defined():
        return np.array(op.inputs[0].shape.num_elements(),
                        dtype=op.get_attr("out_type").as_numpy_dtype)
    if op.type == "Rank" and op.inputs[0].shape.ndims is not None:
        return np.array(op.inputs[0].shape.ndims, dtype=np.int32)
    if op.type in ("Identity", "StopGradient"):
        return constant_value(op.inputs[0])
    if op.type == "Cast":
        value = constant_value(op.inputs[0])
        return None if value is None else value.astype(op.get_attr("DstT").as_numpy_dtype)
    if op.type == "Pack":
        values = [constant_value(t) for t in op.inputs]
        if any(v is None for v in values):
            return None
        return np.stack(values, axis=op.get_attr("axis"))
    return None


def shape_from_tensor(tensor) -> TensorShape:
    """The static shape a 1-D shape tensor describes; unknown parts stay unknown.

    ``tf.reshape(x, tf.stack([batch, 3]))`` gives ``(?, 3)`` when only 3 is known.
    """
    value = constant_value(tensor)
    if value is not None:
        return TensorShape([None if d == -1 else int(d) for d in np.reshape(value, -1)])
    op = tensor.op
    if op.type == "Pack":
        dims = []
        for t in op.inputs:
            v = constant_value(t)
            dims.append(None if v is None or int(v) == -1 else int(v))
        return TensorShape(dims)
    if tensor.shape.ndims == 1 and tensor.shape.as_list()[0] is not None:
        return TensorShape([None] * tensor.shape.as_list()[0])
    return TensorShape(None)
