"""TensorList ops, one element at a time: making lists, reading, writing, pushing and
popping items, stacking (the lists TensorFlow 2's loops accumulate into and read back in
their gradients; the values are ``tensor_list.TensorList``). Ops on many elements at once
(gather, scatter, concat, split, resize) are in ``list_array_kernels.py``."""
from __future__ import annotations

import numpy as np

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.functional.tensor_list import TensorList, invalid as _fail, merge as _merge
from flowsaver.ops.functional.tensor_list import partial_shape as _partial
from flowsaver.ops.functional.tensor_list import static_shape as _static, zeros as _zeros
from flowsaver.ops.registry import NO_GRADIENT_YET, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'EmptyTensorList(element_shape: shape_type, max_num_elements: int32) -> '
    '(handle: variant); element_dtype: type; shape_type: type {int32, int64}',
    'TensorListReserve(element_shape: shape_type, num_elements: int32) -> (handle: variant); '
    'element_dtype: type; shape_type: type {int32, int64}',
    'TensorListFromTensor(tensor: element_dtype, element_shape: shape_type) -> '
    '(output_handle: variant); element_dtype: type; shape_type: type {int32, int64}',
    'TensorListStack(input_handle: variant, element_shape: int32) -> (tensor: element_dtype); '
    'element_dtype: type; num_elements: int = -1',
    'TensorListGetItem(input_handle: variant, index: int32, element_shape: Tshape) -> '
    '(item: element_dtype); element_dtype: type; Tshape: type {int32, int64} = int32',
    'TensorListSetItem(input_handle: variant, index: int32, item: element_dtype) -> '
    '(output_handle: variant); element_dtype: type; resize_if_index_out_of_bounds: bool = false',
    'TensorListPushBack(input_handle: variant, tensor: element_dtype) -> '
    '(output_handle: variant); element_dtype: type',
    'TensorListPopBack(input_handle: variant, element_shape: int32) -> '
    '(output_handle: variant, tensor: element_dtype); element_dtype: type',
    'TensorListLength(input_handle: variant) -> (length: int32)',
    'TensorListElementShape(input_handle: variant) -> (element_shape: shape_type); '
    'shape_type: type {int32, int64}',
)
_LISTS = ("EmptyTensorList", "TensorListReserve", "TensorListFromTensor",
          "TensorListSetItem", "TensorListPushBack")
for _op in _LISTS:
    TABLE.arg_full_type(_op, "handle" if _op in ("EmptyTensorList", "TensorListReserve")
                        else "output_handle", "TFT_ARRAY/TFT_TENSOR", "element_dtype")
TABLE.mark(NO_GRADIENT_YET, "TensorListFromTensor", "TensorListStack", "TensorListGetItem",
           "TensorListSetItem", "TensorListPushBack", "TensorListPopBack")
TABLE.not_differentiable("EmptyTensorList", "TensorListReserve", "TensorListLength",
                         "TensorListElementShape")


# ---- shapes -----------------------------------------------------------------------------------
@shape_fn(*_LISTS)
def _handle_shape(op):
    return [TensorShape([])]


@shape_fn("TensorListLength")
def _length_shape(op):
    return [TensorShape([])]


@shape_fn("TensorListElementShape")
def _element_shape_shape(op):
    return [TensorShape(None)]


@shape_fn("TensorListStack")
def _stack_shape(op):
    n = op.get_attr("num_elements")
    return [TensorShape([None if n < 0 else n]).concatenate(_static(op.inputs[1]))]


@shape_fn("TensorListGetItem")
def _get_shape(op):
    return [_static(op.inputs[2])]


@shape_fn("TensorListPopBack")
def _pop_shape(op):
    return [TensorShape([]), _static(op.inputs[1])]


# ---- kernels ----------------------------------------------------------------------------------
@kernel("EmptyTensorList")
def _empty(op, ctx):
    dtype = op.get_attr("element_dtype").as_numpy_dtype
    return lambda shape, max_size: TensorList([], _partial(shape), dtype, int(max_size))


