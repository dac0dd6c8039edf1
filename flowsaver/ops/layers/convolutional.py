"""``tf.layers`` convolutions: ``Conv1D``, ``Conv2D``, ``Conv2DTranspose``,
``SeparableConv2D`` and their function forms, laid out as TensorFlow's layers lay them.

Channels-last data only (TensorFlow's CPU kernels take nothing else) and no ``causal``
padding yet; each says so when asked. A dilated layer convolves through ``SpaceToBatchND``
as TensorFlow's does (``tf.nn.convolution``).
"""
from __future__ import annotations

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.layers.base import InputSpec, Layer
from flowsaver.ops.nn import api as nn_ops
from flowsaver.ops.nn import convolution as conv_ops
from flowsaver.ops.state.init_ops import zeros_initializer

__all__ = ["Conv1D", "Conv2D", "Conv2DTranspose", "SeparableConv2D", "Convolution1D",
           "Convolution2D", "Convolution2DTranspose", "SeparableConvolution2D", "conv1d",
           "conv2d", "conv2d_transpose", "separable_conv2d"]


def _tuple(value, n: int, name: str) -> tuple:
    values = (value,) * n if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) != n:
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. Received: "
                         f"{value}")
    return values


def _padding(padding: str) -> str:
    padding = padding.lower()
    if padding not in ("valid", "same"):
        raise NotImplementedError(f"padding {padding!r} is not built by flowsaver's layers "
                                  f"('valid' and 'same' are)")
    return padding


def _channels_last(data_format) -> None:
    if data_format not in (None, "channels_last"):
        raise NotImplementedError("flowsaver's convolution layers take channels_last data "
                                  f"only (TensorFlow's CPU kernels too); got {data_format!r}")


class _Conv(Layer):
    """What the convolution layers share: options, the kernel and bias weights, the bias."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 data_format="channels_last", dilation_rate=1, activation=None,
                 use_bias=True, kernel_initializer=None, bias_initializer=zeros_initializer(),
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, trainable=True, name=None,
                 **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        if isinstance(filters, float):
            filters = int(filters)
        if filters is not None and filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters}.")
        if activity_regularizer is not None:
            raise NotImplementedError("activity_regularizer is not built by flowsaver yet")
        _channels_last(data_format)
        self.filters = filters
        self.kernel_size = _tuple(kernel_size, self.rank, "kernel_size")
        self.strides = _tuple(strides, self.rank, "strides")
        self.padding = _padding(padding)
        self.dilation_rate = _tuple(dilation_rate, self.rank, "dilation_rate")
        self.activation, self.use_bias = activation, use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.input_spec = InputSpec(min_ndim=self.rank + 2)

    def _input_channels(self, input_shape) -> int:
        shape = TensorShape(input_shape)
        channels = shape.as_list()[-1] if shape.ndims else None
        if channels is None:
            raise ValueError(f"The channel dimension of the inputs should be defined. The "
                             f"input_shape received is {shape}, where axis -1 (0-based) is "
                             f"the channel dimension, which found to be `None`.")
        return channels

    def _add_bias(self):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, dtype=self._dtype)

    def _finish(self, outputs):
        if self.use_bias:
            outputs = nn_ops.bias_add(outputs, self.bias, data_format="NHWC")
        if self.activation is not None:
            return self.activation(outputs)
        return outputs


class Conv2D(_Conv):
    """2-D convolution: ``activation(conv2d(inputs, kernel) + bias)``."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format="channels_last", dilation_rate=(1, 1), **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels, self.filters),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, dtype=self._dtype)
        self._add_bias()
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={-1: channels})

    def call(self, inputs):
        g = self.kernel.graph
        with g.name_scope(type(self).__name__) as scope:
            outputs = self._convolve(inputs, scope)
        return self._finish(outputs)

    def _dilated(self, inputs, data_format: str, scope):
        """A dilated convolution through SpaceToBatchND, as TF's layers build it."""
        return conv_ops.convolution(inputs, self.kernel, self.padding.upper(),
                                    strides=list(self.strides),
                                    dilations=list(self.dilation_rate),
                                    data_format=data_format, name=scope)

    def _convolve(self, inputs, scope):
        if any(d != 1 for d in self.dilation_rate):
            return self._dilated(inputs, "NHWC", scope)
        return nn_ops.conv2d(inputs, self.kernel, strides=[1, *self.strides, 1],
                             padding=self.padding.upper(), dilations=[1, 1, 1, 1],
                             name=scope)


class Conv1D(Conv2D):
    """1-D convolution (a ``Conv2D`` over an added axis, as ``tf.nn.conv1d``)."""

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 data_format="channels_last", dilation_rate=1, **kwargs):
        _Conv.__init__(self, filters, kernel_size, strides=strides, padding=padding,
                       data_format=data_format, dilation_rate=dilation_rate, **kwargs)

    def _convolve(self, inputs, scope):
        if any(d != 1 for d in self.dilation_rate):
            return self._dilated(inputs, "NWC", scope)
        return conv_ops.conv1d(inputs, self.kernel, stride=[1, *self.strides, 1],
                               padding=self.padding.upper(), data_format="NWC",
                               dilations=[1, 1, 1], name=scope)


