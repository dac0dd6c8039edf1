"""Array ops that rearrange or generate values: ExpandDims, Squeeze, Transpose, Tile, Pad,
PadV2, MirrorPad, OneHot and MatrixBandPart (defs, shape functions, kernels).

``Range`` lives with the math reductions (math_reduce_kernels).
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.shapes import add_dim, fail, merge_shapes, mul_dim, partial_shape, scalar_value, with_rank
from flowsaver.ops.registry import ALIASING, NO_GRADIENT_YET, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'Transpose(x: T, perm: Tperm) -> (y: T); T: type; Tperm: type {int32, int64} = int32',
    'ConjugateTranspose(x: T, perm: Tperm) -> (y: T); T: type; Tperm: type {int32, int64} = int32',
    'Tile(input: T, multiples: Tmultiples) -> (output: T); T: type; Tmultiples: type {int32, int64} = int32',
    'Pad(input: T, paddings: Tpaddings) -> (output: T); T: type; Tpaddings: type {int32, int64} = int32',
    'PadV2(input: T, paddings: Tpaddings, constant_values: T) -> (output: T); T: type; Tpaddings: type {int32, int64} = int32',
    'MirrorPad(input: T, paddings: Tpaddings) -> (output: T); T: type; Tpaddings: type {int32, int64} = int32; mode: string {"REFLECT", "SYMMETRIC"}',
    'ExpandDims(input: T, dim: Tdim) -> (output: T); T: type; Tdim: type {int32, int64} = int32',
    'Squeeze(input: T) -> (output: T); T: type; squeeze_dims: list(int) >= 0 = []',
    'OneHot(indices: TI, depth: int32, on_value: T, off_value: T) -> (output: T); axis: int = -1; T: type; TI: type {uint8, int8, int32, int64} = int64',
    'MatrixBandPart(input: T, num_lower: Tindex, num_upper: Tindex) -> (band: T); T: type; Tindex: type {int32, int64} = int64',
)
# TensorFlow differentiates these; flowsaver does not yet (the walk says so if it meets one)
TABLE.mark(NO_GRADIENT_YET, "ConjugateTranspose", "MirrorPad")
TABLE.mark(ALIASING, "Transpose", "ExpandDims", "Squeeze")


def _invalid(message: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(message)


def _ints(value) -> list:
    return [int(v) for v in np.reshape(value, -1)]


def _shape_list(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


# ---- Transpose ------------------------------------------------------------------------------
@shape_fn("Transpose", "ConjugateTranspose")
def _transpose_shape(op):
    given, perm_shape = op.inputs[0].shape, op.inputs[1].shape
    if perm_shape.ndims is not None and perm_shape.ndims > 1:
        raise fail(op, f"Shape must be at most rank 1 but is rank {perm_shape.ndims}")
    perm = value_of(op.inputs[1])
    perm_len = perm_shape.as_list()[0] if perm_shape.ndims == 1 else None
    if given.ndims is not None:
        rank = given.ndims
    elif perm_len is not None:
        rank = perm_len
    elif perm is not None:
        rank = np.size(perm)
    else:
        return [TensorShape(None)]
    if perm_shape.ndims is None and rank < 2:
        return [given]
    given = with_rank(op, given, rank)
    if perm_len is not None and perm_len != rank:
        raise fail(op, f"Dimension must be {rank} but is {perm_len}")
    if perm is None:
        return [[None] * rank]
    dims = given.as_list()
    out = []
    for p in _ints(perm):
        if p >= rank or p < -rank:
            raise fail(op, f"perm dim {p} is out of range of input rank {rank}")
        out.append(dims[p])
    return [out]


@kernel("Transpose", "ConjugateTranspose")
def _transpose(op, ctx):
    conjugate = op.type == "ConjugateTranspose"

    def transpose(x, perm):
        x = np.asarray(x)
        perm = _ints(perm)
        if len(perm) != x.ndim:
            raise _invalid(f"transpose expects a vector of size {x.ndim}. But input(1) is a "
                           f"vector of size {len(perm)}")
        perm = [p + x.ndim if p < 0 else p for p in perm]
        for i in range(x.ndim):
            if i not in perm:
                raise _invalid(f"{i} is missing from {{{','.join(str(p) for p in perm)}}}.")
        return np.conj(np.transpose(x, perm)) if conjugate else np.transpose(x, perm)
    return transpose


# ---- Tile -----------------------------------------------------------------------------------
@shape_fn("Tile")
def _tile_shape(op):
    given = op.inputs[0].shape
    multiples = partial_shape(op.inputs[1])
    if given.ndims is not None:
        multiples = with_rank(op, multiples, given.ndims)
        merge_shapes(op, op.inputs[1].shape, TensorShape([given.ndims]))
    if multiples.ndims is None:
        return [TensorShape(None)]
    given = with_rank(op, given, multiples.ndims)
    return [[mul_dim(d, m) for d, m in zip(given.as_list(), multiples.as_list())]]


@kernel("Tile")
def _tile(op, ctx):
    def tile(x, multiples):
        x = np.asarray(x)
        multiples = _ints(multiples)
        if len(multiples) != x.ndim:
            raise _invalid(f"Expected multiples argument to be a vector of length {x.ndim} but "
                           f"got length {len(multiples)}")
        for i, m in enumerate(multiples):
            if m < 0:
                raise _invalid(f"Expected multiples[{i}] >= 0, but got {m}")
        return np.tile(x, multiples) if x.ndim else x.copy()
    return tile


# ---- Pad, PadV2, MirrorPad ------------------------------------------------------------------
@shape_fn("Pad", "PadV2", "MirrorPad")
def _pad_shape(op):
    paddings_shape = with_rank(op, op.inputs[1].shape, 2)
    n, two = paddings_shape.as_list()
    if two is not None and two != 2:
        raise fail(op, f"Dimension must be 2 but is {two}")
    given = op.inputs[0].shape
    if n is not None:
        given = with_rank(op, given, n)
    elif given.ndims is not None:
        n = given.ndims
    paddings = value_of(op.inputs[1])
    if paddings is None:
        return [TensorShape(None if n is None else [None] * n)]
    paddings = np.reshape(paddings, (-1, 2))
    given = with_rank(op, given, len(paddings))
    out = []
    for (before, after), dim in zip(paddings.tolist(), given.as_list()):
        if before < 0 or after < 0:
            raise fail(op, "Paddings must be non-negative")
        out.append(add_dim(dim, before + after))
    return [out]


def _mode(op) -> str:
    mode = op.get_attr("mode")
    return mode.decode() if isinstance(mode, bytes) else mode


def _checked_paddings(x, paddings) -> list:
    paddings = np.asarray(paddings)
    if paddings.ndim != 2 or paddings.shape != (x.ndim, 2):
        raise _invalid(f"The first dimension of paddings must be the rank of inputs"
                       f"{list(paddings.shape)}, {list(x.shape)}")
    pairs = [(int(a), int(b)) for a, b in paddings.tolist()]
    for a, b in pairs:
        if a < 0 or b < 0:
            raise _invalid(f"Paddings must be non-negative: {a} {b}")
    return pairs


@kernel("Pad")
def _pad(op, ctx):
    def pad(x, paddings):
        x = np.asarray(x)
        fill = b"" if x.dtype == object else 0
        return np.pad(x, _checked_paddings(x, paddings), constant_values=fill)
    return pad


@kernel("PadV2")
def _pad_v2(op, ctx):
    def pad(x, paddings, constant_values):
        x = np.asarray(x)
        if np.ndim(constant_values) != 0:
            raise _invalid(f"constant_values must be a scalar. Found: "
                           f"{list(np.shape(constant_values))}")
        return np.pad(x, _checked_paddings(x, paddings), constant_values=constant_values)
    return pad


@kernel("MirrorPad")
def _mirror_pad(op, ctx):
    reflect = _mode(op) == "REFLECT"

    def mirror_pad(x, paddings):
        x = np.asarray(x)
        pairs = _checked_paddings(x, paddings)
        for (a, b), dim in zip(pairs, x.shape):
            if reflect and (a >= dim or b >= dim):
                raise _invalid(f"paddings must be less than the dimension size: {a}, {b} not "
                               f"less than {dim}")
            if not reflect and (a > dim or b > dim):
                raise _invalid(f"paddings must be no greater than the dimension size: {a}, "
                               f"{b} greater than {dim}")
        return np.pad(x, pairs, mode="reflect" if reflect else "symmetric")
    return mirror_pad


# ---- OneHot ---------------------------------------------------------------------------------
@shape_fn("OneHot")
def _one_hot_shape(op):
    axis = op.get_attr("axis")
    if axis < -1:
        raise fail(op, "axis must be >= -1")
    depth = scalar_value(op.inputs[1])
    if depth is not None and depth < 0:
        raise fail(op, f"Dimension size, given by scalar input 1, must be non-negative but "
                       f"is {depth}")
    indices = op.inputs[0].shape
    if indices.ndims is None:
        return [TensorShape(None)]
    dims = indices.as_list()
    at = (axis + len(dims) + 1) % (len(dims) + 1)
    return [dims[:at] + [depth] + dims[at:]]


@kernel("OneHot")
def _one_hot(op, ctx):
    axis = op.get_attr("axis")
    dtype = op.get_attr("T").as_numpy_dtype

    def one_hot(indices, depth, on_value, off_value):
        depth = int(depth)
        if depth < 0:
            raise _invalid(f"depth must be non-negative, got: {depth}")
        indices = np.asarray(indices)
        hot = indices[..., None] == np.arange(depth)
        out = np.where(hot, np.asarray(on_value, dtype), np.asarray(off_value, dtype))
        return np.moveaxis(out, -1, axis) if axis != -1 else out
    return one_hot


# ---- ExpandDims, Squeeze --------------------------------------------------------------------
@shape_fn("ExpandDims")
def _expand_dims_shape(op):
    value = value_of(op.inputs[1])
    if value is not None and np.size(value) != 1:
        raise fail(op, "'dim' input must be a tensor with a single value")
    shape = op.inputs[0].shape
    if value is None or shape.ndims is None:
        return [TensorShape(None)]
    dim, rank = int(np.reshape(value, -1)[0]), shape.ndims
    if dim < -rank - 1 or dim > rank:
        raise fail(op, f"dim {dim} not in the interval [{-rank - 1}, {rank}].")
    dim = dim + rank + 1 if dim < 0 else dim
    dims = shape.as_list()
    return [dims[:dim] + [1] + dims[dim:]]


@kernel("ExpandDims")
def _expand_dims(op, ctx):
    def expand_dims(x, dim):
        if np.size(dim) != 1:
            raise _invalid(f"'dim' must be a tensor with a single value, got "
                           f"{_shape_list(np.shape(dim))}")
        x = np.asarray(x)
        d = int(np.reshape(dim, -1)[0])
        if d < -1 - x.ndim or d > x.ndim:
            raise _invalid(f"Tried to expand dim index {d} for tensor with {x.ndim} "
                           f"dimensions.")
        return np.expand_dims(x, d + x.ndim + 1 if d < 0 else d)
    return expand_dims


def _squeeze_axes(op_dims, rank: int, report) -> set:
    wanted = set()
    for i, d in enumerate(op_dims):
        if d < -rank or d >= rank:
            raise report(f"squeeze_dims[{i}] not in [{-rank},{rank}).")
        wanted.add(d + rank if d < 0 else d)
    return wanted


@shape_fn("Squeeze")
def _squeeze_shape(op):
    shape = op.inputs[0].shape
    if shape.ndims is None:
        return [TensorShape(None)]
    wanted = _squeeze_axes(op.get_attr("squeeze_dims"), shape.ndims,
                           lambda m: fail(op, m))
    out = []
    for i, d in enumerate(shape.as_list()):
        explicit = i in wanted
        if d is None:
            if explicit:
                continue
            if not wanted:
                return [TensorShape(None)]
        elif d == 1:
            if explicit or not wanted:
                continue
        elif explicit:
            raise fail(op, f"Can not squeeze dim[{i}], expected a dimension of 1, got {d}")
        out.append(d)
    return [out]


@kernel("Squeeze")
def _squeeze(op, ctx):
    squeeze_dims = op.get_attr("squeeze_dims")

    def squeeze(x):
        x = np.asarray(x)
        wanted = _squeeze_axes(squeeze_dims, x.ndim, _invalid)
        for i in wanted:
            if x.shape[i] != 1:
                raise _invalid(f"Can not squeeze dim[{i}], expected a dimension of 1, got "
                               f"{x.shape[i]}")
        axes = tuple(sorted(wanted)) if wanted else \
            tuple(i for i, d in enumerate(x.shape) if d == 1)
        return np.squeeze(x, axis=axes)
    return squeeze


# ---- MatrixBandPart ----------------------------------------------------------------------------
@shape_fn("MatrixBandPart")
def _band_part_shape(op):
    given = op.inputs[0].shape
    if given.ndims is not None and given.ndims < 2:
        raise fail(op, f"Shape must be at least rank 2 but is rank {given.ndims}")
    for t in op.inputs[1:]:
        with_rank(op, t.shape, 0)
    return [given]


@kernel("MatrixBandPart")
def _band_part(op, ctx):
    def band_part(x, num_lower, num_upper):
        x = np.asarray(x)
        if x.ndim < 2:
            raise _invalid(f"input must be at least 2-dim, received shape: {list(x.shape)}")
        rows, cols = x.shape[-2:]
        lower, upper = int(num_lower), int(num_upper)
        if lower > rows:
            raise _invalid(f"num_lower must be negative or less or equal to number of rows "
                           f"({rows}) got: {lower}")
        if upper > cols:
            raise _invalid(f"num_upper must be negative or less or equal to number of columns "
                           f"({cols}) got: {upper}")
        offset = np.arange(cols)[None, :] - np.arange(rows)[:, None]   # column - row
        keep = ((lower < 0) | (-offset <= lower)) & ((upper < 0) | (offset <= upper))
        return np.where(keep, x, np.zeros((), x.dtype))
    return band_part
