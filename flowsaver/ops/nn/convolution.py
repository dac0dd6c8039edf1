"""``tf.nn`` convolutions beyond ``conv2d``: ``conv1d``, ``conv2d_transpose``,
``depthwise_conv2d`` and ``separable_conv2d``, with TensorFlow's node layout.

Dilated depthwise and separable convolutions (``rate`` > 1) run as TensorFlow builds them
(``with_space_to_batch``): the input is padded and dealt out to rate x rate batches
(``SpaceToBatchND``), convolved undilated with VALID padding, and gathered back
(``BatchToSpaceND``), the padding and crops computed as constants when the spatial shape is
known and as small graph arithmetic when it is not.
"""
from __future__ import annotations

import numpy as np

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.array.layout import _tensor_like
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.nn import api as nn_ops
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ["conv1d", "conv2d_transpose", "depthwise_conv2d", "depthwise_conv2d_native",
           "separable_conv2d", "conv2d_backprop_input", "conv2d_backprop_filter",
           "depthwise_conv2d_native_backprop_input", "depthwise_conv2d_native_backprop_filter",
           "depthwise_conv2d_backprop_input", "depthwise_conv2d_backprop_filter",
           "with_space_to_batch", "convolution", "atrous_conv2d"]


def _sequence(value, n: int, channel_index: int, name: str) -> list:
    """A per-spatial-axis value as the full-rank list an op wants (TF's _get_sequence)."""
    if value is None:
        value = [1]
    elif isinstance(value, int):
        value = [value]
    value = list(value)
    if len(value) == n + 2:
        return value
    if len(value) == 1:
        value = value * n
    elif len(value) != n:
        raise ValueError(f"{name} should be of length 1, {n} or {n + 2}. Received: "
                         f"{name}={value} of length {len(value)}")
    return [1, 1] + value if channel_index == 1 else [1] + value + [1]


def conv1d(value=None, filters=None, stride=None, padding=None, use_cudnn_on_gpu=None,
           data_format=None, name=None, input=None, dilations=None):  # noqa: A002
    """1-D convolution as TensorFlow builds it: a ``Conv2D`` over an added height axis."""
    if value is not None and input is not None:
        raise ValueError("Cannot specify both 'input' and 'value'.")
    value = value if value is not None else input
    g = graph_of([value, filters])
    with g.as_default(), g.name_scope(name or "conv1d") as scope:
        if data_format in (None, "NHWC", "NWC"):
            data_format, spatial_start, channel_index = "NHWC", -3, 2
        elif data_format in ("NCHW", "NCW"):
            data_format, spatial_start, channel_index = "NCHW", -2, 1
        else:
            raise ValueError(f"`data_format` must be 'NWC' or 'NCW'. Received: "
                             f"data_format={data_format}")
        strides = [1] + _sequence(stride, 1, channel_index, "stride")
        dilations = [1] + _sequence(dilations, 1, channel_index, "dilations")
        value = array_ops.expand_dims(value, spatial_start)
        filters = array_ops.expand_dims(filters, 0)
        padding, explicit = nn_ops._padding(padding, "Conv2D", ("SAME", "VALID", "EXPLICIT"))
        attrs = {"strides": strides, "padding": padding, "explicit_paddings": explicit,
                 "data_format": data_format, "dilations": dilations}
        if use_cudnn_on_gpu is not None:
            attrs["use_cudnn_on_gpu"] = bool(use_cudnn_on_gpu)
        result = create_op("Conv2D", [value, filters], attrs, name=scope)
        return array_ops.squeeze(result, [spatial_start])


def conv2d_transpose(value=None, filter=None, output_shape=None, strides=None,  # noqa: A002
                     padding="SAME", data_format="NHWC", name=None, input=None,
                     filters=None, dilations=None):
    """The gradient of ``conv2d`` with respect to its input (``Conv2DBackpropInput``)."""
    value = nn_ops._pick(input, value, "input", "value", None)
    filter = nn_ops._pick(filters, filter, "filters", "filter", None)  # noqa: A001
    g = graph_of([value, filter, output_shape])
    with g.as_default(), g.name_scope(name or "conv2d_transpose") as scope:
        data_format = data_format or "NHWC"
        channel_index = 1 if data_format.startswith("NC") else 3
        attrs = {"strides": _sequence(strides, 2, channel_index, "strides"),
                 "dilations": _sequence(dilations, 2, channel_index, "dilations"),
                 "data_format": data_format}
        attrs["padding"], attrs["explicit_paddings"] = nn_ops._padding(
            padding, "Conv2DBackpropInput", ("SAME", "VALID", "EXPLICIT"))
        sizes = convert_to_tensor(output_shape, dtype="int32", name="input_sizes")
        return create_op("Conv2DBackpropInput", [sizes, filter, value], attrs, name=scope)


