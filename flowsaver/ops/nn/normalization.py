"""``tf.nn`` normalization: ``moments``, ``batch_normalization``, ``fused_batch_norm``,
``l2_normalize`` and local response normalization, with TensorFlow's node layout."""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import constant, convert_to_tensor, create_op, graph_of

__all__ = ["moments", "batch_normalization", "fused_batch_norm", "l2_normalize", "lrn",
           "local_response_normalization"]

def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    """(mean, variance) of ``x`` over ``axes``; half precision is summed in float32."""
    if keep_dims is not None and keepdims is not None:
        raise ValueError("Cannot specify both 'keep_dims' and 'keepdims'.")
    keep = bool(keepdims if keepdims is not None else keep_dims)
    g = graph_of([x, axes])
    with g.as_default(), g.name_scope(name or "moments"):
        x = convert_to_tensor(x)
        half = x.dtype.base_dtype.name == "float16"
        y = math_ops.cast(x, "float32") if half else x
        mean = math_ops.reduce_mean(y, axes, keepdims=True, name="mean")
        variance = math_ops.reduce_mean(
            math_ops.squared_difference(y, array_ops.stop_gradient(mean)), axes,
            keepdims=True, name="variance")
        if not keep:
            mean = array_ops.squeeze(mean, axes)
            variance = array_ops.squeeze(variance, axes)
        if half:
            return math_ops.cast(mean, "float16"), math_ops.cast(variance, "float16")
        return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """``scale * (x - mean) / sqrt(variance + epsilon) + offset``, in TensorFlow's order."""
    g = graph_of([x, mean, variance, scale, offset])
    with g.as_default(), g.name_scope(name or "batchnorm"):
        x = convert_to_tensor(x)
        inv = math_ops.rsqrt(variance + variance_epsilon)
        if scale is not None:
            inv *= scale
        dtype = x.dtype.base_dtype
        scaled = x * math_ops.cast(inv, dtype)
        shift = offset - mean * inv if offset is not None else -mean * inv
        return scaled + math_ops.cast(shift, dtype)


def fused_batch_norm(x, scale, offset, mean=None, variance=None, epsilon=0.001,
                     data_format="NHWC", is_training=True, name=None,
                     exponential_avg_factor=1.0):
    """Batch normalization in one ``FusedBatchNormV3``: (y, running mean, running variance)."""
    if (not is_training or exponential_avg_factor != 1.0) and (mean is None or
                                                               variance is None):
        raise ValueError(f"Both `mean` and `variance` must be a 1D tensor when is_training "
                         f"is False or exponential_avg_factor != 1.0. Received: `mean` "
                         f"{mean!r} and `variance` {variance!r}")
    g = graph_of([x, scale, offset, mean, variance])
    with g.as_default():
        x = convert_to_tensor(x, name="input")
        scale = convert_to_tensor(scale, name="scale")
        offset = convert_to_tensor(offset, name="offset")
        if mean is None:
            mean = constant([], dtype="float32")
        if variance is None:
            variance = constant([], dtype="float32")
        outputs = create_op("FusedBatchNormV3", [x, scale, offset, mean, variance],
                            {"epsilon": float(epsilon),
                             "exponential_avg_factor": float(exponential_avg_factor),
                             "data_format": data_format, "is_training": is_training},
                            name=name)
        return outputs[0], outputs[1], outputs[2]


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """``x / sqrt(max(sum(x ** 2), epsilon))`` along ``axis``."""
    if axis is not None and dim is not None:
        raise ValueError("Cannot specify both 'axis' and 'dim'.")
    axis = axis if axis is not None else dim
    g = graph_of([x])
    with g.as_default(), g.name_scope(name or "l2_normalize") as scope:
        x = convert_to_tensor(x, name="x")
        square_sum = math_ops.reduce_sum(math_ops.square(x), axis, keepdims=True)
        inv_norm = math_ops.rsqrt(math_ops.maximum(square_sum, epsilon))
        return math_ops.multiply(x, inv_norm, name=scope)


def lrn(input, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, name=None):  # noqa: A002
    """Local response normalization over channels (``LRN``)."""
    g = graph_of([input])
    with g.as_default():
        return create_op("LRN", [input], {"depth_radius": int(depth_radius),
                                          "bias": float(bias), "alpha": float(alpha),
                                          "beta": float(beta)}, name=name)


local_response_normalization = lrn
