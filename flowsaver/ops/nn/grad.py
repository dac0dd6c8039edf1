"""Gradient functions of the neural-network ops: activations, softmax, losses, convolution
and pooling, plus the second derivatives TensorFlow defines for the fused gradient ops
(``ReluGrad``, ``SigmoidGrad``, ``SqrtGrad``, ...), math ones included.

Activation gradients are TensorFlow's fused ops (``ReluGrad``, ``SigmoidGrad``, ...);
convolution and pooling gradients are ``Conv2DBackpropInput``/``Conv2DBackpropFilter``,
``MaxPoolGrad`` and ``AvgPoolGrad``, whose kernels live in ``conv_grad_kernels``.
"""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.autodiff.indexed_slices import is_zeros
from flowsaver.ops.op_builder import create_op
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient

_CONV_ATTRS = ("dilations", "strides", "padding", "explicit_paddings", "use_cudnn_on_gpu",
               "data_format")


def _attrs(op, names) -> dict:
    return {name: op.get_attr(name) for name in names}


# ---- activations --------------------------------------------------------------------------------
def _fused(grad_type: str, use_output: bool):
    """The gradient ``grad_type(grad, y or x)`` of a one-input activation."""
    def grad_fn(op, grad):
        other = op.outputs[0] if use_output else op.inputs[0]
        return create_op(grad_type, [grad, other])
    return grad_fn


gradient("Relu")(_fused("ReluGrad", use_output=True))
gradient("Relu6")(_fused("Relu6Grad", use_output=True))
gradient("Elu")(_fused("EluGrad", use_output=True))
gradient("Selu")(_fused("SeluGrad", use_output=True))
gradient("Softsign")(_fused("SoftsignGrad", use_output=False))
gradient("Softplus")(lambda op, grad: grad * math_ops.sigmoid(op.inputs[0]))
gradient("L2Loss")(lambda op, grad: op.inputs[0] * grad)


@gradient("LeakyRelu")
def _leaky_relu_grad(op, grad):
    return create_op("LeakyReluGrad", [grad, op.inputs[0]], {"alpha": op.get_attr("alpha")})


@gradient("Softmax")
def _softmax_grad(op, grad):
    softmax = op.outputs[0]
    sum_channels = math_ops.reduce_sum(grad * softmax, -1, keepdims=True)
    return (grad - sum_channels) * softmax


@gradient("LogSoftmax")
def _log_softmax_grad(op, grad):
    softmax = math_ops.exp(op.outputs[0])
    return grad - math_ops.reduce_sum(grad, -1, keepdims=True) * softmax


@gradient("BiasAdd")
def _bias_add_grad(op, grad):
    fmt = op.get_attr("data_format")
    return grad, create_op("BiasAddGrad", [grad], {"data_format": fmt})


# ---- losses -------------------------------------------------------------------------------------
def _broadcast_mul(vec, mat):
    """``vec[:, None] * mat``."""
    return array_ops.expand_dims(vec, -1) * mat


def _cross_entropy_logits_grad(op, grad_loss, grad_grad):
    """d loss / d logits, plus the softmax's own derivative when the backprop is used."""
    grad = _broadcast_mul(grad_loss, op.outputs[1])
    if grad_grad is not None and not is_zeros(grad_grad):
        softmax = create_op("Softmax", [op.inputs[0]])
        inner = create_op("BatchMatMulV2", [array_ops.expand_dims(grad_grad, 1),
                                            array_ops.expand_dims(softmax, 2)], name="MatMul")
        grad += (grad_grad - array_ops.squeeze(inner, axis=1)) * softmax
    return grad


@gradient("SoftmaxCrossEntropyWithLogits")
def _softmax_cross_entropy_grad(op, grad_loss, grad_grad):
    grad = _cross_entropy_logits_grad(op, grad_loss, grad_grad)
    log_softmax = create_op("LogSoftmax", [op.inputs[0]])
    return grad, _broadcast_mul(grad_loss, -log_softmax)