def depthwise_conv2d_native(input, filter, strides, padding, data_format="NHWC",  # noqa: A002
                            dilations=[1, 1, 1, 1], name=None):  # noqa: B006
    """Each input channel convolved with its own filters (``DepthwiseConv2dNative``)."""
    padding, explicit = nn_ops._padding(padding, "DepthwiseConv2dNative",
                                        ("SAME", "VALID", "EXPLICIT"))
    attrs = {"strides": list(strides), "padding": padding, "explicit_paddings": explicit,
             "data_format": data_format or "NHWC", "dilations": list(dilations)}
    with graph_of([input, filter]).as_default():
        return create_op("DepthwiseConv2dNative", [input, filter], attrs, name=name)


def _backprop(op_type: str, inputs: list, strides, padding, data_format, dilations, name,
              **extra):
    """One gradient op of a convolution, its attrs as the forward op's (TF's gen ops)."""
    padding, explicit = nn_ops._padding(padding, op_type, ("SAME", "VALID", "EXPLICIT"))
    attrs = {"strides": list(strides), **extra, "padding": padding,
             "explicit_paddings": explicit, "data_format": data_format or "NHWC",
             "dilations": list(dilations)}
    with graph_of(inputs).as_default():
        return create_op(op_type, inputs, attrs, name=name)


def conv2d_backprop_input(input_sizes, filter=None, out_backprop=None, strides=None,  # noqa: A002
                          padding=None, use_cudnn_on_gpu=True, data_format="NHWC",
                          dilations=[1, 1, 1, 1], name=None, filters=None):  # noqa: B006
    """The gradient of ``conv2d`` with respect to its input (``Conv2DBackpropInput``)."""
    filter = nn_ops._pick(filters, filter, "filters", "filter", None)  # noqa: A001
    return _backprop("Conv2DBackpropInput", [input_sizes, filter, out_backprop], strides,
                     padding, data_format, dilations, name, use_cudnn_on_gpu=use_cudnn_on_gpu)


def conv2d_backprop_filter(input, filter_sizes, out_backprop, strides, padding,  # noqa: A002
                           use_cudnn_on_gpu=True, data_format="NHWC",
                           dilations=[1, 1, 1, 1], name=None):  # noqa: B006
    """The gradient of ``conv2d`` with respect to its filter (``Conv2DBackpropFilter``)."""
    return _backprop("Conv2DBackpropFilter", [input, filter_sizes, out_backprop], strides,
                     padding, data_format, dilations, name, use_cudnn_on_gpu=use_cudnn_on_gpu)


def depthwise_conv2d_native_backprop_input(input_sizes, filter,  # noqa: A002
                                           out_backprop, strides, padding, data_format="NHWC",
                                           dilations=[1, 1, 1, 1], name=None):  # noqa: B006
    """The gradient of ``depthwise_conv2d_native`` with respect to its input."""
    return _backprop("DepthwiseConv2dNativeBackpropInput", [input_sizes, filter, out_backprop],
                     strides, padding, data_format, dilations, name)


def depthwise_conv2d_native_backprop_filter(input, filter_sizes,  # noqa: A002
                                            out_backprop, strides, padding, data_format="NHWC",
                                            dilations=[1, 1, 1, 1], name=None):  # noqa: B006
    """The gradient of ``depthwise_conv2d_native`` with respect to its filter."""
    return _backprop("DepthwiseConv2dNativeBackpropFilter", [input, filter_sizes, out_backprop],
                     strides, padding, data_format, dilations, name)


# TF1 names both under both spellings
depthwise_conv2d_backprop_input = depthwise_conv2d_native_backprop_input
depthwise_conv2d_backprop_filter = depthwise_conv2d_native_backprop_filter