class Conv2DTranspose(_Conv):
    """The transpose of a 2-D convolution (``Conv2DBackpropInput``)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format="channels_last", **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, **kwargs)
        self.input_spec = InputSpec(ndim=4)

    def build(self, input_shape):
        shape = TensorShape(input_shape)
        if shape.ndims != 4:
            raise ValueError(f"Inputs should have rank 4. Received input_shape={shape}.")
        channels = self._input_channels(shape)
        self.input_spec = InputSpec(ndim=4, axes={-1: channels})
        self.kernel = self.add_weight("kernel", self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, dtype=self._dtype)
        self._add_bias()

    def _length(self, size, axis: int):
        k, s = self.kernel_size[axis], self.strides[axis]
        if self.padding == "valid":
            return size * s + max(k - s, 0)
        return size * s

    def call(self, inputs):
        dynamic = array_ops.shape(inputs)
        batch = dynamic[0]
        dims = inputs.shape.as_list() if inputs.shape.ndims is not None else [None] * 4
        height = dims[1] if dims[1] is not None else dynamic[1]
        width = dims[2] if dims[2] is not None else dynamic[2]
        out_shape = array_ops.stack((batch, self._length(height, 0), self._length(width, 1),
                                     self.filters))
        out_shape[0]  # TensorFlow's backend indexes the shape here; the slice stays
        outputs = conv_ops.conv2d_transpose(inputs, self.kernel, out_shape,
                                            [1, *self.strides, 1],
                                            padding=self.padding.upper(),
                                            data_format="NHWC")
        static = [dims[0]] + [None if d is None else self._length(d, i)
                              for i, d in enumerate(dims[1:3])] + [self.filters]
        outputs.set_shape(static)
        return self._finish(outputs)


class SeparableConv2D(_Conv):
    """A depthwise 2-D convolution followed by a pointwise (1x1) one."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format="channels_last", dilation_rate=(1, 1), depth_multiplier=1,
                 activation=None, use_bias=True, depthwise_initializer=None,
                 pointwise_initializer=None, bias_initializer=zeros_initializer(),
                 depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, trainable=True, name=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, trainable=trainable, name=name,
                         **kwargs)
        self.depth_multiplier = depth_multiplier
        self.depthwise_initializer = depthwise_initializer
        self.pointwise_initializer = pointwise_initializer
        self.depthwise_regularizer = depthwise_regularizer
        self.pointwise_regularizer = pointwise_regularizer
        self.depthwise_constraint = depthwise_constraint
        self.pointwise_constraint = pointwise_constraint

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.input_spec = InputSpec(ndim=4, axes={-1: channels})
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, dtype=self._dtype)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (1, 1, self.depth_multiplier * channels, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, dtype=self._dtype)
        self._add_bias()

    def call(self, inputs):
        outputs = conv_ops.separable_conv2d(inputs, self.depthwise_kernel,
                                            self.pointwise_kernel,
                                            strides=(1, *self.strides, 1),
                                            padding=self.padding.upper(),
                                            rate=self.dilation_rate, data_format="NHWC")
        return self._finish(outputs)


Convolution1D, Convolution2D = Conv1D, Conv2D
Convolution2DTranspose, SeparableConvolution2D = Conv2DTranspose, SeparableConv2D


def _apply(cls, inputs, name, reuse, *args, **kwargs):
    return cls(*args, name=name, _scope=name, _reuse=reuse, **kwargs)(inputs)


def conv1d(inputs, filters, kernel_size, strides=1, padding="valid",
           data_format="channels_last", dilation_rate=1, name=None, reuse=None, **kwargs):
    """The function form of ``Conv1D``."""
    return _apply(Conv1D, inputs, name, reuse, filters, kernel_size, strides=strides,
                  padding=padding, data_format=data_format, dilation_rate=dilation_rate,
                  **kwargs)


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid",
           data_format="channels_last", dilation_rate=(1, 1), name=None, reuse=None,
           **kwargs):
    """The function form of ``Conv2D``."""
    return _apply(Conv2D, inputs, name, reuse, filters, kernel_size, strides=strides,
                  padding=padding, data_format=data_format, dilation_rate=dilation_rate,
                  **kwargs)


def conv2d_transpose(inputs, filters, kernel_size, strides=(1, 1), padding="valid",
                     data_format="channels_last", name=None, reuse=None, **kwargs):
    """The function form of ``Conv2DTranspose``."""
    return _apply(Conv2DTranspose, inputs, name, reuse, filters, kernel_size,
                  strides=strides, padding=padding, data_format=data_format, **kwargs)


def separable_conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid",
                     data_format="channels_last", dilation_rate=(1, 1), depth_multiplier=1,
                     name=None, reuse=None, **kwargs):
    """The function form of ``SeparableConv2D``."""
    return _apply(SeparableConv2D, inputs, name, reuse, filters, kernel_size,
                  strides=strides, padding=padding, data_format=data_format,
                  dilation_rate=dilation_rate, depth_multiplier=depth_multiplier, **kwargs)
