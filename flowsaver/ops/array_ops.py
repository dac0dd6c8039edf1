"""Public array functions (``tf.zeros``, ``tf.stack``, ``tf.placeholder``, ...)."""
from __future__ import annotations

import numpy as np

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.graph import get_default_graph
from flowsaver.graph.tensor_shape import TensorShape, as_shape
from flowsaver.ops.op_builder import constant, convert_to_tensor, create_op, graph_of

# TensorFlow stores small zeros/ones as one Const; larger ones as Fill, keeping GraphDefs small.
SMALL_CONSTANT_ELEMENTS = 1000

__all__ = ['placeholder', 'placeholder_with_default', 'identity', 'stop_gradient', 'fill', 'zeros', 'ones', 'stack']


def placeholder(dtype, shape=None, name=None):
    """A tensor fed through ``feed_dict`` (``Placeholder``)."""
    return create_op("Placeholder", [], {"dtype": as_dtype(dtype),
                                         "shape": TensorShape(shape)}, name=name)


def placeholder_with_default(input, shape, name=None):  # noqa: A002 - TensorFlow's name
    """``input`` unless fed (``PlaceholderWithDefault``)."""
    # The default is converted inside the op's scope: a Python value becomes "<name>/input".
    g = graph_of([input])
    with g.as_default():
        return create_op("PlaceholderWithDefault", [input], {"shape": TensorShape(shape)},
                         name=name)


def identity(input, name=None):  # noqa: A002
    return create_op("Identity", [input], name=name)


def stop_gradient(input, name=None):  # noqa: A002
    return create_op("StopGradient", [input], name=name)


def fill(dims, value, name=None):
    return create_op("Fill", [dims, value], name=name)


def _filled(value, shape, dtype, name, scope_name):
    dtype = as_dtype(dtype)
    g = graph_of([shape])
    with g.as_default(), g.name_scope(name or scope_name) as scope:
        if dtype.is_bool:
            value = bool(value)
        elif dtype.kind == "string":
            value = ""
        if not hasattr(shape, "op"):
            dims = as_shape(shape)
            if dims.is_fully_defined() and np.prod(dims.as_list()) < SMALL_CONSTANT_ELEMENTS:
                return constant(value, dtype=dtype, shape=dims.as_list(), name=scope)
            shape = convert_to_tensor(dims.as_list(), dtype="int32", name="shape_as_tensor")
        return fill(shape, constant(value, dtype=dtype), name=scope)


def zeros(shape, dtype="float32", name=None):
    """A tensor of zeros (a Const when small, else ``Fill``)."""
    return _filled(0, shape, dtype, name, "zeros")


def ones(shape, dtype="float32", name=None):
    """A tensor of ones (a Const when small, else ``Fill``)."""
    return _filled(1, shape, dtype, name, "ones")


def stack(values, axis=0, name="stack"):
    """Pack tensors of one shape along a new ``axis`` (``Pack``)."""
    g = graph_of(values)
    with g.as_default():
        return create_op("Pack", [list(values)], {"axis": axis}, name=name)


def get_default_graph_for(values):
    return graph_of(values, get_default_graph())
