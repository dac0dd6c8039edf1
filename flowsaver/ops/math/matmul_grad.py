"""Gradients of the batched matrix products (``BatchMatMulV2``) and of ``Einsum``.

``BatchMatMulV2``: two products with the adjoint flags TensorFlow picks, then, when the
batch dimensions were broadcast, a sum over the broadcast axes (``BroadcastGradientArgs``
of the batch parts of the two shapes) reshaped back to each input's shape.

``Einsum``: the gradient of each operand is another einsum of the output's gradient with
the other operand; labels the operand has but neither the output nor the other operand has
were summed away, and are restored by broadcasting.
"""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.math.grad import reduced_shape
from flowsaver.ops.op_builder import convert_to_tensor, create_op
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient
ELLIPSIS = "..."


@gradient("BatchMatMulV2")
def _batch_matmul_grad(op, grad):
    x, y = op.inputs
    adj_x, adj_y = op.get_attr("adj_x"), op.get_attr("adj_y")

    def mm(a, b, adjoint_a, adjoint_b, which):
        return math_ops.matmul(a, b, adjoint_a=adjoint_a, adjoint_b=adjoint_b, **{which: True})
    if not adj_x and not adj_y:
        grad_x, grad_y = mm(grad, y, False, True, "grad_a"), mm(x, grad, True, False, "grad_b")
    elif not adj_x:
        grad_x, grad_y = mm(grad, y, False, False, "grad_a"), mm(grad, x, True, False, "grad_b")
    elif not adj_y:
        grad_x, grad_y = mm(y, grad, False, True, "grad_a"), mm(x, grad, False, False, "grad_b")
    else:
        grad_x, grad_y = mm(y, grad, True, True, "grad_a"), mm(grad, x, True, True, "grad_b")
    sx_static, sy_static = x.shape, y.shape
    may_batch = (sx_static.ndims is None or sx_static.ndims > 2 or
                 sy_static.ndims is None or sy_static.ndims > 2)
    batch_x, batch_y = _batch_part(sx_static), _batch_part(sy_static)
    same_batch = batch_x is not None and batch_x == batch_y
    if not may_batch or same_batch:
        return grad_x, grad_y
    sx, sy = array_ops.shape(x), array_ops.shape(y)
    rx, ry = create_op("BroadcastGradientArgs", [sx[:-2], sy[:-2]])
    grad_x = array_ops.reshape(math_ops.reduce_sum(grad_x, rx), sx)
    grad_y = array_ops.reshape(math_ops.reduce_sum(grad_y, ry), sy)
    return grad_x, grad_y


def _batch_part(shape):
    """The batch dimensions of a static shape when all are known, else None."""
    if shape.ndims is None:
        return None
    dims = shape.as_list()[:-2]
    return None if None in dims else dims


# ---- Einsum -------------------------------------------------------------------------------------
def _axis_of(subscripts: str, label: str):
    """The axis of ``label``: counted from the left before an ellipsis, negative after it."""
    parts = subscripts.split(ELLIPSIS)
    index = parts[0].find(label)
    if index != -1:
        return index
    if len(parts) < 2:
        return None
    index = parts[1].find(label)
    return index - len(parts[1]) if index != -1 else None


def _broadcast_slice(subscripts: str):
    """``(start, end)`` such that ``shape[start:end]`` is what the ellipsis stands for."""
    start = subscripts.find(ELLIPSIS)
    if start == -1:
        return 0, 0
    remaining = len(subscripts) - (start + len(ELLIPSIS))
    return start, (-remaining if remaining > 0 else None)


def _ordered(labels: set) -> str:
    """The reduced labels in one order; TensorFlow takes Python's set order, which varies
    from process to process when there are several."""
    return "".join(sorted(labels))


def _grad_reduced(output_grad, output_subs, input_subs, input_shape, reduced):
    """The gradient of a one-operand einsum that summed the labels in ``reduced``."""
    reduced_subs = _ordered(reduced)
    reduced_axes = [_axis_of(input_subs, s) for s in reduced_subs]
    reduced_dims = array_ops.stack([input_shape[axis] for axis in reduced_axes])
    repeated = (len(set(input_subs)) + len(set(output_subs)) <
                len(input_subs) + len(output_subs))
    kept = "".join(s for s in input_subs if s not in reduced)
    if not repeated and kept == output_subs:
        shape = reduced_shape(input_shape, convert_to_tensor(reduced_axes))
        return array_ops.broadcast_to(array_ops.reshape(output_grad, shape), input_shape)
    with_reduced = array_ops.concat([reduced_dims, array_ops.shape(output_grad)], axis=0)
    shape = array_ops.concat([array_ops.ones(len(reduced), dtype="int32"),
                              array_ops.shape(output_grad)], axis=0)
    widened = array_ops.broadcast_to(array_ops.reshape(output_grad, shape), with_reduced)
    return create_op("Einsum", [[widened]],
                     {"equation": f"{reduced_subs + output_subs}->{input_subs}"})


def _grad_wrt(output_grad, other, input_shape, input_subs, other_subs, output_subs):
    reduced = set(input_subs) - set(output_subs + other_subs + ".")
    left = "".join(s for s in input_subs if s not in reduced)
    grad = create_op("Einsum", [[output_grad, other]],
                     {"equation": f"{output_subs},{other_subs}->{left}"})
    if not reduced:
        return grad
    return _grad_reduced(grad, left, input_subs, input_shape, reduced)


@gradient("Einsum")
def _einsum_grad(op, grad):
    equation = op.get_attr("equation")
    if isinstance(equation, bytes):
        equation = equation.decode()
    input_subs, output_subs = equation.split("->")
    if len(op.inputs) == 1:
        input_shape = array_ops.shape(op.inputs[0])
        reduced = set(input_subs) - set(output_subs + ELLIPSIS)
        if not reduced:
            return create_op("Einsum", [[grad]], {"equation": f"{output_subs}->{input_subs}"})
        return _grad_reduced(grad, output_subs, input_subs, input_shape, reduced)
    x_subs, y_subs = input_subs.split(",")
    if ELLIPSIS in output_subs:
        x_subs += "" if ELLIPSIS in x_subs else ELLIPSIS
        y_subs += "" if ELLIPSIS in y_subs else ELLIPSIS
    x, y = op.inputs
    if grad.dtype.base_dtype.is_complex:
        x, y = math_ops.conj(x), math_ops.conj(y)
    x_shape, y_shape = array_ops.shape(x), array_ops.shape(y)
    grad_x = _grad_wrt(grad, y, x_shape, x_subs, y_subs, output_subs)
    grad_y = _grad_wrt(grad, x, y_shape, y_subs, x_subs, output_subs)
    if ELLIPSIS not in output_subs:
        return grad_x, grad_y
    bx_start, bx_end = _broadcast_slice(x_subs)
    by_start, by_end = _broadcast_slice(y_subs)
    xs, ys = x.shape, y.shape
    if xs.is_fully_defined() and ys.is_fully_defined() and \
            xs.as_list()[bx_start:bx_end] == ys.as_list()[by_start:by_end]:
        return grad_x, grad_y
    rx, ry = create_op("BroadcastGradientArgs", [x_shape[bx_start:bx_end],
                                                 y_shape[by_start:by_end]])
    grad_x = array_ops.reshape(math_ops.reduce_sum(grad_x, bx_start + rx), x_shape)
    grad_y = array_ops.reshape(math_ops.reduce_sum(grad_y, by_start + ry), y_shape)
    return grad_x, grad_y