def _base_paddings(filter_shape, num_spatial: int, rate):
    """SAME padding of a dilated window, [M, 2]: the dilated window's extent less one, split
    with the smaller half first (a Const when shapes and rate are constant)."""
    extent = (np.asarray(filter_shape)[:num_spatial] - 1) * rate
    start = extent // 2
    end = extent - start
    return array_ops.stack([[start[i], end[i]] for i in range(num_spatial)])


def required_space_to_batch_paddings(input_shape, block_shape, base_paddings=None,
                                     name=None):
    """(paddings, crops) for ``space_to_batch_nd``: ``base_paddings`` plus what makes each
    padded size a multiple of its block, and the crops that take that extra off again."""
    g = graph_of([input_shape, block_shape])
    with g.as_default(), g.name_scope(name or "required_space_to_batch_paddings"):
        input_shape = convert_to_tensor(input_shape, dtype="int32", name="input_shape")
        block_shape = convert_to_tensor(block_shape, dtype="int32", name="block_shape")
        if block_shape.shape.ndims != 1 or not block_shape.shape.is_fully_defined():
            raise ValueError(f"block_shape must be a vector of known length, got shape "
                             f"{block_shape.shape}")
        m = block_shape.shape.as_list()[0]
        if m == 0:
            return array_ops.zeros([0, 2], "int32"), array_ops.zeros([0, 2], "int32")
        input_shape.shape.assert_is_compatible_with([m])
        if base_paddings is not None:
            base_paddings = convert_to_tensor(base_paddings, dtype="int32",
                                              name="base_paddings")
            base_paddings.shape.assert_is_compatible_with([m, 2])
        else:
            base_paddings = array_ops.zeros([m, 2], "int32")
        known = [value_of(t) for t in (block_shape, input_shape, base_paddings)]
        if all(v is not None for v in known):
            block_shape, input_shape, base_paddings = (np.asarray(v) for v in known)
        pad_start = base_paddings[:, 0]
        pad_end_given = base_paddings[:, 1]
        full = input_shape + pad_start + pad_end_given
        extra = (block_shape - full % block_shape) % block_shape
        pad_end = pad_end_given + extra
        paddings = array_ops.stack([[pad_start[i], pad_end[i]] for i in range(m)],
                                   name="paddings")
        crops = array_ops.stack([[0, extra[i]] for i in range(m)], name="crops")
        return paddings, crops


def _adjust(value, fill, spatial_dims: list):
    """``value`` (a [M] or [M, 2] block spec over ``spatial_dims``) widened to every leading
    dimension after the batch, ``fill`` where a dimension is not spatial."""
    known = value_of(value)
    rows = known if known is not None else value
    tail = value.shape.as_list()[1:]
    parts, previous, i = [], 0, 0
    while i < len(spatial_dims):
        first, start = i, spatial_dims[i]
        if start > 1:
            parts.append(np.full([start - 1 - previous] + tail, fill,
                                 dtype=value.dtype.as_numpy_dtype))
        while i + 1 < len(spatial_dims) and spatial_dims[i + 1] == spatial_dims[i] + 1:
            i += 1
        parts.append(rows[first:i + 1])
        previous = spatial_dims[i]
        i += 1
    return np.concatenate(parts) if known is not None else array_ops.concat(parts, 0)


