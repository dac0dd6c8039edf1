"""``tf.layers`` pooling: ``MaxPooling1D/2D``, ``AveragePooling1D/2D`` and their function
forms (1-D pooling is 2-D pooling over an added axis, as TensorFlow's layers do it)."""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.layers.base import InputSpec, Layer
from flowsaver.ops.layers.convolutional import _channels_last, _padding, _tuple
from flowsaver.ops.nn import api as nn_ops

__all__ = ["MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
           "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D", "max_pooling1d",
           "max_pooling2d", "average_pooling1d", "average_pooling2d", "max_pool2d",
           "avg_pool2d"]


class _Pooling(Layer):
    rank = 2
    pool = staticmethod(nn_ops.max_pool)

    def __init__(self, pool_size, strides, padding="valid", data_format="channels_last",
                 name=None, **kwargs):
        if strides is None:
            raise ValueError("Argument `strides` must not be None.")
        super().__init__(name=name, **kwargs)
        _channels_last(data_format)
        self.pool_size = _tuple(pool_size, self.rank, "pool_size")
        self.strides = _tuple(strides, self.rank, "strides")
        self.padding = _padding(padding)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        if self.rank == 1:
            inputs = array_ops.expand_dims(inputs, 2)
            outputs = self.pool(inputs, (1, *self.pool_size, 1, 1), (1, *self.strides, 1, 1),
                                padding=self.padding.upper(), data_format="NHWC")
            return array_ops.squeeze(outputs, 2)
        return self.pool(inputs, ksize=(1, *self.pool_size, 1), strides=(1, *self.strides, 1),
                         padding=self.padding.upper(), data_format="NHWC")


class MaxPooling2D(_Pooling):
    """The maximum over each window."""


class AveragePooling2D(_Pooling):
    """The mean over each window (padding left out)."""

    pool = staticmethod(nn_ops.avg_pool)


class MaxPooling1D(MaxPooling2D):
    rank = 1


class AveragePooling1D(AveragePooling2D):
    rank = 1


MaxPool1D, MaxPool2D = MaxPooling1D, MaxPooling2D
AvgPool1D, AvgPool2D = AveragePooling1D, AveragePooling2D


def max_pooling1d(inputs, pool_size, strides, padding="valid", data_format="channels_last",
                  name=None):
    return MaxPooling1D(pool_size, strides, padding, data_format, name=name)(inputs)


def max_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last",
                  name=None):
    return MaxPooling2D(pool_size, strides, padding, data_format, name=name)(inputs)


def average_pooling1d(inputs, pool_size, strides, padding="valid",
                      data_format="channels_last", name=None):
    return AveragePooling1D(pool_size, strides, padding, data_format, name=name)(inputs)


def average_pooling2d(inputs, pool_size, strides, padding="valid",
                      data_format="channels_last", name=None):
    return AveragePooling2D(pool_size, strides, padding, data_format, name=name)(inputs)


max_pool2d, avg_pool2d = max_pooling2d, average_pooling2d
