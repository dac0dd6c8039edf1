"""Public array functions (``tf.reshape``, ``tf.zeros``, ``tf.stack``, ``tf.concat``, ...).

Each builds the nodes TensorFlow 1.x's Python wrapper builds, with the same names: many
fold to a ``Const`` when the static shape already answers (``tf.shape`` of a fully known
shape, ``tf.zeros`` of fewer than 1000 elements). Slicing, gathering and masking are in
``slicing.py`` and re-exported here; ``t[...]`` is registered below.
"""
from __future__ import annotations

import numpy as np

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import TensorShape, as_shape
from flowsaver.ops.op_builder import (autopack, constant, convert_to_tensor, create_op, graph_of,
                                      tensor_like as _tensor_like)

# TensorFlow stores small zeros/ones as one Const; larger ones as Fill, keeping GraphDefs small.
SMALL_CONSTANT_ELEMENTS = 1000
newaxis = None


def _tf1_str(shape: TensorShape) -> str:
    """A shape as TensorFlow 1.x prints it: ``(?, 3)``."""
    if shape.ndims is None:
        return "<unknown>"
    dims = ["?" if d is None else str(d) for d in shape.as_list()]
    return "(" + ", ".join(dims) + (",)" if len(dims) == 1 else ")")


def placeholder(dtype, shape=None, name=None) -> Tensor:
    """A tensor fed through ``feed_dict`` (``Placeholder``)."""
    return create_op("Placeholder", [], {"dtype": as_dtype(dtype),
                                         "shape": TensorShape(shape)}, name=name)


def placeholder_with_default(input, shape, name=None) -> Tensor:  # noqa: A002 - TF's name
    """``input`` unless fed (``PlaceholderWithDefault``)."""
    with graph_of([input]).as_default():
        return create_op("PlaceholderWithDefault", [input], {"shape": TensorShape(shape)},
                         name=name)


def identity(input, name=None) -> Tensor:  # noqa: A002
    """The same value as a new tensor (``Identity``)."""
    with graph_of([input]).as_default():
        return create_op("Identity", [input], name=name)


def stop_gradient(input, name=None) -> Tensor:  # noqa: A002
    """``input``, with no gradient flowing back through it (``StopGradient``)."""
    with graph_of([input]).as_default():
        return create_op("StopGradient", [input], name=name)


def fill(dims, value, name=None) -> Tensor:
    """A tensor of shape ``dims`` holding ``value`` everywhere (``Fill``)."""
    with graph_of([dims, value]).as_default():
        return create_op("Fill", [dims, value], name=name)


# ---- zeros / ones ---------------------------------------------------------------------------
def _shape_as_tensor(shape: TensorShape, name: str = "shape_as_tensor") -> Tensor:
    """A fully known shape as an int32 Const (int64 when a dimension needs it)."""
    if not shape.is_fully_defined():
        raise ValueError(f"Cannot convert a partially known TensorShape {shape} to a Tensor.")
    dims = shape.as_list()
    dtype = "int64" if any(d >= 2**31 for d in dims) else "int32"
    return constant(dims, dtype=dtype, name=name)


def tensor_shape_to_tensor(shape: TensorShape, dtype=None, name=None, as_ref=False):
    """``convert_to_tensor`` of a TensorShape, as TensorFlow does it: an int32 Const of
    its dims (int64 when a dim needs it, or when asked for)."""
    if dtype is not None and dtype.base_dtype.name not in ("int32", "int64"):
        raise TypeError(f"Cannot convert {shape} to {dtype.name}")
    tensor = _shape_as_tensor(shape, name=name or "Const")
    if dtype is not None and tensor.dtype.base_dtype != dtype.base_dtype:
        if dtype.base_dtype.name == "int32":
            raise ValueError(f"Cannot convert {shape} to int32: a dimension needs int64")
        return constant(shape.as_list(), dtype=dtype, name=name or "Const")
    return tensor


def _static_count(shape):
    """The element count of a list, array or TensorShape; None with tensors or unknowns."""
    if isinstance(shape, TensorShape):
        return shape.num_elements()
    items = list(np.reshape(shape, -1)) if isinstance(shape, np.ndarray) else list(shape)
    if any(_tensor_like(d) or d is None for d in items):
        return None
    try:
        return np.prod([int(d) for d in items])
    except (TypeError, ValueError):
        return None


