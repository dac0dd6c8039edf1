"""Array ops that build, reshape and combine tensors: defs, shape functions, kernels.

Fill, Pack, Unpack, Reshape, Shape, ShapeN, Size, Rank, ZerosLike, OnesLike and ConcatV2.
Slicing and gathering live in array_index_kernels; ExpandDims, Squeeze, Transpose, Tile,
padding and OneHot in array_transform_kernels.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.shapes import add_dim, fail, merge_shapes, mul_dim, partial_shape, scalar_value, with_rank
from flowsaver.ops.registry import ALIASING, PYTHON_CONSTANT, SHAPE_OF, OpTable

TABLE = OpTable(__name__)
arg_full_type, define, kernel, shape_fn, simple_kernel = (
    TABLE.arg_full_type, TABLE.define, TABLE.kernel, TABLE.shape_fn, TABLE.simple_kernel)

define(
    'Fill(dims: index_type, value: T) -> (output: T); T: type; index_type: type {int32, int64} = int32',
    'Pack(values: N * T) -> (output: T); N: int >= 1; T: type; axis: int = 0',
    'Unpack(value: T) -> (output: num * T); num: int >= 0; T: type; axis: int = 0',
    'Reshape(tensor: T, shape: Tshape) -> (output: T); T: type; Tshape: type {int32, int64} = int32',
    'Shape(input: T) -> (output: out_type); T: type; out_type: type {int32, int64} = int32',
    'ShapeN(input: N * T) -> (output: N * out_type); N: int >= 1; T: type; out_type: type {int32, int64} = int32',
    'Size(input: T) -> (output: out_type); T: type; out_type: type {int32, int64} = int32',
    'Rank(input: T) -> (output: int32); T: type',
    'ZerosLike(x: T) -> (y: T); T: type',
    'OnesLike(x: T) -> (y: T); T: type {bfloat16, half, float, double, int8, uint8, int16, uint16, int32, uint32, int64, uint64, complex64, complex128, bool}',
    'ConcatV2(values: N * T, axis: Tidx) -> (output: T); N: int >= 2; T: type; Tidx: type {int32, int64} = int32',
)
arg_full_type("Shape", "output", "TFT_SHAPE_TENSOR", "out_type")
# Their outputs may be views of an input (a constant, a feed): fetches get copied.
TABLE.mark(ALIASING, "Reshape", "Unpack")
TABLE.mark(SHAPE_OF, "Shape", "ShapeN", "Size", "Rank")
TABLE.mark(PYTHON_CONSTANT, "Shape", "Size", "Rank", "Pack", "ConcatV2", "Fill")


def _invalid(message: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(message)


def _shape_list(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


# ---- Fill -----------------------------------------------------------------------------------
@shape_fn("Fill")
def _fill_shape(op):
    with_rank(op, op.inputs[0].shape, 1)
    with_rank(op, op.inputs[1].shape, 0)
    dims = value_of(op.inputs[0])
    if dims is not None and np.any(np.asarray(dims) < 0):
        raise fail(op, "Fill dimensions must be >= 0")
    return [partial_shape(op.inputs[0])]


@kernel("Fill")
def _fill(op, ctx):
    dtype = op.get_attr("T").as_numpy_dtype

    def fill(dims, value):
        if np.ndim(value) != 0:
            raise _invalid(f"value must be a scalar, got shape {_shape_list(np.shape(value))}")
        dims = [int(d) for d in np.reshape(dims, -1)]
        if any(d < 0 for d in dims):
            raise _invalid(f"Fill dimensions must be >= 0, got {_shape_list(dims)}")
        return np.full(dims, value, dtype=dtype)
    return fill


# ---- Pack / Unpack --------------------------------------------------------------------------
def _axis_in(op, axis: int, rank: int) -> int:
    if axis < -rank or axis >= rank:
        raise fail(op, f"Invalid axis: {axis}; must be in [{-rank},{rank})")
    return axis + rank if axis < 0 else axis


@shape_fn("Pack")
def _pack_shape(op):
    shape = op.inputs[-1].shape
    for i in range(len(op.inputs) - 2, -1, -1):
        try:
            shape = merge_shapes(op, op.inputs[i].shape, shape)
        except ValueError as e:
            core = str(e).split(" for '")[0]
            raise fail(op, f"{core}\n\tFrom merging shape {i} with other shapes.") from None
    if shape.ndims is None:
        return [TensorShape(None)]
    dims = shape.as_list()
    axis = _axis_in(op, op.get_attr("axis"), len(dims) + 1)
    return [dims[:axis] + [len(op.inputs)] + dims[axis:]]


@kernel("Pack")
def _pack(op, ctx):
    axis = op.get_attr("axis")
    dtype = op.get_attr("T").as_numpy_dtype

    def pack(*values):
        first = np.shape(values[0])
        for i, v in enumerate(values[1:], 1):
            if np.shape(v) != first:
                raise _invalid(f"Shapes of all inputs must match: values[0].shape = "
                               f"{_shape_list(first)} != values[{i}].shape = "
                               f"{_shape_list(np.shape(v))}")
        return np.stack(values, axis=axis).astype(dtype, copy=False)
    return pack


@shape_fn("Unpack")
def _unpack_shape(op):
    num = op.get_attr("num")
    shape = op.inputs[0].shape
    if shape.ndims is None:
        return [TensorShape(None)] * num
    dims = shape.as_list()
    axis = _axis_in(op, op.get_attr("axis"), len(dims))
    if dims[axis] is not None and dims[axis] != num:
        raise fail(op, f"Dimension must be {num} but is {dims[axis]}")
    return [dims[:axis] + dims[axis + 1:]] * num


@kernel("Unpack")
def _unpack(op, ctx):
    num, axis = op.get_attr("num"), op.get_attr("axis")

    def unpack(value):
        value = np.asarray(value)
        if not -value.ndim <= axis < value.ndim:
            raise _invalid(f"axis = {axis} not in [{-value.ndim}, {value.ndim})")
        if value.shape[axis] != num:
            raise _invalid(f"Input shape axis {axis % value.ndim} must equal {num}, got shape "
                           f"{_shape_list(value.shape)}")
        moved = np.moveaxis(value, axis, 0)
        return tuple(moved[i] for i in range(num))
    return unpack


# ---- Reshape --------------------------------------------------------------------------------
def _known_product(dims):
    """(product of known dims, index of the single unknown dim or -1, too many unknowns)."""
    product, unknown = 1, -1
    for i, d in enumerate(dims):
        if d is None:
            if unknown >= 0:
                return product, unknown, True
            unknown = i
        else:
            product = mul_dim(product, d)
    return product, unknown, False


def _elements(dims):
    """Element count of a known-rank shape when known (a 0 dim decides), else None."""
    if 0 in dims:
        return 0
    return None if None in dims else int(np.prod(dims, dtype=np.int64))


@shape_fn("Reshape")
def _reshape_shape(op):
    with_rank(op, op.inputs[1].shape, 1)
    try:
        out = partial_shape(op.inputs[1])
    except ValueError as e:
        raise fail(op, str(e)) from None
    given = op.inputs[0].shape
    if out.ndims is None or given.ndims is None:
        return [out]
    out_dims, in_dims = out.as_list(), given.as_list()
    out_n, in_n = _elements(out_dims), _elements(in_dims)
    out_unknown = in_unknown = -1
    too_many = False
    if out_n is None:
        out_n, out_unknown, too_many = _known_product(out_dims)
    if in_n is None:
        in_n, in_unknown, many = _known_product(in_dims)
        too_many = too_many or many
    if too_many:
        return [out]
    if in_unknown < 0 and out_unknown < 0:
        if in_n != out_n:
            raise fail(op, f"Cannot reshape a tensor with {in_n} elements to shape "
                           f"{_shape_list(out_dims)} ({out_n} elements)")
    elif in_unknown < 0 and out_n > 0:
        if in_n % out_n:
            raise fail(op, f"Dimension size must be evenly divisible by {out_n} but is {in_n}")
        out_dims[out_unknown] = in_n // out_n
    elif out_unknown < 0 and in_unknown >= 0 and in_n != 0:
        if out_n % in_n:
            raise fail(op, f"Dimension size must be evenly divisible by {in_n} but is {out_n}")
    elif in_unknown >= 0 and out_unknown >= 0 and in_n == out_n:
        out_dims[out_unknown] = in_dims[in_unknown]
    return [out_dims]


def reshape_dims(size: int, shape) -> list:
    """The output dims of reshaping ``size`` elements to ``shape`` (one -1 allowed).

    Raises:
      InvalidArgumentError: as TensorFlow's Reshape kernel words it.
    """
    dims = [int(d) for d in np.reshape(shape, -1)]
    unknown, product = -1, 1
    for i, d in enumerate(dims):
        if d == -1:
            if unknown >= 0:
                raise _invalid(f"Only one input size may be -1, not both {unknown} and {i}")
            unknown = i
        elif d < 0:
            raise _invalid(f"Size {i} must be non-negative, not {d}")
        else:
            product *= d
    if unknown >= 0:
        if product == 0:
            raise _invalid("Reshape cannot infer the missing input size for an empty tensor "
                           "unless all specified input sizes are non-zero")
        if size % product:
            raise _invalid(f"Input to reshape is a tensor with {size} values, but the "
                           f"requested shape requires a multiple of {product}")
        dims[unknown] = size // product
    elif product != size:
        raise _invalid(f"Input to reshape is a tensor with {size} values, but the requested "
                       f"shape has {product}")
    return dims


@kernel("Reshape")
def _reshape(op, ctx):
    def reshape(tensor, shape):
        if np.ndim(shape) != 1:
            raise _invalid(f"sizes input must be 1-D, not {_shape_list(np.shape(shape))}")
        return np.reshape(tensor, reshape_dims(np.size(tensor), shape))
    return reshape


# ---- Shape, ShapeN, Size, Rank --------------------------------------------------------------
@shape_fn("Shape")
def _shape_shape(op):
    return [[op.inputs[0].shape.ndims]]


@shape_fn("ShapeN")
def _shape_n_shape(op):
    return [[t.shape.ndims] for t in op.inputs]


@shape_fn("Size", "Rank")
def _scalar_shape(op):
    return [[]]


@kernel("Shape")
def _shape(op, ctx):
    dtype = op.get_attr("out_type").as_numpy_dtype
    return lambda x: np.array(np.shape(x), dtype=dtype)


@kernel("ShapeN")
def _shape_n(op, ctx):
    dtype = op.get_attr("out_type").as_numpy_dtype
    return lambda *xs: tuple(np.array(np.shape(x), dtype=dtype) for x in xs)


@kernel("Size")
def _size(op, ctx):
    dtype = op.get_attr("out_type").as_numpy_dtype
    return lambda x: dtype(np.size(x))


simple_kernel("Rank", lambda x: np.int32(np.ndim(x)))


# ---- ZerosLike, OnesLike --------------------------------------------------------------------
@shape_fn("ZerosLike", "OnesLike")
def _like_shape(op):
    return [op.inputs[0].shape]


def _zeros_like(x):
    if hasattr(x, "zeros_like"):  # a variant value (a TensorList) knows its own zeros
        return x.zeros_like()
    x = np.asarray(x)
    if x.dtype == object:  # strings: the empty string is their zero
        return np.full(x.shape, b"", dtype=object)
    return np.zeros_like(x)


simple_kernel("ZerosLike", _zeros_like)
simple_kernel("OnesLike", lambda x: np.ones_like(np.asarray(x)))


# ---- ConcatV2 -------------------------------------------------------------------------------
@shape_fn("ConcatV2")
def _concat_shape(op):
    values = op.inputs[:-1]
    rank = next((t.shape.ndims for t in values if t.shape.ndims is not None), None)
    if rank is not None:
        for t in values:
            with_rank(op, t.shape, rank)
        if rank == 0:
            raise fail(op, "Can't concatenate scalars (use tf.stack instead)")
    axis = scalar_value(op.inputs[-1])
    if axis is None:
        return [TensorShape(None if rank is None else [None] * rank)]
    need = -axis if axis < 0 else axis + 1
    before = after = TensorShape(None)
    middle, first = None, True
    for t in reversed(values):
        shape = t.shape
        if shape.ndims is not None and shape.ndims < need:
            raise fail(op, f"Shape must be at least rank {need} but is rank {shape.ndims}")
        if shape.ndims is None:
            parts = (TensorShape(None), None, TensorShape(None))
        else:
            dims = shape.as_list()
            cut = axis + len(dims) if axis < 0 else axis
            parts = (TensorShape(dims[:cut]), dims[cut], TensorShape(dims[cut + 1:]))
        if first:
            before, middle, after = parts
            first = False
        else:
            before = merge_shapes(op, parts[0], before)
            middle = add_dim(middle, parts[1])
            after = merge_shapes(op, parts[2], after)
    if before.ndims is None or after.ndims is None:
        return [TensorShape(None)]
    return [before.as_list() + [middle] + after.as_list()]


@kernel("ConcatV2")
def _concat(op, ctx):
    dtype = op.get_attr("T").as_numpy_dtype

    def concat(*args):
        values, axis = [np.asarray(v) for v in args[:-1]], int(args[-1])
        rank = values[0].ndim
        if not -rank <= axis < rank:
            raise _invalid(f"ConcatOp : Expected concatenating dimensions in the range "
                           f"[{-rank}, {rank}), but got {axis}")
        axis = axis + rank if axis < 0 else axis
        first = values[0].shape
        for i, v in enumerate(values[1:], 1):
            if v.ndim != rank:
                raise _invalid(f"ConcatOp : Ranks of all input tensors should match: "
                               f"shape[0] = {_shape_list(first)} vs. shape[{i}] = "
                               f"{_shape_list(v.shape)}")
            for d in range(rank):
                if d != axis and v.shape[d] != first[d]:
                    raise _invalid(f"ConcatOp : Dimension {d} in both shapes must be equal: "
                                   f"shape[0] = {_shape_list(first)} vs. shape[{i}] = "
                                   f"{_shape_list(v.shape)}")
        return np.concatenate(values, axis=axis).astype(dtype, copy=False)
    return concat
