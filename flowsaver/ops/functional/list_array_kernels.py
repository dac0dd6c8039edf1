"""TensorList ops on many elements at once: gather, scatter, concat, split and resize
(what ``tf.TensorArray``'s gather/scatter/concat/split become inside TensorFlow 2's
functional control flow, and their gradients)."""
from __future__ import annotations

import numpy as np

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.functional.tensor_list import TensorList, invalid, merge, partial_shape
from flowsaver.ops.functional.tensor_list import static_shape, zeros
from flowsaver.ops.registry import NO_GRADIENT_YET, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'TensorListGather(input_handle: variant, indices: int32, element_shape: int32) -> (values: element_dtype); element_dtype: type',
    'TensorListScatterIntoExistingList(input_handle: variant, tensor: element_dtype, indices: int32) -> (output_handle: variant); element_dtype: type',
    'TensorListConcatV2(input_handle: variant, element_shape: shape_type, leading_dims: int64) -> (tensor: element_dtype, lengths: int64); element_dtype: type; shape_type: type {int32, int64}',
    'TensorListSplit(tensor: element_dtype, element_shape: shape_type, lengths: int64) -> (output_handle: variant); element_dtype: type; shape_type: type {int32, int64}',
    'TensorListResize(input_handle: variant, size: int32) -> (output_handle: variant)',
)
for _op in ("TensorListScatterIntoExistingList", "TensorListSplit"):
    TABLE.arg_full_type(_op, "output_handle", "TFT_ARRAY/TFT_TENSOR", "element_dtype")
TABLE.mark(NO_GRADIENT_YET, "TensorListGather", "TensorListScatterIntoExistingList",
           "TensorListConcatV2", "TensorListSplit", "TensorListResize")


@shape_fn("TensorListScatterIntoExistingList", "TensorListSplit", "TensorListResize")
def _handle_shape(op):
    return [TensorShape([])]


@shape_fn("TensorListGather")
def _gather_shape(op):
    return [TensorShape([None]).concatenate(static_shape(op.inputs[2]))]


@shape_fn("TensorListConcatV2")
def _concat_shape(op):
    element = static_shape(op.inputs[1])
    rest = TensorShape(None) if element.ndims is None else TensorShape(element.as_list()[1:])
    return [TensorShape([None]).concatenate(rest), TensorShape([None])]


def _item(op, handle, index: int, shape, what: str):
    item = handle.items[index]
    return item if item is not None else zeros(op, shape, handle.dtype, what)


@kernel("TensorListGather")
def _gather(op, ctx):
    def gather(handle, indices, element_shape):
        shape = merge(op, handle.element_shape, partial_shape(element_shape))
        indices = [int(i) for i in np.reshape(indices, -1)]
        for i in indices:
            if not 0 <= i < len(handle.items):
                raise invalid(op, f"Trying to gather element {i} in a list with "
                                  f"{len(handle.items)} elements.")
        items = [_item(op, handle, i, shape, "gather") for i in indices]
        if not items:
            return zeros(op, [0] + (shape if shape is not None else [None]), handle.dtype,
                         "gather of no elements")
        return np.stack(items)
    return gather


@kernel("TensorListScatterIntoExistingList")
def _scatter(op, ctx):
    def scatter(handle, tensor, indices):
        indices = [int(i) for i in np.reshape(indices, -1)]
        if np.ndim(tensor) < 1 or len(indices) != np.shape(tensor)[0]:
            raise invalid(op, f"Specified a list with shape {list(np.shape(tensor))} but "
                              f"{len(indices)} indices")
        merge(op, handle.element_shape, list(np.shape(tensor)[1:]))
        items = list(handle.items)
        for row, i in enumerate(indices):
            if i < 0:
                raise invalid(op, f"Indices in TensorListScatter must all be non-negative. "
                                  f"Got {i}")
            if i >= len(items):
                items += [None] * (i + 1 - len(items))
            items[i] = tensor[row]
        return handle.with_items(items)
    return scatter


@kernel("TensorListConcatV2")
def _concat(op, ctx):
    def concat(handle, element_shape, leading_dims):
        shape = merge(op, handle.element_shape, partial_shape(element_shape))
        leading = [int(d) for d in np.reshape(leading_dims, -1)]
        pieces = []
        for i, item in enumerate(handle.items):
            if item is None:
                if shape is None or i >= len(leading) and shape[0] is None:
                    raise invalid(op, "Trying to concat list with only uninitialized tensors "
                                      "but element_shape_except_first_dim is not fully "
                                      "defined")
                first = shape[0] if shape[0] is not None else leading[i]
                item = zeros(op, [first] + shape[1:], handle.dtype, "concat")
            elif np.ndim(item) < 1:
                raise invalid(op, "Concat saw a scalar shape at index 0 but requires at "
                                  "least vectors.")
            pieces.append(item)
        lengths = np.array([p.shape[0] for p in pieces], np.int64)
        if not pieces:
            rest = shape[1:] if shape is not None else None
            return zeros(op, [0] + (rest if rest is not None else [None]), handle.dtype,
                         "concat of no elements"), lengths
        return np.concatenate(pieces), lengths
    return concat


@kernel("TensorListSplit")
def _split(op, ctx):
    dtype = op.get_attr("element_dtype").as_numpy_dtype

    def split(tensor, element_shape, lengths):
        lengths = [int(n) for n in np.reshape(lengths, -1)]
        if np.ndim(tensor) < 1:
            raise invalid(op, "Tensor must be at least a vector, but saw shape: []")
        if sum(lengths) != np.shape(tensor)[0] or min(lengths, default=0) < 0:
            raise invalid(op, f"Unused values in tensor. Length of tensor: "
                              f"{np.shape(tensor)[0]} Values used: {sum(lengths)}")
        shape = partial_shape(element_shape)
        items, start = [], 0
        for n in lengths:
            items.append(tensor[start:start + n])
            start += n
        return TensorList(items, shape, dtype)
    return split


@kernel("TensorListResize")
def _resize(op, ctx):
    def resize(handle, size):
        size = int(size)
        if size < 0:
            raise invalid(op, f"TensorListSlice expects size to be non-negative. Got: {size}")
        items = handle.items[:size] + [None] * max(0, size - len(handle.items))
        return handle.with_items(items)
    return resize