def _filled(value, shape, dtype, name, default_name) -> Tensor:
    dtype = as_dtype(dtype).base_dtype
    g = graph_of([shape])
    with g.as_default(), g.name_scope(name or default_name) as scope:
        if dtype.is_bool:
            value = bool(value)
        elif dtype.name == "string":
            value = "" if value == 0 else value
        if not isinstance(shape, Tensor):
            # TensorFlow's constant() takes no scalar shape: a bare int goes the Fill way
            count = _static_count(shape) if isinstance(
                shape, (list, tuple, np.ndarray, TensorShape)) else None
            if count is not None and count < SMALL_CONSTANT_ELEMENTS:
                return constant(value, dtype=dtype, shape=shape, name=scope)
            try:
                shape = _shape_as_tensor(as_shape(shape))
            except (TypeError, ValueError):  # a list holding tensors: packed
                shape = convert_to_tensor(shape, dtype="int32")
        if not shape.shape.ndims:  # a scalar or unknown-rank shape becomes a vector
            shape = reshape(shape, [-1])
        return fill(shape, constant(value, dtype=dtype), name=scope)


def zeros(shape, dtype="float32", name=None) -> Tensor:
    """A tensor of zeros (a Const when small, else ``Fill``)."""
    return _filled(0, shape, dtype, name, "zeros")


def ones(shape, dtype="float32", name=None) -> Tensor:
    """A tensor of ones (a Const when small, else ``Fill``)."""
    return _filled(1, shape, dtype, name, "ones")


def _shape_internal(tensor: Tensor, optimize: bool = True) -> Tensor:
    """TensorFlow's internal shape(): ``Shape/shape_as_tensor`` when known, else ``Shape``."""
    g = tensor.graph
    with g.name_scope("Shape") as scope:
        if optimize and tensor.shape.is_fully_defined():
            return _shape_as_tensor(tensor.shape)
        return create_op("Shape", [tensor], {"out_type": as_dtype("int32")}, name=scope)


def zeros_like(tensor, dtype=None, name=None, optimize=True) -> Tensor:
    """Zeros of ``tensor``'s shape: a Const when the shape is known, else ``ZerosLike``."""
    g = graph_of([tensor])
    with g.as_default(), g.name_scope(name or "zeros_like") as scope:
        if not _tensor_like(tensor):
            tensor = convert_to_tensor(tensor, name="tensor")
        given = tensor.shape
        own = tensor.dtype.base_dtype
        dtype = None if dtype is None else as_dtype(dtype).base_dtype
        if optimize and given.is_fully_defined():
            return zeros(given, dtype=dtype or own, name=scope)
        tensor = convert_to_tensor(tensor)
        if dtype is not None and dtype != own:
            return zeros(_shape_internal(tensor, optimize), dtype=dtype, name=scope)
        return create_op("ZerosLike", [tensor], name=scope)


def ones_like(tensor, dtype=None, name=None, optimize=True) -> Tensor:
    """Ones of ``tensor``'s shape, built as TensorFlow does: ``Fill`` of its shape."""
    g = graph_of([tensor])
    with g.as_default(), g.name_scope(name or "ones_like") as scope:
        tensor = convert_to_tensor(tensor, name="tensor")
        dims = _shape_internal(tensor, optimize)
        dtype = tensor.dtype.base_dtype if dtype is None else as_dtype(dtype).base_dtype
        out = ones(dims, dtype=dtype, name=scope)
        out.set_shape(tensor.shape)
        return out


# ---- stacking and concatenation -------------------------------------------------------------
def _has_tensor(values) -> bool:
    return any(_tensor_like(v) or (isinstance(v, (list, tuple)) and _has_tensor(v))
               for v in values)