def with_space_to_batch(input, dilation_rate, padding, op, filter_shape=None,  # noqa: A002
                        spatial_dims=None, data_format=None):
    """``op(input, num_spatial_dims, padding)`` dilated by ``dilation_rate`` through
    ``space_to_batch_nd`` / ``batch_to_space_nd`` (``tf.nn.with_space_to_batch``)."""
    input = convert_to_tensor(input, name="input")  # noqa: A001
    input_shape = input.shape
    dilation_rate = convert_to_tensor(dilation_rate, dtype="int32", name="dilation_rate")
    if dilation_rate.shape.ndims not in (None, 1):
        raise ValueError(f"`dilation_rate.shape.rank` must be 1. Received: rank "
                         f"{dilation_rate.shape.ndims}")
    if not dilation_rate.shape.is_fully_defined():
        raise ValueError("`dilation_rate.shape` must be fully defined.")
    m = dilation_rate.shape.as_list()[0]
    channels_first = data_format is not None and data_format.startswith("NC")
    first = 2 if channels_first else 1
    given = list(range(first, first + m)) if spatial_dims is None else list(spatial_dims)
    spatial_dims = sorted({int(d) for d in given})
    if spatial_dims != given or any(d < 1 for d in spatial_dims):
        raise ValueError(f"`spatial_dims` must be a monotonically increasing sequence of "
                         f"positive integers. Received: spatial_dims={given}")
    rank = spatial_dims[-1] if channels_first else spatial_dims[-1] + 1
    if input_shape.ndims is not None and input_shape.ndims < rank:
        raise ValueError(f"`input.shape.rank` must be at least {rank}. Received: "
                         f"input.shape={input_shape} with rank {input_shape.ndims}")
    rate = dilation_rate
    known_rate = value_of(dilation_rate)
    if known_rate is not None:
        rate = np.asarray(known_rate)
        if np.any(rate < 1):
            raise ValueError(f"`dilation_rate` must be positive. Received: "
                             f"dilation_rate={rate}")
        if np.all(rate == 1):
            return op(input, m, padding)
    kind, explicit = nn_ops._padding(padding, "with_space_to_batch",
                                     ("SAME", "VALID", "EXPLICIT"))
    if kind == "SAME":
        if filter_shape is None:
            raise ValueError("`filter_shape` must be specified for `padding='SAME'`.")
        filter_shape = convert_to_tensor(filter_shape, name="filter_shape")
        known_filter = value_of(filter_shape)
        if known_filter is None:
            raise NotImplementedError("a dilated SAME convolution needs a filter of known "
                                      "shape in flowsaver")
        base = _base_paddings(known_filter, m, rate)
    elif kind == "VALID":
        base = np.zeros([m, 2], np.int32)
    else:
        pairs = np.array(explicit).reshape([m + 2, 2])
        base = pairs[2:] if channels_first else pairs[1:-1]
    dims = input_shape.as_list() if input_shape.ndims is not None else None
    spatial = None if dims is None else [dims[d] for d in spatial_dims]
    if spatial is None or None in spatial:
        whole = array_ops.shape(input)
        spatial = array_ops.stack([whole[d] for d in spatial_dims])
    paddings, crops = required_space_to_batch_paddings(input_shape=spatial,
                                                       base_paddings=base,
                                                       block_shape=dilation_rate)
    block = _adjust(dilation_rate, 1, spatial_dims)
    paddings = _adjust(paddings, 0, spatial_dims)
    crops = _adjust(crops, 0, spatial_dims)
    converted = array_ops.space_to_batch_nd(input=input, block_shape=block, paddings=paddings)
    result = op(converted, m, "VALID")
    return array_ops.batch_to_space_nd(input=result, block_shape=block, crops=crops)


def depthwise_conv2d(input, filter, strides, padding, rate=None, name=None,  # noqa: A002
                     data_format=None, dilations=None):
    """Depthwise 2-D convolution, as ``tf.nn.depthwise_conv2d`` lays it out."""
    rate = nn_ops._pick(dilations, rate, "dilations", "rate", [1, 1])
    g = graph_of([input, filter])
    with g.as_default(), g.name_scope(name or "depthwise") as scope:
        input = convert_to_tensor(input, name="tensor_in")  # noqa: A001
        filter = convert_to_tensor(filter, name="filter_in")  # noqa: A001

        def op(converted, _, padding):
            return depthwise_conv2d_native(converted, filter, strides, padding,
                                           data_format=data_format, name=scope)
        return with_space_to_batch(input, rate, padding, op,
                                   filter_shape=array_ops.shape(filter),
                                   data_format=data_format)


def separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding,  # noqa: A002
                     rate=None, name=None, data_format=None, dilations=None):
    """A depthwise convolution followed by a 1x1 ``Conv2D`` mixing channels."""
    rate = nn_ops._pick(dilations, rate, "dilations", "rate", [1, 1])
    g = graph_of([input, depthwise_filter, pointwise_filter])
    with g.as_default(), g.name_scope(name or "separable_conv2d") as scope:
        input = convert_to_tensor(input, name="tensor_in")  # noqa: A001
        depthwise_filter = convert_to_tensor(depthwise_filter, name="depthwise_filter")
        pointwise_filter = convert_to_tensor(pointwise_filter, name="pointwise_filter")
        pointwise = pointwise_filter.shape
        if pointwise.ndims is not None and (pointwise.ndims != 4 or
                                            pointwise.as_list()[0] not in (None, 1) or
                                            pointwise.as_list()[1] not in (None, 1)):
            raise ValueError(f"pointwise_filter must be [1, 1, in, out]; got {pointwise}")

        def op(converted, _, padding):
            return depthwise_conv2d_native(converted, depthwise_filter, strides, padding,
                                           data_format=data_format, name="depthwise")
        depthwise = with_space_to_batch(input, rate, padding, op,
                                        filter_shape=array_ops.shape(depthwise_filter),
                                        data_format=data_format)
        return nn_ops.conv2d(depthwise, pointwise_filter, [1, 1, 1, 1], padding="VALID",
                             data_format=data_format or "NHWC", name=scope)