@gradient("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_softmax_cross_entropy_grad(op, grad_loss, grad_grad):
    return _cross_entropy_logits_grad(op, grad_loss, grad_grad), None


# ---- convolution and pooling ------------------------------------------------------------------
@gradient("Conv2D")
def _conv2d_grad(op, grad):
    attrs = _attrs(op, _CONV_ATTRS)
    input_shape, filter_shape = array_ops.shape_n([op.inputs[0], op.inputs[1]])
    return [create_op("Conv2DBackpropInput", [input_shape, op.inputs[1], grad], attrs),
            create_op("Conv2DBackpropFilter", [op.inputs[0], filter_shape, grad], attrs)]


@gradient("Conv2DBackpropInput")
def _conv2d_backprop_input_grad(op, grad):
    attrs = _attrs(op, _CONV_ATTRS)
    return [None,
            create_op("Conv2DBackpropFilter",
                      [grad, array_ops.shape(op.inputs[1]), op.inputs[2]], attrs),
            create_op("Conv2D", [grad, op.inputs[1]], attrs)]


@gradient("Conv2DBackpropFilter")
def _conv2d_backprop_filter_grad(op, grad):
    attrs = _attrs(op, _CONV_ATTRS)
    return [create_op("Conv2DBackpropInput",
                      [array_ops.shape(op.inputs[0]), grad, op.inputs[2]], attrs),
            None,
            create_op("Conv2D", [op.inputs[0], grad], attrs)]


@gradient("MaxPool")
def _max_pool_grad(op, grad):
    attrs = _attrs(op, ("ksize", "strides", "padding", "explicit_paddings", "data_format"))
    return create_op("MaxPoolGrad", [op.inputs[0], op.outputs[0], grad], attrs)


@gradient("AvgPool")
def _avg_pool_grad(op, grad):
    attrs = _attrs(op, ("ksize", "strides", "padding", "data_format"))
    return create_op("AvgPoolGrad",
                     [array_ops.shape(op.inputs[0], out_type="int32"), grad], attrs)


@gradient("AvgPoolGrad")
def _avg_pool_grad_grad(op, grad):
    attrs = _attrs(op, ("ksize", "strides", "padding", "data_format"))
    return array_ops.stop_gradient(op.inputs[0]), create_op("AvgPool", [grad], attrs)


# ---- second derivatives of the fused gradient ops -------------------------------------------
def _twice(grad_type: str, attrs=()):
    """``(grad_type(grad, x), 0)``: the gradient of a piecewise-linear activation's gradient."""
    def grad_fn(op, grad):
        x = op.inputs[1]
        return (create_op(grad_type, [grad, x], _attrs(op, attrs)),
                array_ops.zeros_like(x))
    return grad_fn


gradient("ReluGrad")(_twice("ReluGrad"))
gradient("Relu6Grad")(_twice("Relu6Grad"))
gradient("LeakyReluGrad")(_twice("LeakyReluGrad", ("alpha",)))


def _exp_linear_twice(grad_type: str):
    def grad_fn(op, grad):
        y = op.inputs[1]
        return (create_op(grad_type, [grad, y]),
                array_ops.where(y < 0.0, grad * op.inputs[0], array_ops.zeros_like(y)))
    return grad_fn


gradient("EluGrad")(_exp_linear_twice("EluGrad"))
gradient("SeluGrad")(_exp_linear_twice("SeluGrad"))


@gradient("SigmoidGrad")
def _sigmoid_grad_grad(op, grad):
    with op.graph.control_dependencies([grad]):
        a, b = op.inputs
        gb = grad * b
        return gb - 2.0 * gb * a, create_op("SigmoidGrad", [a, grad])


@gradient("TanhGrad")
def _tanh_grad_grad(op, grad):
    with op.graph.control_dependencies([grad]):
        a, b = op.inputs
        return grad * -2.0 * b * a, create_op("TanhGrad", [a, grad])


@gradient("BiasAddGrad")
def _bias_add_grad_grad(op, grad):
    shape = array_ops.shape(op.inputs[0])
    bias_shape = array_ops.shape(grad)
    if op.get_attr("data_format") == b"NCHW":
        expanded = array_ops.concat([array_ops.ones_like(shape[:1]), bias_shape,
                                     array_ops.ones_like(shape[2:])], 0)
        multiples = array_ops.concat([shape[:1], [1], shape[2:]], 0)
    else:
        expanded = array_ops.concat([array_ops.ones_like(shape[:-1]), bias_shape], 0)
        multiples = array_ops.concat([shape[:-1], [1]], 0)
    return array_ops.tile(array_ops.reshape(grad, expanded), multiples)


@gradient("SoftplusGrad")
def _softplus_grad_grad(op, grad):
    dy, x = op.inputs
    with op.graph.control_dependencies([grad]):
        ddy = create_op("SoftplusGrad", [grad, x])
        d2x = grad * dy / (math_ops.exp(-x) + 2.0 + math_ops.exp(x))
        return ddy, d2x


@gradient("SqrtGrad")
def _sqrt_grad_grad(op, grad):
    a, y = op.inputs[0], op.outputs[0]
    with op.graph.control_dependencies([grad]):
        ga = grad / a
        return -ga * y, 0.5 * ga


@gradient("RsqrtGrad")
def _rsqrt_grad_grad(op, grad):
    a, b = op.inputs
    with op.graph.control_dependencies([grad]):
        grad_a = -1.5 * grad * b * math_ops.square(a)
        return grad_a, create_op("RsqrtGrad", [a, grad])


@gradient("ReciprocalGrad")
def _reciprocal_grad_grad(op, grad):
    a, b = op.inputs
    with op.graph.control_dependencies([grad]):
        return grad * -2.0 * b * a, create_op("ReciprocalGrad", [a, grad])