@kernel("TensorListReserve")
def _reserve(op, ctx):
    dtype = op.get_attr("element_dtype").as_numpy_dtype

    def reserve(shape, n):
        if n < 0:
            raise _fail(op, f"The num_elements to reserve must be a non negative number, but "
                            f"got {int(n)}")
        return TensorList([None] * int(n), _partial(shape), dtype)
    return reserve


@kernel("TensorListFromTensor")
def _from_tensor(op, ctx):
    dtype = op.get_attr("element_dtype").as_numpy_dtype

    def from_tensor(tensor, shape):
        if tensor.ndim < 1:
            raise _fail(op, "Tensor must be at least a vector, but saw shape: []")
        element = _merge(op, _partial(shape), list(tensor.shape[1:]))
        return TensorList(list(tensor), element, dtype)
    return from_tensor


@kernel("TensorListStack")
def _stack(op, ctx):
    num = op.get_attr("num_elements")

    def stack(handle, shape):
        if num >= 0 and num != len(handle.items):
            raise _fail(op, f"Operation expected a list with {num} elements but got a list "
                            f"with {len(handle.items)} elements.")
        element = _merge(op, handle.element_shape, _partial(shape))
        present = [i for i in handle.items if i is not None]
        if present:
            element = _merge(op, element, list(present[0].shape))
        items = [i if i is not None else _zeros(op, element, handle.dtype, "stack")
                 for i in handle.items]
        if not items:
            return _zeros(op, [0] + (element if element is not None else [None]),
                          handle.dtype, "stack of an empty list")
        return np.stack(items)
    return stack


@kernel("TensorListGetItem")
def _get_item(op, ctx):
    def get_item(handle, index, shape):
        index = int(index)
        if not 0 <= index < len(handle.items):
            raise _fail(op, f"Trying to access element {index} in a list with "
                            f"{len(handle.items)} elements.")
        item = handle.items[index]
        if item is None:
            return _zeros(op, _merge(op, handle.element_shape, _partial(shape)), handle.dtype,
                          "get_item")
        return item
    return get_item


@kernel("TensorListSetItem")
def _set_item(op, ctx):
    resize = op.get_attr("resize_if_index_out_of_bounds")

    def set_item(handle, index, item):
        index = int(index)
        items = list(handle.items)
        if index >= len(items) and resize:
            items += [None] * (index + 1 - len(items))
        if not 0 <= index < len(items):
            raise _fail(op, f"Trying to modify element {index} in a list with {len(items)} "
                            f"elements.")
        _merge(op, handle.element_shape, list(np.shape(item)))
        items[index] = item
        return handle.with_items(items)
    return set_item


@kernel("TensorListPushBack")
def _push_back(op, ctx):
    def push_back(handle, tensor):
        _merge(op, handle.element_shape, list(np.shape(tensor)))
        if 0 <= handle.max_size <= len(handle.items):
            raise _fail(op, f"Tried to push item into a full list list size: "
                            f"{len(handle.items)}, max_num_elements: {handle.max_size}")
        return handle.with_items(handle.items + [tensor])
    return push_back


@kernel("TensorListPopBack")
def _pop_back(op, ctx):
    def pop_back(handle, shape):
        if not handle.items:
            raise _fail(op, "Trying to pop from an empty list.")
        item = handle.items[-1]
        if item is None:
            item = _zeros(op, _merge(op, handle.element_shape, _partial(shape)), handle.dtype,
                          "pop_back")
        return handle.with_items(handle.items[:-1]), item
    return pop_back


@kernel("TensorListLength")
def _length(op, ctx):
    return lambda handle: np.int32(len(handle.items))


@kernel("TensorListElementShape")
def _element_shape(op, ctx):
    dtype = op.get_attr("shape_type").as_numpy_dtype

    def element_shape(handle):
        if handle.element_shape is None:
            return np.array(-1, dtype)
        return np.array([-1 if d is None else d for d in handle.element_shape], dtype)
    return element_shape