def convolution(input, filter=None, padding=None, strides=None,  # noqa: A002
                dilation_rate=None, name=None, data_format=None, filters=None,
                dilations=None):
    """N-d convolution (1-D and 2-D here) as TF1's ``tf.nn.convolution`` builds it: the
    plain op when undilated, else through ``with_space_to_batch``."""
    filter = nn_ops._pick(filters, filter, "filters", "filter", None)  # noqa: A001
    dilations = nn_ops._pick(dilations, dilation_rate, "dilations", "dilation_rate", None)
    g = graph_of([input, filter])
    with g.as_default():
        if not _tensor_like(filter):   # a variable is used as it is
            with g.name_scope("convolution_internal"):
                filter = convert_to_tensor(filter, name="filters")  # noqa: A001
        if not _tensor_like(input):
            with g.name_scope("convolution_internal"):
                input = convert_to_tensor(input, name="input")  # noqa: A001
        filter = convert_to_tensor(filter)  # noqa: A001  (a variable: its value tensor)
        ranks = filter.shape.ndims, input.shape.ndims
        if ranks[0]:
            spatial = ranks[0] - 2
        elif ranks[1]:
            spatial = ranks[1] - 2
        else:
            raise ValueError("When `num_spatial_dims` is not set, one of `input.shape.rank` "
                             "or `filters.shape.rank` must be known.")
        if spatial not in (1, 2):
            raise NotImplementedError(f"{spatial}-D convolution: flowsaver has 1-D and 2-D "
                                      f"convolutions")
        batch_dims = ranks[1] - spatial - 1 if ranks[1] else 1
        channels_first = data_format is not None and data_format.startswith("NC")
        channel_index = batch_dims if channels_first else batch_dims + spatial
        full_dilations = _sequence(dilations, spatial, channel_index, "dilations")
        full_strides = _sequence(strides, spatial, channel_index, "strides")
        with g.name_scope(name or "convolution") as scope:
            if not any(d != 1 for d in full_dilations):
                if spatial == 2:
                    return nn_ops.conv2d(input, filter, full_strides, padding,
                                         data_format=data_format or "NHWC",
                                         dilations=full_dilations, name=scope)
                return conv1d(input, filter, full_strides, padding, data_format=data_format,
                              dilations=full_dilations, name=scope)
            inner = slice(2, None) if channels_first else slice(1, -1)
            steps, rates = full_strides[inner], full_dilations[inner]
            if any(s != 1 for s in steps):
                raise ValueError(f"`strides > 1` not supported in conjunction with "
                                 f"`dilation_rate > 1`. Received: strides={steps} and "
                                 f"dilation_rate={rates}")
            if not filter.shape.is_fully_defined() and padding == "SAME":
                raise NotImplementedError("a dilated SAME convolution needs a filter of known "
                                          "shape in flowsaver")

            def op(converted, _, pad):
                if spatial == 2:
                    return nn_ops.conv2d(converted, filter, [1, 1, 1, 1], pad,
                                         data_format=data_format or "NHWC", name=scope)
                return conv1d(converted, filter, 1, pad, data_format=data_format or "NWC",
                              name=scope)
            first = batch_dims + 1 if channels_first else batch_dims
            return with_space_to_batch(input, rates, padding, op,
                                       filter_shape=filter.shape.as_list()
                                       if filter.shape.is_fully_defined() else None,
                                       spatial_dims=list(range(first, first + spatial)),
                                       data_format=data_format)


def atrous_conv2d(value, filters, rate, padding, name=None):
    """A 2-D convolution dilated by ``rate`` (``tf.nn.atrous_conv2d``)."""
    return convolution(input=value, filter=filters, padding=padding,
                       dilation_rate=np.broadcast_to(rate, (2,)), name=name)
