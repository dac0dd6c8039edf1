"""Array ops that move blocks of pixels between space, batch and depth: SpaceToBatchND,
BatchToSpaceND (and their 4-D forms SpaceToBatch, BatchToSpace), SpaceToDepth and
DepthToSpace (defs, shape functions, kernels).

SpaceToBatchND zero-pads M spatial dimensions and deals each block_shape tile of pixels out
to block_shape.prod() batches: output batch ``(i_1 * b_2 + i_2 ...) * N + n`` holds the
pixels at offset (i_1, i_2, ...) of every tile of image n. This is how TensorFlow runs an
atrous (dilated) convolution as an ordinary one (``with_space_to_batch``), so frozen
DeepLab-style graphs hold these ops. BatchToSpaceND is the inverse, with crops. Each kernel
is one reshape, one transpose and one copy. SpaceToDepth moves each block_size x block_size
tile of an image into the channels, offset-major (``(dy * block + dx) * C + c``), and
DepthToSpace moves it back; NCHW is the same arrangement with the channels first.
"""
from __future__ import annotations

import math

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.registry import OpTable
from flowsaver.ops.shapes import fail, merge_shapes

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'SpaceToBatchND(input: T, block_shape: Tblock_shape, paddings: Tpaddings) -> (output: T); T: type; Tblock_shape: type {int32, int64} = int32; Tpaddings: type {int32, int64} = int32',
    'BatchToSpaceND(input: T, block_shape: Tblock_shape, crops: Tcrops) -> (output: T); T: type; Tblock_shape: type {int32, int64} = int32; Tcrops: type {int32, int64} = int32',
    'SpaceToBatch(input: T, paddings: Tpaddings) -> (output: T); T: type; Tpaddings: type {int32, int64} = int32; block_size: int >= 2',
    'BatchToSpace(input: T, crops: Tidx) -> (output: T); T: type; block_size: int >= 2; Tidx: type {int32, int64} = int32',
    'SpaceToDepth(input: T) -> (output: T); T: type; block_size: int >= 2; data_format: string {"NHWC", "NCHW", "NCHW_VECT_C"} = "NHWC"',
    'DepthToSpace(input: T) -> (output: T); T: type; block_size: int >= 2; data_format: string {"NHWC", "NCHW", "NCHW_VECT_C"} = "NHWC"',
)


def _invalid(message: str) -> errors.InvalidArgumentError:
    """A bad input at run time; the runtime names the node (executor.kernel_error)."""
    return errors.InvalidArgumentError(message)


def _ints(value) -> list:
    return [int(v) for v in np.reshape(value, -1)]


# ---- checks shared by the kernels and the shape functions -----------------------------------
def _check_blocks(block: list, amounts, rank: int, what: str) -> str | None:
    """The first problem with ``block`` (M values) and ``amounts`` (M x 2 paddings or
    crops, as nested lists) for an input of ``rank``, in TensorFlow's words; None if fine."""
    m = len(block)
    if rank < 1 + m:
        return f"input rank should be >= {1 + m} instead of {rank}"
    if len(amounts) != m or any(len(pair) != 2 for pair in amounts):
        return (f"{what} should have shape [{m}, 2] instead of "
                f"[{len(amounts)}, {len(amounts[0]) if amounts else 2}]")
    for i, b in enumerate(block):
        if b < 1:
            return f"All values in block_shape must be positive, got value, {b} at index {i}."
    if any(v < 0 for pair in amounts for v in pair):
        return f"{what.capitalize()} must be non-negative"
    return None


