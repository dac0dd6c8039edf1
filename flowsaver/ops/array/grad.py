"""Gradient functions of the array ops (reshaping, joining, slicing, gathering, padding).

As in ``math_grad``, each builds TensorFlow's ops in TensorFlow's order and names. A
gather's gradient is an ``IndexedSlices`` (rows and their indices), turned into a dense
tensor (``UnsortedSegmentSum``) only where a dense gradient is needed.
"""
from __future__ import annotations

import numpy as np

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.array.layout import invert_permutation, matrix_band_part
from flowsaver.ops.array.slicing import unsorted_segment_sum
from flowsaver.ops.autodiff.indexed_slices import IndexedSlices
from flowsaver.ops.const_eval import constant_value as static_value
from flowsaver.ops.control_flow import context as cf_context
from flowsaver.ops.op_builder import constant, convert_to_tensor, create_op
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient

TABLE.not_differentiable("StopGradient", "Shape", "ShapeN", "Rank", "Size", "ZerosLike",
                         "OnesLike", "BroadcastGradientArgs", "InvertPermutation",
                         "ConcatOffset", "Const", "OneHot")


def _dense(grad):
    """``grad`` as a Tensor; an IndexedSlices is summed into place without a warning."""
    if not isinstance(grad, IndexedSlices):
        return grad
    return unsorted_segment_sum(grad.values, grad.indices, grad.dense_shape[0])


# ---- identity-like and reshaping ----------------------------------------------------------------
for _type in ("Identity", "PlaceholderWithDefault", "ReadVariableOp"):
    gradient(_type)(lambda op, grad: grad)


@gradient("Reshape")
def _reshape_grad(op, grad):
    shape = op.inputs[0].shape
    if shape.ndims is not None and not shape.is_fully_defined():
        dims = shape.as_list()
        unknown = [i for i, d in enumerate(dims) if d is None]
        if len(unknown) == 1 and 0 not in dims:
            # One unknown dimension: -1 avoids a run-time Shape op.
            dims[unknown[0]] = -1
            return [array_ops.reshape(_dense(grad), dims), None]
    return [array_ops.reshape(_dense(grad), array_ops.shape(op.inputs[0])), None]


def _reshape_to_input(op, grad):
    return array_ops.reshape(_dense(grad), array_ops.shape(op.inputs[0]))


gradient("ExpandDims")(lambda op, grad: [_reshape_to_input(op, grad), None])
gradient("Squeeze")(_reshape_to_input)


@gradient("Transpose")
def _transpose_grad(op, grad):
    return [array_ops.transpose(grad, invert_permutation(op.inputs[1])), None]


@gradient("Pack")
def _pack_grad(op, grad):
    return array_ops.unstack(grad, num=op.get_attr("N"), axis=op.get_attr("axis"))


@gradient("Unpack")
def _unpack_grad(op, *grads):
    return array_ops.stack(list(grads), axis=op.get_attr("axis"))


@gradient("Fill")
def _fill_grad(op, grad):
    return None, math_ops.reduce_sum(grad)


# ---- joining and slicing ------------------------------------------------------------------------
def _input_shapes(values: list) -> list:
    """Const shapes when every one is known, else one ``ShapeN`` (made as TF makes them)."""
    sizes = []
    for x in values:
        shape = array_ops.shape(x)
        if shape.op.type != "Const":
            return array_ops.shape_n(values)
        sizes.append(shape)
    return sizes


@gradient("ConcatV2")
def _concat_grad(op, grad):
    if len(op.inputs) == 2:
        return [grad, None]
    axis, values = op.inputs[-1], op.inputs[:-1]
    # TensorFlow slices a sparse gradient without densifying it, and splits (SplitV) when
    # more than 16 tensors were joined; flowsaver takes the dense ConcatOffset path always.
    if isinstance(grad, IndexedSlices):
        grad = _dense(grad)
    if axis.op.type == "Const" and \
            cf_context.output_context(grad.op) is not cf_context.output_context(axis.op):
        # a constant axis of a forward loop: cloned where the gradient is built
        axis = constant(static_value(axis), dtype=axis.dtype)
    axis = axis % array_ops.rank(values[0])
    sizes = _input_shapes(list(values))
    offsets = create_op("ConcatOffset", [axis, sizes])
    return [array_ops.slice(grad, begin, size) for begin, size in zip(offsets, sizes)] + [None]


@gradient("Slice")
def _slice_grad(op, grad):
    x, begin = op.inputs[0], op.inputs[1]
    rank = array_ops.rank(x)
    index_type = begin.dtype.base_dtype
    slice_size = array_ops.shape(op.outputs[0], out_type=index_type)
    shape = array_ops.stack([rank, 1])
    before = array_ops.reshape(begin, shape)
    after = array_ops.reshape(array_ops.shape(x, out_type=index_type) - slice_size - begin,
                              shape)
    paddings = array_ops.concat([before, after], 1)
    return array_ops.pad(grad, paddings), None, None


@gradient("StridedSlice")
def _strided_slice_grad(op, grad):
    x, begin, end, strides = op.inputs
    shape = array_ops.shape(x, out_type=begin.dtype.base_dtype)
    args = [shape, begin, end, strides]
    args = [v if (v := static_value(t)) is not None else t for t in args]
    masks = {k: op.get_attr(k) for k in ("begin_mask", "end_mask", "ellipsis_mask",
                                         "new_axis_mask", "shrink_axis_mask")}
    return create_op("StridedSliceGrad", args + [grad], masks), None, None, None


