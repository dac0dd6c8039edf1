"""Helpers for shape functions: broadcasting, shapes read from shape tensors (as
TensorFlow's C++ shape refiner reads them), dimension arithmetic, TensorFlow's wording of
shape errors."""
from __future__ import annotations

import numpy as np

from flowsaver.graph.tensor_shape import TensorShape, broadcast_shapes
from flowsaver.ops.const_eval import INT64_MAX, value_of


def broadcast(op) -> list:
    """The broadcast shape of a binary op's two inputs (one output)."""
    try:
        return [broadcast_shapes(op.inputs[0].shape, op.inputs[1].shape)]
    except ValueError as e:
        raise ValueError(f"{e} for '{op.name}' (op: '{op.type}') with input shapes: "
                         f"{op.inputs[0].shape}, {op.inputs[1].shape}.") from None


# TensorFlow's TensorShape holds at most this many dimensions (kMaxDims).
MAX_RANK = 254


def check_shape_length(tensor) -> None:
    """ValueError when a shape tensor is a vector longer than any shape can be.

    Checked before the tensor's value is looked at: a hostile graph's 350-byte constant can
    declare 5e8 zeros, which would otherwise become a rank-5e8 shape (gigabytes).
    """
    own = tensor.shape
    n = own.as_list()[0] if own.ndims == 1 else None
    if n is not None and n > MAX_RANK:
        raise ValueError(f"Shape tensor '{tensor.name}' has {n} elements, so it describes a "
                         f"shape of rank {n}; shapes have at most {MAX_RANK} dimensions")


def shape_from_tensor(tensor) -> TensorShape:
    """The static shape a 1-D shape tensor describes; unknown parts stay unknown.

    ``tf.reshape(x, tf.stack([batch, 3]))`` gives ``(?, 3)`` when only 3 is known.
    """
    check_shape_length(tensor)
    value = value_of(tensor)
    if value is not None:
        return TensorShape([None if d == -1 else int(d) for d in np.reshape(value, -1)])
    op = tensor.op
    if op.type == "Pack":
        dims = []
        for t in op.inputs:
            v = value_of(t)
            dims.append(None if v is None or int(v) == -1 else int(v))
        return TensorShape(dims)
    if tensor.shape.ndims == 1 and tensor.shape.as_list()[0] is not None:
        return TensorShape([None] * tensor.shape.as_list()[0])
    return TensorShape(None)


def partial_shape(tensor) -> TensorShape:
    """The static shape a 1-D shape tensor describes; unknown parts stay unknown.

    Raises:
      ValueError: the tensor is not a vector (or the scalar -1 for "unknown"), or holds a
        dimension below -1.
    """
    own = tensor.shape
    check_shape_length(tensor)
    if own.ndims == 0:
        v = value_of(tensor)
        if v is None:
            raise ValueError("Received a shape scalar with unknown static value.  A static "
                             "value of '-1' is required to represent an unknown shape.")
        if int(v) == -1:
            return TensorShape(None)
        raise ValueError(f"Received an invalid shape scalar with a static value that is not "
                         f"'-1': {int(v)}")
    if own.ndims is not None and own.ndims != 1:
        raise ValueError(f"Shape must be rank 1 but is rank {own.ndims}")
    if own.ndims == 1 and own.as_list()[0] == 0:
        return TensorShape([])
    op = tensor.op
    if op.type == "Shape":
        return op.inputs[0].shape
    if op.type == "ShapeN":
        return op.inputs[tensor.value_index].shape
    if op.type == "Pack":
        return TensorShape([_dim(value_of(t)) for t in op.inputs])
    if op.type == "ConcatV2":
        dims = []
        for t in op.inputs[:-1]:
            part = partial_shape(t)
            if part.ndims is None:
                # a part says nothing (a new-axis slice): TensorFlow's refiner then reads
                # the whole tensor, its value or else one unknown dimension per element
                return from_values(value_of(tensor), own)
            dims.extend(part.as_list())
        return TensorShape(dims)
    if op.type == "Cast":
        return _cast_shape(tensor)
    if op.type == "StridedSlice":
        return _strided_slice_shape(op)
    return from_values(value_of(tensor), own)


def _dim(value):
    if value is None:
        return None
    value = int(np.reshape(value, -1)[0])
    if value < -1:
        raise ValueError(f"Invalid value in tensor used for shape: {value}")
    return None if value == -1 else value


def from_values(value, own: TensorShape) -> TensorShape:
    """A shape from a shape tensor's value; None gives unknown dims of the tensor's length."""
    if value is None:
        n = own.as_list()[0] if own.ndims == 1 else None
        return TensorShape(None if n is None or n > MAX_RANK else [None] * n)
    if np.size(value) > MAX_RANK:
        raise ValueError(f"A shape tensor holds {np.size(value)} values; shapes have at "
                         f"most {MAX_RANK} dimensions")
    return TensorShape([_dim(v) for v in np.reshape(value, -1)])


def _cast_shape(tensor) -> TensorShape:
    value = value_of(tensor)
    if value is not None:
        return from_values(value, tensor.shape)
    op = tensor.op
    try:
        before = partial_shape(op.inputs[0])
    except ValueError:
        return from_values(None, tensor.shape)
    if before.ndims is None:
        return before
    if op.get_attr("DstT").name not in ("int32", "int64"):
        return TensorShape([None] * before.ndims)
    return before