def _padded_sizes(block: list, pads: list, spatial: list) -> tuple:
    """(sizes after padding divided by the block, the first problem or None)."""
    out = []
    for i, (b, (before, after), size) in enumerate(zip(block, pads, spatial)):
        if size is None:
            out.append(None)
            continue
        padded = size + before + after
        if padded % b:
            return out, (f"padded_shape[{i}]={padded} is not divisible by "
                         f"block_shape[{i}]={b}")
        out.append(padded // b)
    return out, None


def _cropped_sizes(block: list, crops: list, spatial: list) -> tuple:
    out = []
    for b, (start, end), size in zip(block, crops, spatial):
        if size is None:
            out.append(None)
            continue
        full = size * b
        if start + end > full:
            return out, (f"Cropped size must be non-negative: start: {start} end: {end} "
                         f"size {full}")
        out.append(full - start - end)
    return out, None


# ---- SpaceToBatchND / BatchToSpaceND ---------------------------------------------------------
def _block_args(op):
    """(block sizes, paddings or crops as M pairs) as far as they are constant (None where
    not); a malformed amounts value comes back as one row, for the shape check to name."""
    if op.type in ("SpaceToBatch", "BatchToSpace"):
        block = [op.get_attr("block_size")] * 2
        amounts = value_of(op.inputs[1])
    else:
        block, amounts = value_of(op.inputs[1]), value_of(op.inputs[2])
        block = None if block is None else _ints(block)
    if amounts is not None:
        amounts = (np.asarray(amounts).astype(np.int64).tolist() if np.ndim(amounts) == 2
                   else [_ints(amounts)])
    return block, amounts


@shape_fn("SpaceToBatchND", "BatchToSpaceND", "SpaceToBatch", "BatchToSpace")
def _space_batch_shape(op):
    to_batch = op.type.startswith("SpaceToBatch")
    given = op.inputs[0].shape
    if op.type in ("SpaceToBatch", "BatchToSpace"):
        given = merge_shapes(op, given, TensorShape([None] * 4))
    if op.type.endswith("ND"):
        block_rank = op.inputs[1].shape.ndims
        if block_rank is not None and block_rank != 1:
            raise fail(op, f"block_shape must have rank 1 but is rank {block_rank}")
    block, amounts = _block_args(op)
    if block is None:
        if given.ndims is None:
            return [TensorShape(None)]
        m = op.inputs[1].shape.as_list()[0] if op.inputs[1].shape.ndims == 1 else None
        rest = given.as_list()[1 + m:] if m is not None else [None] * (given.ndims - 1)
        return [[None] * (given.ndims - len(rest)) + rest]
    m = len(block)
    if given.ndims is None:
        return [TensorShape(None)]
    dims = given.as_list()
    if amounts is None:
        amounts_known = False
        amounts = [[0, 0]] * m
    else:
        amounts_known = True
    problem = _check_blocks(block, amounts, len(dims), "paddings" if to_batch else "crops")
    if problem:
        raise fail(op, problem)
    batch, spatial, rest = dims[0], dims[1:1 + m], dims[1 + m:]
    product = math.prod(block)
    if to_batch:
        sizes, problem = _padded_sizes(block, amounts, spatial)
        if problem and amounts_known:
            raise fail(op, problem)
        new_batch = None if batch is None else batch * product
    else:
        if batch is not None and batch % product:
            raise fail(op, f"Input batch dimension ({batch}) is not divisible by product "
                           f"of block sizes ({product})")
        sizes, problem = _cropped_sizes(block, amounts, spatial)
        if problem and amounts_known:
            raise fail(op, problem)
        new_batch = None if batch is None else batch // product
    if not amounts_known:
        sizes = [None] * m
    return [[new_batch] + sizes + rest]


def _space_to_batch(op, x, block: list, pads: list) -> np.ndarray:
    problem = _check_blocks(block, pads, x.ndim, "paddings")
    m = len(block)
    if problem is None:
        _, problem = _padded_sizes(block, pads, list(x.shape[1:1 + m]))
    if problem:
        raise _invalid(problem)
    batch, rest = x.shape[0], list(x.shape[1 + m:])
    widths = [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)] * len(rest)
    padded = np.pad(x, widths) if any(v for p in pads for v in p) else x
    sizes = [s // b for s, b in zip(padded.shape[1:1 + m], block)]
    tiled = padded.reshape([batch] + [v for pair in zip(sizes, block) for v in pair] + rest)
    order = ([2 + 2 * i for i in range(m)] + [0] + [1 + 2 * i for i in range(m)]
             + list(range(1 + 2 * m, tiled.ndim)))
    dealt = tiled.transpose(order)
    out = np.empty([batch * math.prod(block)] + sizes + rest, x.dtype)
    np.copyto(out.reshape(dealt.shape), dealt)   # a fresh array, never a view of x
    return out


def _batch_to_space(op, x, block: list, crops: list) -> np.ndarray:
    problem = _check_blocks(block, crops, x.ndim, "crops")
    m = len(block)
    product = math.prod(block)
    if problem is None and x.shape[0] % product:
        problem = (f"Input batch dimension ({x.shape[0]}) is not divisible by product of "
                   f"block sizes ({product})")
    if problem is None:
        _, problem = _cropped_sizes(block, crops, list(x.shape[1:1 + m]))
    if problem:
        raise _invalid(problem)
    batch, spatial, rest = x.shape[0] // product, list(x.shape[1:1 + m]), list(x.shape[1 + m:])
    dealt = x.reshape(list(block) + [batch] + spatial + rest)
    order = ([m] + [v for i in range(m) for v in (m + 1 + i, i)]
             + list(range(2 * m + 1, dealt.ndim)))
    whole = dealt.transpose(order).reshape([batch] + [s * b for s, b in zip(spatial, block)]
                                           + rest)
    keep = tuple([slice(None)] + [slice(start, size * b - end) for (start, end), size, b
                                  in zip(crops, spatial, block)])
    return np.ascontiguousarray(whole[keep])


def _amounts(op, value, m: int) -> list:
    flat = _ints(value)
    if np.ndim(value) != 2 or np.shape(value)[1] != 2:
        what = "paddings" if op.type.startswith("SpaceToBatch") else "crops"
        raise _invalid(f"{what} should have shape [{m}, 2] instead of "
                           f"{list(np.shape(value))}")
    return [flat[i:i + 2] for i in range(0, len(flat), 2)]


@kernel("SpaceToBatchND", "BatchToSpaceND")
def _space_batch_nd(op, ctx):
    to_batch = op.type == "SpaceToBatchND"

    def run(x, block_shape, amounts):
        if np.ndim(block_shape) != 1:
            raise _invalid(f"block_shape must be one-dimensional, got shape "
                               f"{list(np.shape(block_shape))}")
        block = _ints(block_shape)
        pairs = _amounts(op, amounts, len(block))
        x = np.asarray(x)
        return (_space_to_batch if to_batch else _batch_to_space)(op, x, block, pairs)
    return run


@kernel("SpaceToBatch", "BatchToSpace")
def _space_batch(op, ctx):
    size = op.get_attr("block_size")
    to_batch = op.type == "SpaceToBatch"

    def run(x, amounts):
        x = np.asarray(x)
        if x.ndim != 4:
            raise _invalid(f"input should have rank 4 instead of {x.ndim}")
        pairs = _amounts(op, amounts, 2)
        return (_space_to_batch if to_batch else _batch_to_space)(op, x, [size, size], pairs)
    return run


# ---- SpaceToDepth / DepthToSpace -------------------------------------------------------------
def _layout(op) -> str:
    data_format = op.get_attr("data_format")
    data_format = data_format.decode() if isinstance(data_format, bytes) else data_format
    if data_format == "NCHW_VECT_C":
        raise errors.UnimplementedError(
            None, op, f"{op.type} with NCHW_VECT_C (qint8 data) is not supported")
    return data_format


@shape_fn("SpaceToDepth", "DepthToSpace")
def _depth_shape(op):
    given = op.inputs[0].shape
    if given.ndims is None:
        return [TensorShape([None] * 4)]
    if given.ndims != 4:
        raise fail(op, f"Shape must be rank 4 but is rank {given.ndims}")
    b = op.get_attr("block_size")
    channels_first = _layout(op) == "NCHW"
    n, *dims = given.as_list()
    c, h, w = (dims[0], dims[1], dims[2]) if channels_first else (dims[2], dims[0], dims[1])
    if op.type == "SpaceToDepth":
        for name, size in (("width", w), ("height", h)):
            if size is not None and size % b:
                raise fail(op, f"Dimension size must be evenly divisible by {b} but is "
                               f"{size} for the {name}")
        h, w = (None if h is None else h // b), (None if w is None else w // b)
        c = None if c is None else c * b * b
    else:
        if c is not None and c % (b * b):
            raise fail(op, f"Dimension size must be evenly divisible by {b * b} but is {c}")
        h, w = (None if h is None else h * b), (None if w is None else w * b)
        c = None if c is None else c // (b * b)
    return [[n, c, h, w] if channels_first else [n, h, w, c]]


@kernel("SpaceToDepth", "DepthToSpace")
def _depth(op, ctx):
    b = op.get_attr("block_size")
    channels_first = _layout(op) == "NCHW"
    to_depth = op.type == "SpaceToDepth"

    def run(x):
        x = np.asarray(x)
        if x.ndim != 4:
            raise _invalid(f"Input rank should be: 4 instead of: {x.ndim}")
        nhwc = x.transpose(0, 2, 3, 1) if channels_first else x
        n, h, w, c = nhwc.shape
        if to_depth:
            if h % b or w % b:
                raise _invalid(f"Image width {w} and height {h} should be divisible by "
                                   f"block_size: {b}")
            out = nhwc.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
            out = out.reshape(n, h // b, w // b, c * b * b)
        else:
            if c % (b * b):
                raise _invalid(f"Input depth dimension {c} should be divisible by: "
                                   f"{b * b}")
            out = nhwc.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)
            out = out.reshape(n, h * b, w * b, c // (b * b))
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2) if channels_first else out)
    return run