@gradient("StridedSliceGrad")
def _strided_slice_grad_grad(op, grad):
    begin, end, strides = op.inputs[1:4]
    masks = {k: op.get_attr(k) for k in ("begin_mask", "end_mask", "ellipsis_mask",
                                         "new_axis_mask", "shrink_axis_mask")}
    return None, None, None, None, array_ops.strided_slice(grad, begin, end, strides, **masks)


def _pad_grad(op, grad):
    x, paddings = op.inputs[0], op.inputs[1]
    before = array_ops.slice(paddings, [0, 0], array_ops.stack([array_ops.rank(x), 1]))
    begin = array_ops.reshape(before, [-1])
    sizes = array_ops.shape(x, out_type=begin.dtype.base_dtype)
    x_grad = array_ops.slice(grad, begin, sizes)
    return (x_grad, None, None) if len(op.inputs) == 3 else (x_grad, None)


gradient("Pad")(_pad_grad)
gradient("PadV2")(_pad_grad)


@gradient("MatrixBandPart")
def _band_part_grad(op, grad):
    return [matrix_band_part(grad, op.inputs[1], op.inputs[2]), None, None]


@gradient("Tile")
def _tile_grad(op, grad):
    multiples = op.inputs[1]
    input_shape = array_ops.shape(op.inputs[0], out_type=multiples.dtype.base_dtype)
    # Interleave [m0, d0, m1, d1, ...] and sum over the even (tiled) axes.
    split_shape = array_ops.reshape(array_ops.transpose(array_ops.stack([multiples,
                                                                         input_shape])), [-1])
    axes = math_ops.range(0, array_ops.size(split_shape), 2)
    if isinstance(grad, IndexedSlices):
        first = math_ops.cast(input_shape[0], grad.indices.dtype)
        grad = unsorted_segment_sum(grad.values, math_ops.floormod(grad.indices, first), first)
        split_shape = array_ops.concat([[1], split_shape[1:]], axis=0)
    input_grad = math_ops.reduce_sum(array_ops.reshape(grad, split_shape), axes)
    input_grad.set_shape(op.inputs[0].shape)
    return [input_grad, None]


@gradient("BroadcastTo")
def _broadcast_to_grad(op, grad):
    x, shape = op.inputs
    shape_type = shape.dtype.base_dtype
    x_shape = array_ops.shape(x, out_type=shape_type)
    known = static_value(shape)
    if known is not None:
        shape = convert_to_tensor(np.asarray(known).tolist(), dtype=shape_type)
    _, axes = create_op("BroadcastGradientArgs", [shape, x_shape])
    summed = math_ops.reduce_sum(grad, axis=axes, keepdims=True)
    return [array_ops.reshape(summed, x_shape), None]


# ---- gathering and selecting --------------------------------------------------------------------
@gradient("GatherV2")
def _gather_grad(op, grad):
    params, indices, axis = op.inputs
    with op.graph.colocate_with(params):
        params_shape = array_ops.shape(params)
    indices_size = array_ops.expand_dims(array_ops.size(indices), 0)
    axis_static = static_value(axis)
    batch_dims = int(op.get_attr("batch_dims"))
    if batch_dims < 0:
        if indices.shape.ndims is None:
            raise ValueError(f"Currently, it is unsupported to take the gradient of tf.gather "
                             f"when batch_dims < 0 and the rank of the indices is unknown "
                             f"({op.name}).")
        batch_dims += indices.shape.ndims
    if axis_static == 0:
        values_shape = array_ops.concat([indices_size, params_shape[1:]], 0)
        values = array_ops.reshape(_dense(grad), values_shape)
        indices = array_ops.reshape(indices, indices_size)
        return [IndexedSlices(values, indices, params_shape), None, None]
    if batch_dims:
        raise ValueError(f"flowsaver cannot differentiate {op.name}: a gather along axis "
                         f"{axis_static} with batch_dims={batch_dims}")
    # Move the gathered axis to the front, scatter the rows back, and move it back.
    outer_shape = params_shape[:axis]
    inner_shape = params_shape[axis:][1:]
    values_shape = array_ops.concat([outer_shape, [-1], inner_shape], 0)
    values_dims = array_ops.size(values_shape)
    axis_dims = array_ops.size(outer_shape)
    outer_batch = math_ops.range(batch_dims)
    batch_axis = math_ops.range(batch_dims, axis_dims)
    inner_axes = math_ops.range(axis_dims + 1, values_dims)
    values = array_ops.reshape(_dense(grad), values_shape)
    transpose_dims = array_ops.concat([outer_batch, [axis_dims], batch_axis, inner_axes], 0)
    values_transpose = array_ops.transpose(values, transpose_dims)
    array_ops.gather(params_shape, transpose_dims)  # TF builds it for its batch helper
    gather_dim_size = params_shape[axis]
    indices_size = array_ops.expand_dims(array_ops.size(indices), 0)
    indices = array_ops.reshape(indices, indices_size)
    params_grad = unsorted_segment_sum(values_transpose, indices, gather_dim_size)
    invert_dims = array_ops.concat([outer_batch, batch_axis + 1, [batch_dims], inner_axes], 0)
    params_grad = array_ops.transpose(params_grad, invert_dims)
    return [array_ops.reshape(params_grad, array_ops.shape(params)), None, None]
