"""``tf.nn`` convolutions beyond ``conv2d``: ``conv1d``, ``conv2d_transpose``,
``depthwise_conv2d`` and ``separable_conv2d``, with TensorFlow's node layout.

Dilated depthwise and separable convolutions (``rate`` > 1) go through
``SpaceToBatchND`` in TensorFlow; flowsaver does not build that path yet and says so.
"""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.nn import api as nn_ops
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ["conv1d", "conv2d_transpose", "depthwise_conv2d", "depthwise_conv2d_native",
           "separable_conv2d", "conv2d_backprop_input", "conv2d_backprop_filter",
           "depthwise_conv2d_native_backprop_input", "depthwise_conv2d_native_backprop_filter",
           "depthwise_conv2d_backprop_input", "depthwise_conv2d_backprop_filter"]


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


def _undilated(rate, what: str) -> None:
    values = [rate] if isinstance(rate, int) else list(rate)
    if any(int(r) != 1 for r in values):
        raise NotImplementedError(f"{what} with rate {values} builds SpaceToBatchND in "
                                  f"TensorFlow, which flowsaver does not have yet")


def depthwise_conv2d(input, filter, strides, padding, rate=None, name=None,  # noqa: A002
                     data_format=None, dilations=None):
    """Depthwise 2-D convolution, as ``tf.nn.depthwise_conv2d`` lays it out."""
    rate = nn_ops._pick(dilations, rate, "dilations", "rate", [1, 1])
    g = graph_of([input, filter])
    with g.as_default(), g.name_scope(name or "depthwise") as scope:
        input = convert_to_tensor(input, name="tensor_in")  # noqa: A001
        filter = convert_to_tensor(filter, name="filter_in")  # noqa: A001
        array_ops.shape(filter)  # TensorFlow takes the filter's shape for the dilated path
        convert_to_tensor(rate, dtype="int32", name="dilation_rate")
        _undilated(rate, "depthwise_conv2d")
        return depthwise_conv2d_native(input, filter, strides, padding,
                                       data_format=data_format, name=scope)


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
        array_ops.shape(depthwise_filter)
        convert_to_tensor(rate, dtype="int32", name="dilation_rate")
        _undilated(rate, "separable_conv2d")
        depthwise = depthwise_conv2d_native(input, depthwise_filter, strides, padding,
                                            data_format=data_format, name="depthwise")
        return nn_ops.conv2d(depthwise, pointwise_filter, [1, 1, 1, 1], padding="VALID",
                             data_format=data_format or "NHWC", name=scope)