def stack(values, axis=0, name="stack") -> Tensor:
    """Pack tensors of one shape along a new ``axis`` (``Pack``, or a Const for constants)."""
    g = graph_of(values if isinstance(values, (list, tuple)) else [values])
    with g.as_default():
        if axis == 0:
            if isinstance(values, Tensor):
                return values
            if isinstance(values, (list, tuple)) and _has_tensor(values):
                try:
                    return autopack(values, name=name)
                except (TypeError, ValueError):
                    pass
            elif not _tensor_like(values):
                try:
                    return constant(values, name=name or "Const")
                except (TypeError, ValueError):
                    pass
        first = convert_to_tensor(values[0], name=name)
        if first.shape.ndims is not None:
            n = first.shape.ndims + 1
            if not -n <= axis < n:
                raise ValueError(f"Argument `axis` = {axis} not in range [{-n}, {n})")
        return create_op("Pack", [list(values)], {"axis": axis}, name=name)


def unstack(value, num=None, axis=0, name="unstack") -> list:
    """The slices of ``value`` along ``axis`` (``Unpack``); ``num`` from the static shape."""
    with graph_of([value]).as_default():
        if num is None:
            value = convert_to_tensor(value)
            shape = value.shape
            if shape.ndims is not None:
                if not -shape.ndims <= axis < shape.ndims:
                    raise ValueError(f"Argument `axis` = {axis} not in range "
                                     f"[{-shape.ndims}, {shape.ndims})")
                num = shape.as_list()[axis]
            if num is None:
                raise ValueError(f"Cannot infer argument `num` from shape {_tf1_str(shape)}")
        return create_op("Unpack", [value], {"num": num, "axis": axis}, name=name)


def concat(values, axis, name="concat") -> Tensor:
    """Join tensors along ``axis`` (``ConcatV2``); one tensor gives an ``Identity``."""
    if not isinstance(values, (list, tuple)):
        values = [values]
    g = graph_of(list(values) + [axis])
    with g.as_default():
        if len(values) == 1:
            with g.name_scope(name):
                dim = convert_to_tensor(axis, name="concat_dim", dtype="int32")
                if dim.shape.ndims not in (None, 0):
                    raise ValueError(f"Shape {dim.shape} must have rank 0")
                return identity(values[0], name=name)
        return create_op("ConcatV2", [list(values), axis], name=name)


# ---- shapes ---------------------------------------------------------------------------------
def reshape(tensor, shape, name=None) -> Tensor:  # noqa: A002
    """``tensor``'s values in a new ``shape`` (``Reshape``); one dimension may be -1."""
    with graph_of([tensor, shape]).as_default():
        return create_op("Reshape", [tensor, shape], name=name)


def shape(input, name=None, out_type=None) -> Tensor:  # noqa: A002
    """The shape of ``input`` as a 1-D tensor: a Const when fully known, else ``Shape``."""
    out_type = as_dtype(out_type or "int32")
    g = graph_of([input])
    with g.as_default(), g.name_scope(name or "Shape") as scope:
        input = convert_to_tensor(input)
        if input.shape.is_fully_defined():
            return constant(input.shape.as_list(), dtype=out_type, name=scope)
        return create_op("Shape", [input], {"out_type": out_type}, name=scope)


def shape_n(input, out_type="int32", name=None) -> list:  # noqa: A002
    """The shapes of several tensors (``ShapeN``)."""
    with graph_of(list(input)).as_default():
        return create_op("ShapeN", [list(input)], {"out_type": as_dtype(out_type)}, name=name)


def size(input, name=None, out_type=None) -> Tensor:  # noqa: A002
    """The number of elements: a Const when known (or a dimension is 0), else ``Size``."""
    out_type = as_dtype(out_type or "int32")
    g = graph_of([input])
    with g.as_default(), g.name_scope(name or "Size") as scope:
        input = convert_to_tensor(input)
        given = input.shape
        if given.is_fully_defined():
            return constant(given.num_elements(), dtype=out_type, name=scope)
        if given.ndims and 0 in given.as_list():
            return constant(0, dtype=out_type, name=scope)
        return create_op("Size", [input], {"out_type": out_type}, name=scope)


def rank(input, name=None) -> Tensor:  # noqa: A002
    """The number of dimensions: a Const when known, else ``Rank``."""
    g = graph_of([input])
    with g.as_default(), g.name_scope(name or "Rank") as scope:
        input = convert_to_tensor(input)
        if input.shape.ndims is not None:
            return constant(input.shape.ndims, dtype="int32", name=scope)
        return create_op("Rank", [input], name=scope)