def _strided_slice_shape(op) -> TensorShape:
    """A slice of a shape vector, as TensorFlow reads it: plain ``[a:b:c]`` slices only."""
    for t in op.inputs[1:]:
        if t.shape.ndims != 1 or t.shape.as_list()[0] != 1:
            return TensorShape(None)
    begin_mask, end_mask = op.get_attr("begin_mask"), op.get_attr("end_mask")
    if (begin_mask not in (0, 1) or end_mask not in (0, 1) or op.get_attr("ellipsis_mask")
            or op.get_attr("new_axis_mask") or op.get_attr("shrink_axis_mask")):
        return TensorShape(None)
    values = [value_of(t) for t in op.inputs[1:]]
    begin = 0 if begin_mask else values[0]
    end = INT64_MAX if end_mask else values[1]
    stride = values[2]
    if begin is None or end is None or stride is None:
        return TensorShape(None)
    whole = partial_shape(op.inputs[0])
    return subshape(whole, int(np.reshape(begin, -1)[0]), int(np.reshape(end, -1)[0]),
                    int(np.reshape(stride, -1)[0]))


def subshape(shape: TensorShape, start: int, end: int = INT64_MAX, stride: int = 1
             ) -> TensorShape:
    """Dimensions ``start:end:stride`` of ``shape`` with TensorFlow's bounds rules."""
    if start == 0 and stride == 1 and (end == INT64_MAX or
                                       (shape.ndims is not None and end >= shape.ndims)):
        return shape
    if shape.ndims is None:
        return TensorShape(None)
    rank, start_in, end_in = shape.ndims, start, end
    start, end = min(start, rank), min(end, rank)
    if stride < 0 and start == rank:
        start -= 1
    if start < 0:
        start += rank
        if start < 0:
            raise ValueError(f"Subshape start out of bounds: {start_in}, for shape with rank "
                             f"{rank}")
    if end < 0:
        end += rank
        if end < 0:
            raise ValueError(f"Subshape end out of bounds: {end_in}, for shape with rank {rank}")
    if stride > 0 and start > end:
        raise ValueError(f"Subshape must have computed start <= end, but is {start} and {end}"
                         f" (computed from start {start_in} and end {end_in} over shape with "
                         f"rank {rank})")
    if stride < 0 and start < end:
        raise ValueError(f"Subshape must have computed start >= end since stride is negative, "
                         f"but is {start} and {end} (computed from start {start_in} and end "
                         f"{end_in} over shape with rank {rank} and stride{stride})")
    dims = shape.as_list()
    return TensorShape([dims[i] for i in range(start, end, stride)])


# ---- helpers for shape functions ------------------------------------------------------------
def shape_str(shape: TensorShape) -> str:
    """A shape as TensorFlow prints it in shape errors: ``[2,?]``, ``?`` for unknown rank."""
    if shape.ndims is None:
        return "?"
    return "[" + ",".join("?" if d is None else str(d) for d in shape.as_list()) + "]"


def fail(op, message: str) -> ValueError:
    """A build-time shape error naming ``op`` and its input shapes, as TensorFlow words it."""
    shapes = ", ".join(shape_str(t.shape) for t in op.inputs)
    return ValueError(f"{message} for '{op.name}' (op: '{op.type}') with input shapes: "
                      f"{shapes}.")


def mul_dim(a, b):
    """Product of two dims (None unknown): a known 0 wins, a 1 keeps the other."""
    if a == 0 or b == 0:
        return 0
    if a == 1:
        return b
    if b == 1:
        return a
    return None if a is None or b is None else a * b


def add_dim(a, b):
    """Sum of two dims (None unknown); adding a known 0 keeps the other."""
    if a == 0:
        return b
    if b == 0:
        return a
    return None if a is None or b is None else a + b


def merge_shapes(op, a: TensorShape, b: TensorShape) -> TensorShape:
    """``a`` merged with ``b``; ValueError naming ``op`` when they conflict."""
    if a.ndims is not None and b.ndims is not None:
        if a.ndims != b.ndims:
            raise fail(op, f"Shapes must be equal rank, but are {a.ndims} and {b.ndims}")
        for i, (x, y) in enumerate(zip(a.as_list(), b.as_list())):
            if x is not None and y is not None and x != y:
                raise fail(op, f"Dimension {i} in both shapes must be equal, but are {x} and "
                               f"{y}. Shapes are {shape_str(a)} and {shape_str(b)}.")
    return a.merge_with(b)


def with_rank(op, shape: TensorShape, rank: int) -> TensorShape:
    """``shape`` known to have ``rank`` dims; ValueError naming ``op`` otherwise."""
    if shape.ndims is not None and shape.ndims != rank:
        raise fail(op, f"Shape must be rank {rank} but is rank {shape.ndims}")
    return shape if shape.ndims is not None else TensorShape([None] * rank)


def scalar_value(tensor):
    """The Python int a scalar (or 1-element) tensor holds when known, else None."""
    v = value_of(tensor)
    return None if v is None or np.size(v) != 1 else int(np.reshape(v, -1)[0])
