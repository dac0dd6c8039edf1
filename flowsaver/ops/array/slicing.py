"""Selecting parts of tensors: ``t[...]``, ``tf.slice``, ``tf.strided_slice``, ``tf.gather``,
``tf.boolean_mask``, ``tf.where`` and ``tf.one_hot``, built as TensorFlow 1.x builds them.

``t[1:, None, ..., -1]`` becomes one ``StridedSlice`` under a ``strided_slice`` scope whose
begin/end/strides are packed by ``stack`` (``strided_slice/stack``, ``stack_1``,
``stack_2``), with the masks TensorFlow's ``_slice_helper`` computes.
"""
from __future__ import annotations

import builtins
import numbers

import numpy as np

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import Dimension, as_shape
from flowsaver.ops.array import basic, layout
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.op_builder import constant, convert_to_tensor, create_op, graph_of

_INDEX_TYPES = ("int16", "int32", "int64")
_SLICE_TYPE_ERROR = ("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and "
                     "scalar tf.int32/tf.int64 tensors are valid indices")




def slice(input_, begin, size, name=None) -> Tensor:  # noqa: A001 - TensorFlow's name
    """The block of ``size`` elements starting at ``begin`` (-1: to the end) (``Slice``)."""
    with graph_of([input_, begin, size]).as_default():
        return create_op("Slice", [input_, begin, size], name=name)


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, var=None, name=None) -> Tensor:
    """``input_[begin:end:strides]`` per dimension, shaped by the masks (``StridedSlice``)."""
    with graph_of([input_, begin, end, strides]).as_default():
        if strides is None:
            strides = basic.ones_like(begin)
        return create_op("StridedSlice", [input_, begin, end, strides],
                         {"begin_mask": begin_mask, "end_mask": end_mask,
                          "ellipsis_mask": ellipsis_mask, "new_axis_mask": new_axis_mask,
                          "shrink_axis_mask": shrink_axis_mask}, name=name)


def _index_dtype(value):
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return None
    try:
        return as_dtype(dtype).base_dtype.name
    except TypeError:
        return None


def _check_index(index) -> None:
    """TypeError unless ``index`` is an integer or a scalar integer tensor."""
    if isinstance(index, (numbers.Integral, Dimension)):
        return
    shape = getattr(index, "shape", None)
    rank = None
    if shape is not None:
        rank = getattr(shape, "ndims", None) if not isinstance(shape, tuple) else len(shape)
    if _index_dtype(index) not in _INDEX_TYPES or rank == 1:
        raise TypeError(f"{_SLICE_TYPE_ERROR}, got {index!r}")


def _undefined(d) -> bool:
    return isinstance(d, Dimension) and d.value is None


def _plain(value):
    """Python ints for NumPy integers and known Dimensions, so they pack as int32 Consts."""
    if isinstance(value, Dimension):
        return value.value
    if isinstance(value, np.integer):
        return int(value)
    return value


