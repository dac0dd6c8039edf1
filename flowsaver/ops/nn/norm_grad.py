"""Gradients of batch normalization, local response normalization and depthwise
convolution, built as TensorFlow builds them (kernels in ``norm_kernels`` and
``depthwise_kernels``)."""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.op_builder import create_op
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient

_TO_CHANNELS_LAST = {b"NCHW": ([0, 2, 3, 1], [0, 3, 1, 2]),
                     b"NCDHW": ([0, 2, 3, 4, 1], [0, 4, 1, 2, 3])}


# Each version's gradient op, and whether it takes V3's reserve_space_3.
_GRADIENT_OP = {"FusedBatchNorm": "FusedBatchNormGrad",
                "FusedBatchNormV2": "FusedBatchNormGradV2",
                "FusedBatchNormV3": "FusedBatchNormGradV3"}


@gradient("FusedBatchNormV3")
@gradient("FusedBatchNormV2")
@gradient("FusedBatchNorm")
def _fused_batch_norm_grad(op, grad_y, *_unused):
    x, scale = op.inputs[0], op.inputs[1]
    grad_type = _GRADIENT_OP[op.type]
    third = [op.outputs[5]] if op.type == "FusedBatchNormV3" else []
    fmt = op.get_attr("data_format")
    attrs = {"epsilon": op.get_attr("epsilon"), "is_training": op.get_attr("is_training")}
    if op.get_attr("is_training"):
        attrs["data_format"] = fmt
        dx, dscale, doffset, _, _ = create_op(
            grad_type, [grad_y, x, scale, op.outputs[3], op.outputs[4]] + third, attrs)
        return [dx, dscale, doffset, None, None]
    # With population statistics TensorFlow runs the channels-last kernel.
    perm = _TO_CHANNELS_LAST.get(fmt)
    if perm is not None:
        x = array_ops.transpose(x, perm[0])
        grad_y = array_ops.transpose(grad_y, perm[0])
    attrs["data_format"] = "NDHWC" if b"D" in fmt else "NHWC"
    dx, dscale, doffset, _, _ = create_op(
        grad_type, [grad_y, x, scale, op.inputs[3], op.inputs[4]] + third, attrs)
    if perm is not None:
        dx = array_ops.transpose(dx, perm[1])
    return [dx, dscale, doffset, None, None]


@gradient("LRN")
def _lrn_grad(op, grad):
    attrs = {k: op.get_attr(k) for k in ("depth_radius", "bias", "alpha", "beta")}
    return [create_op("LRNGrad", [grad, op.inputs[0], op.outputs[0]], attrs)]


_DEPTHWISE_ATTRS = ("dilations", "strides", "padding", "explicit_paddings", "data_format")


def _attrs(op) -> dict:
    return {name: op.get_attr(name) for name in _DEPTHWISE_ATTRS}


@gradient("DepthwiseConv2dNative")
def _depthwise_grad(op, grad):
    attrs = _attrs(op)
    return [create_op("DepthwiseConv2dNativeBackpropInput",
                      [array_ops.shape(op.inputs[0]), op.inputs[1], grad], attrs),
            create_op("DepthwiseConv2dNativeBackpropFilter",
                      [op.inputs[0], array_ops.shape(op.inputs[1]), grad], attrs)]


@gradient("DepthwiseConv2dNativeBackpropInput")
def _depthwise_input_grad_grad(op, grad):
    attrs = _attrs(op)
    return [None,
            create_op("DepthwiseConv2dNativeBackpropFilter",
                      [grad, array_ops.shape(op.inputs[1]), op.inputs[2]], attrs),
            create_op("DepthwiseConv2dNative", [grad, op.inputs[1]], attrs)]


@gradient("DepthwiseConv2dNativeBackpropFilter")
def _depthwise_filter_grad_grad(op, grad):
    attrs = _attrs(op)
    return [create_op("DepthwiseConv2dNativeBackpropInput",
                      [array_ops.shape(op.inputs[0]), grad, op.inputs[2]], attrs),
            None,
            create_op("DepthwiseConv2dNative", [op.inputs[0], grad], attrs)]