def getitem(tensor, slice_spec) -> Tensor:
    """``tensor[slice_spec]``: a ``StridedSlice`` (or ``boolean_mask`` for a bool mask)."""
    tensor = convert_to_tensor(tensor)
    if (isinstance(slice_spec, bool) or
            (isinstance(slice_spec, Tensor) and slice_spec.dtype.base_dtype.is_bool) or
            (isinstance(slice_spec, np.ndarray) and slice_spec.dtype == bool)):
        return boolean_mask(tensor=tensor, mask=slice_spec)
    if not isinstance(slice_spec, (list, tuple)):
        slice_spec = [slice_spec]
    begin, end, strides = [], [], []
    masks = dict.fromkeys(("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                           "shrink_axis_mask"), 0)
    g = tensor.graph
    with g.as_default():
        for index, s in enumerate(slice_spec):
            bit = 1 << index
            if isinstance(s, builtins.slice):
                _add_slice(s, bit, begin, end, strides, masks)
            elif s is Ellipsis or s is None:
                begin.append(0)
                end.append(0)
                strides.append(1)
                masks["ellipsis_mask" if s is Ellipsis else "new_axis_mask"] |= bit
            else:
                _check_index(s)
                s = _plain(s)
                begin.append(s)
                end.append(s + 1)
                wide = isinstance(s, Tensor) and s.dtype.base_dtype.name in ("int16", "int64")
                strides.append(constant(1, dtype=s.dtype.base_dtype) if wide else 1)
                masks["shrink_axis_mask"] |= bit
        with g.name_scope("strided_slice") as scope:
            if begin:
                stack = basic.stack
                packed = [stack(begin), stack(end), stack(strides)]
                kinds = [t.dtype.base_dtype.name for t in packed]
                if "int64" in kinds:
                    packed = [t if k == "int64" else
                              create_op("Cast", [t], {"DstT": as_dtype("int64")}, name="Cast")
                              for t, k in zip(packed, kinds)]
            else:
                packed = [constant([], dtype="int32")] * 3
            return strided_slice(tensor, *packed, name=scope, **masks)


def _add_slice(s, bit, begin, end, strides, masks) -> None:
    """Append one ``start:stop:step`` item; open ends set the begin/end mask bits."""
    dtype = None
    for t in (s.start, s.stop, s.step):
        if isinstance(t, Tensor):
            kind = t.dtype.base_dtype.name
            if kind == "int64":
                dtype = "int64"
            elif kind == "int32" and dtype != "int64":
                dtype = "int32"
            elif kind == "int16" and dtype is None:
                dtype = "int16"
    for value, out, mask, default in ((s.start, begin, "begin_mask", 0),
                                      (s.stop, end, "end_mask", 0),
                                      (s.step, strides, None, 1)):
        if value is not None and not _undefined(value):
            _check_index(value)
            out.append(_plain(value))
        else:
            out.append(constant(default, dtype=dtype) if dtype else default)
            if mask:
                masks[mask] |= bit


def gather(params, indices, validate_indices=None, name=None, axis=None,
           batch_dims=0) -> Tensor:
    """Slices of ``params`` along ``axis`` at ``indices`` (``GatherV2``)."""
    del validate_indices  # ignored, as in TensorFlow
    if axis is None:
        axis = batch_dims
    with graph_of([params, indices, axis]).as_default():
        return create_op("GatherV2", [params, indices, axis], {"batch_dims": batch_dims},
                         name=name)


def where(condition, x=None, y=None, name=None) -> Tensor:
    """TF1 ``tf.where``: coordinates of true elements (``Where``), or ``Select(c, x, y)``."""
    if x is None and y is None:
        return _where_indices(condition, name)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    with graph_of([condition, x, y]).as_default():
        return create_op("Select", [condition, x, y], name=name)


def where_v2(condition, x=None, y=None, name=None) -> Tensor:
    """Coordinates of true elements (``Where``), or a broadcasting ``SelectV2(c, x, y)``."""
    if x is None and y is None:
        return _where_indices(condition, name)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    with graph_of([condition, x, y]).as_default():
        return create_op("SelectV2", [condition, x, y], name=name)


def _where_indices(condition, name) -> Tensor:
    g = graph_of([condition])
    with g.as_default(), g.name_scope(name or "Where") as scope:
        condition = convert_to_tensor(condition, preferred_dtype="bool", name="condition")
        return create_op("Where", [condition], name=scope)


def boolean_mask(tensor, mask, name="boolean_mask", axis=None) -> Tensor:
    """The elements (or slices from ``axis`` on) of ``tensor`` where ``mask`` is true."""
    g = graph_of([tensor, mask])
    with g.as_default(), g.name_scope(name or "boolean_mask"):
        tensor = convert_to_tensor(tensor, name="tensor")
        mask = convert_to_tensor(mask, name="mask")
        mask_shape, given = mask.shape, tensor.shape
        n = mask_shape.ndims
        if n == 0:
            raise ValueError("mask cannot be scalar.")
        if n is None:
            raise ValueError("Number of mask dimensions must be specified, even if some "
                             "dimensions are None.  E.g. shape=[None] is ok, but shape=None "
                             "is not.")
        axis = 0 if axis is None else axis
        axis_value = value_of(axis) if isinstance(axis, Tensor) else axis
        if axis_value is not None:
            axis = int(axis_value)
            given[axis:axis + n].assert_is_compatible_with(mask_shape)
        leading = create_op("Prod", [basic.shape(tensor)[axis:axis + n], [0]], name="Prod")
        tensor = basic.reshape(tensor, basic.concat([basic.shape(tensor)[:axis], [leading],
                                                 basic.shape(tensor)[axis + n:]], 0))
        if axis_value is not None:
            first = given[axis:axis + n].num_elements()
            tensor.set_shape(as_shape(given[:axis]).concatenate([first])
                             .concatenate(given[axis + n:]))
        mask = basic.reshape(mask, [-1])
        indices = layout.squeeze(_where_indices(mask, None), axis=[1])
        return gather(tensor, indices, axis=axis)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None,
            name=None) -> Tensor:
    """``depth``-long vectors with ``on_value`` at each index, ``off_value`` elsewhere."""
    g = graph_of([indices, depth, on_value, off_value])
    with g.as_default(), g.name_scope(name or "one_hot") as scope:
        dtype = None if dtype is None else as_dtype(dtype).base_dtype
        on_exists, off_exists = on_value is not None, off_value is not None
        if on_exists:
            on_value = convert_to_tensor(on_value, preferred_dtype=dtype)
        if off_exists:
            off_value = convert_to_tensor(off_value, preferred_dtype=dtype)
        on_dtype = on_value.dtype.base_dtype if on_exists else None
        off_dtype = off_value.dtype.base_dtype if off_exists else None
        if on_exists or off_exists:
            if dtype is not None:
                for given, what in ((on_dtype, "on_value"), (off_dtype, "off_value")):
                    if given is not None and given != dtype:
                        raise TypeError(f"dtype <dtype: '{given.name}'> of {what} does not "
                                        f"match dtype parameter <dtype: '{dtype.name}'>")
            else:
                dtype = on_dtype if on_exists else off_dtype
        elif dtype is None:
            dtype = as_dtype("float32")
        if not on_exists:
            on_value, on_dtype = convert_to_tensor(1, dtype, name="on_value"), dtype
        if not off_exists:
            off_value, off_dtype = convert_to_tensor(0, dtype, name="off_value"), dtype
        if on_dtype != off_dtype:
            raise TypeError(f"dtype <dtype: '{on_dtype.name}'> of on_value does not match "
                            f"dtype <dtype: '{off_dtype.name}'> of off_value")
        if not isinstance(indices, Tensor):  # inferred first, as TF does for allowed-list attrs
            indices = convert_to_tensor(indices, name="indices")
        attrs = {} if axis is None else {"axis": axis}
        return create_op("OneHot", [indices, depth, on_value, off_value], attrs, name=scope)


def unsorted_segment_sum(data, segment_ids, num_segments, name=None) -> Tensor:
    """Rows of ``data`` summed by segment id into ``num_segments`` rows (``UnsortedSegmentSum``)."""
    return create_op("UnsortedSegmentSum", [data, segment_ids, num_segments], name=name)


def unique(x, out_idx="int32", name=None):
    """(distinct values of vector ``x`` in order of first appearance, each element's
    position among them) (``Unique``)."""
    with graph_of([x]).as_default():
        y, idx = create_op("Unique", [x], {"out_idx": as_dtype(out_idx)}, name=name)
        return y, idx
