"""Gradient functions of the math ops, and the helpers every gradient module shares.

Each function builds the ops TensorFlow's gradient of that op builds, in the same order
and under the same names, and returns one gradient per input (None for none).
Broadcasting is undone in one place, ``unbroadcast``: it sums a gradient over the axes
the forward op broadcast, found statically when the shapes allow (``Sum`` of a Const
axis list) and by ``BroadcastGradientArgs`` of the two ``Shape``s otherwise.
"""
from __future__ import annotations

import weakref

import numpy as np

from flowsaver.graph.operation import Tensor
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.array.layout import invert_permutation
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.const_eval import constant_value as static_value
from flowsaver.ops.op_builder import constant, convert_to_tensor, create_op
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient

TABLE.not_differentiable("Range", "Less", "LessEqual", "Greater", "GreaterEqual", "Equal",
                         "NotEqual", "LogicalAnd", "LogicalOr", "LogicalNot")
# Piecewise constant: TensorFlow's gradients are registered and give None.
gradient("Floor")(lambda op, grad: [None])
gradient("Ceil")(lambda op, grad: [None])
gradient("ArgMax")(lambda op, grad: [None, None])
gradient("ArgMin")(lambda op, grad: [None, None])

# ---- shared helpers -----------------------------------------------------------------------------


def shape_tuple(tensor: Tensor) -> tuple | None:
    """The static shape as a tuple (None for unknown dims), or None for an unknown rank."""
    shape = tensor.shape
    return None if shape.ndims is None else tuple(shape.as_list())


def reduction_axes(x_shape: tuple | None, y_shape: tuple | None) -> tuple:
    """The axes broadcasting stretched in x and in y, or (None, None) when data decides."""
    if x_shape is None or y_shape is None:
        return None, None
    rank = max(len(x_shape), len(y_shape))
    xs = (1,) * (rank - len(x_shape)) + tuple(x_shape)
    ys = (1,) * (rank - len(y_shape)) + tuple(y_shape)
    x_axes, y_axes = [], []
    for axis, (a, b) in enumerate(zip(xs, ys)):
        if a == 1 and b != 1:
            x_axes.append(axis)
        elif b == 1 and a != 1:
            y_axes.append(axis)
        elif a is None or b is None:
            return None, None
    return x_axes, y_axes


def _broadcast_plan(x, y):
    """For x and y: (shape tensor, axes to sum, whether to sum), as TF's graph mode plans it."""
    sx, sy = array_ops.shape(x), array_ops.shape(y)
    x_axes, y_axes = reduction_axes(shape_tuple(x), shape_tuple(y))
    if x_axes is None:
        rx, ry = create_op("BroadcastGradientArgs", [sx, sy])
        return (sx, rx, True), (sy, ry, True)
    x_rank, y_rank = x.shape.ndims, y.shape.ndims
    return (sx, x_axes, bool(x_axes) or x_rank < y_rank), \
        (sy, y_axes, bool(y_axes) or y_rank < x_rank)


def _sum_to(grad, plan):
    shape, axes, must = plan
    if grad is None or not must:
        return grad
    return array_ops.reshape(math_ops.reduce_sum(grad, axes, keepdims=True), shape)


def unbroadcast(x: Tensor, y: Tensor, gx, gy) -> tuple:
    """``gx`` and ``gy`` summed back to the shapes of ``x`` and ``y`` (the shared helper)."""
    if gx is None and gy is None:
        return gx, gy
    plan_x, plan_y = _broadcast_plan(x, y)
    return _sum_to(gx, plan_x), _sum_to(gy, plan_y)


def _same_full_shapes(*tensors) -> bool:
    shapes = [shape_tuple(t) for t in tensors]
    return shapes[0] is not None and None not in shapes[0] and \
        all(s == shapes[0] for s in shapes)


def _known(value):
    return static_value(value) if isinstance(value, Tensor) else np.asarray(value)


def reduced_shape(input_shape, axes) -> np.ndarray | Tensor:
    """The shape a reduction keeps (reduced axes set to 1): NumPy when known, else ops."""
    known_shape, known_axes = _known(input_shape), None
    if known_shape is not None:
        known_axes = _known(axes)
    if known_shape is not None and known_axes is not None:
        out = np.array(known_shape, dtype=np.int32)
        out[np.array(known_axes, dtype=np.int32)] = 1
        return out
    axes = convert_to_tensor(axes)
    rank = array_ops.size(input_shape, out_type=axes.dtype)
    axes = (axes + rank) % rank
    axes_shape = array_ops.shape(axes)
    return create_op("DynamicStitch", [[math_ops.range(rank), axes],
                                       [input_shape, array_ops.ones(axes_shape,
                                                                    dtype=input_shape.dtype)]])


# ---- reductions ---------------------------------------------------------------------------------
# Per graph: (input shape, axes) -> (kept-dims shape, tile multiples), as TF caches them.
_REDUCED_SHAPES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _static_sum_plan(g, in_shape: tuple, axes: tuple):
    cache = _REDUCED_SHAPES.setdefault(g, {})
    if (in_shape, axes) not in cache:
        kept = reduced_shape(np.array(in_shape, np.int32), np.array(axes, np.int32))
        # TensorFlow computes the multiples with graph ops and folds them; the ops stay.
        in_shape // math_ops.maximum(kept, 1)
        scaling = tuple(int(a) // max(int(b), 1) for a, b in zip(in_shape, kept))
        cache[(in_shape, axes)] = (tuple(int(d) for d in kept), scaling)
    return cache[(in_shape, axes)]


@gradient("Sum")
def _sum_grad(op, grad):
    x = op.inputs[0]
    in_shape = shape_tuple(x)
    if in_shape is not None:
        axes = static_value(op.inputs[1])
        if axes is not None:
            rank = len(in_shape)
            if np.array_equal(axes, np.arange(rank)):
                grad = array_ops.reshape(grad, [1] * rank)
                if None not in in_shape:
                    multiples = constant(list(in_shape), dtype="int32")
                else:
                    multiples = array_ops.shape(x)
                return [array_ops.tile(grad, multiples), None]
            if None not in in_shape:
                kept, scaling = _static_sum_plan(op.graph, in_shape,
                                                 tuple(int(a) for a in np.reshape(axes, -1)))
                grad = array_ops.reshape(grad, list(kept))
                return [array_ops.tile(grad, list(scaling)), None]
    input_shape = array_ops.shape(x)
    if not op.get_attr("keep_dims"):
        with op.graph.colocate_with(input_shape):
            kept = reduced_shape(input_shape, op.inputs[1])
        grad = array_ops.reshape(grad, kept)
    return [create_op("BroadcastTo", [grad, input_shape]), None]


@gradient("Mean")
def _mean_grad(op, grad):
    sum_grad = _sum_grad(op, grad)[0]
    in_shape, out_shape = shape_tuple(op.inputs[0]), shape_tuple(op.outputs[0])
    if in_shape is not None and out_shape is not None and None not in in_shape \
            and None not in out_shape:
        factor = int(np.prod(in_shape)) // max(int(np.prod(out_shape)), 1)
        factor = constant(factor, dtype=sum_grad.dtype.base_dtype)
    else:
        input_shape = array_ops.shape(op.inputs[0])
        rank = array_ops.size(input_shape)
        axes = math_ops.cast(op.inputs[1], rank.dtype)
        axes = (axes + rank) % rank
        factor = math_ops.reduce_prod(array_ops.gather(input_shape, axes))
    return math_ops.truediv(sum_grad, math_ops.cast(factor, sum_grad.dtype)), None


def _min_or_max_grad(op, grad):
    input_shape = array_ops.shape(op.inputs[0])
    y = op.outputs[0]
    if not op.get_attr("keep_dims"):
        kept = reduced_shape(input_shape, op.inputs[1])
        y = array_ops.reshape(y, kept)
        grad = array_ops.reshape(grad, kept)
    else:
        kept = array_ops.shape(y)
    indicators = math_ops.cast(math_ops.equal(y, op.inputs[0]), grad.dtype)
    selected = array_ops.reshape(math_ops.reduce_sum(indicators, op.inputs[1]), kept)
    return [math_ops.divide(indicators, selected) * grad, None]


gradient("Max")(_min_or_max_grad)
gradient("Min")(_min_or_max_grad)


@gradient("Prod")
def _prod_grad(op, grad):
    x = op.inputs[0]
    input_shape = array_ops.shape(x)
    indices = array_ops.reshape(op.inputs[1], [-1])
    if not op.get_attr("keep_dims"):
        grad = array_ops.reshape(grad, reduced_shape(input_shape, op.inputs[1]))
    grad = create_op("BroadcastTo", [grad, input_shape])
    # Products of all other entries via two exclusive cumulative products, so zeros work.
    with op.graph.device("/cpu:0"):
        rank = array_ops.rank(x)
        indices = math_ops.cast(indices, rank.dtype)
        reduced = (indices + rank) % rank
        idx = math_ops.range(0, rank)
        other, _ = create_op("ListDiff", [idx, reduced], {"out_idx": reduced.dtype})
        perm = array_ops.concat([reduced, other], 0)
        reduced_num = math_ops.reduce_prod(array_ops.gather(input_shape, reduced))
        other_num = math_ops.reduce_prod(array_ops.gather(input_shape, other))
    permuted = array_ops.transpose(x, perm)
    permuted_shape = array_ops.shape(permuted)
    reshaped = array_ops.reshape(permuted, (reduced_num, other_num))
    left = _cumprod(reshaped, exclusive=True)
    right = _cumprod(reshaped, exclusive=True, reverse=True)
    y = array_ops.reshape(left * right, permuted_shape)
    out = grad * array_ops.transpose(y, invert_permutation(perm))
    return array_ops.reshape(out, input_shape), None


def _cumprod(x, exclusive=False, reverse=False):
    g = x.graph
    with g.name_scope("Cumprod") as scope:
        x = convert_to_tensor(x, name="x")
        return create_op("Cumprod", [x, 0], {"exclusive": exclusive, "reverse": reverse},
                         name=scope)


# ---- elementwise binary -------------------------------------------------------------------------
@gradient("AddN")
def _add_n_grad(op, grad):
    return [grad] * len(op.inputs)


@gradient("AddV2")
def _add_grad(op, grad):
    x, y = op.inputs
    if _same_full_shapes(x, y, grad):
        return grad, grad
    return unbroadcast(x, y, grad, grad)


@gradient("Sub")
def _sub_grad(op, grad):
    x, y = op.inputs
    if _same_full_shapes(x, y, grad):
        return grad, -grad
    return unbroadcast(x, y, grad, -grad)


@gradient("Mul")
def _mul_grad(op, grad):
    x, y = op.inputs
    if _same_full_shapes(x, y, grad) and grad.dtype.base_dtype.name in ("int32", "float32"):
        return create_op("Mul", [grad, y]), create_op("Mul", [grad, x])
    gx = create_op("Mul", [grad, y])
    gy = create_op("Mul", [x, grad])
    return unbroadcast(x, y, gx, gy)


@gradient("RealDiv")
def _real_div_grad(op, grad):
    x, y = op.inputs
    gx = math_ops.realdiv(grad, y)
    gy = grad * math_ops.realdiv(math_ops.realdiv(-x, y), y)
    return unbroadcast(x, y, gx, gy)


@gradient("FloorDiv")
def _floor_div_grad(op, grad):
    return None, None


@gradient("FloorMod")
def _floor_mod_grad(op, grad):
    x, y = op.inputs
    floor_xy = math_ops.floor_div(x, y)
    return unbroadcast(x, y, grad, grad * math_ops.negative(floor_xy))


@gradient("Pow")
def _pow_grad(op, grad):
    x, y = op.inputs
    gx = grad * y * math_ops.pow(x, y - 1)
    mask = x > 0  # no sensible real value for x < 0: the gradient is 0 there
    safe_x = array_ops.where(mask, x, array_ops.ones_like(x))
    log_x = array_ops.where(mask, math_ops.log(safe_x), array_ops.zeros_like(x))
    gy = grad * op.outputs[0] * log_x
    return unbroadcast(x, y, gx, gy)


def _max_min_grad(op, grad, selector):
    x, y = op.inputs
    zeros = array_ops.zeros_like(grad)
    xmask = selector(x, y)
    gx = array_ops.where_v2(xmask, grad, zeros)
    gy = array_ops.where_v2(xmask, zeros, grad)
    return unbroadcast(x, y, gx, gy)


gradient("Maximum")(lambda op, grad: _max_min_grad(op, grad, math_ops.greater_equal))
gradient("Minimum")(lambda op, grad: _max_min_grad(op, grad, math_ops.less_equal))


@gradient("SquaredDifference")
def _squared_difference_grad(op, grad):
    x, y = op.inputs
    with op.graph.control_dependencies([grad]):
        two = convert_to_tensor(2.0, dtype=grad.dtype.base_dtype, name="scalar")
        x_grad = create_op("Mul", [two, grad]) * (x - y)
    if _same_full_shapes(x, y, grad):
        return x_grad, -x_grad
    return unbroadcast(x, y, x_grad, -x_grad)


@gradient("MatMul")
def _mat_mul_grad(op, grad):
    a, b = op.inputs
    t_a, t_b = op.get_attr("transpose_a"), op.get_attr("transpose_b")

    def mm(p, q, ta, tb, which):
        return create_op("MatMul", [p, q], {"transpose_a": ta, "transpose_b": tb,
                                            which: True})
    if not t_a and not t_b:
        return mm(grad, b, False, True, "grad_a"), mm(a, grad, True, False, "grad_b")
    if not t_a:
        return mm(grad, b, False, False, "grad_a"), mm(grad, a, True, False, "grad_b")
    if not t_b:
        return mm(b, grad, False, True, "grad_a"), mm(a, grad, False, False, "grad_b")
    return mm(b, grad, True, True, "grad_a"), mm(grad, a, True, True, "grad_b")


@gradient("Select")
def _select_grad(op, grad):
    c, x = op.inputs[0], op.inputs[1]
    zeros = array_ops.zeros_like(x)
    return None, array_ops.where(c, grad, zeros), array_ops.where(c, zeros, grad)


@gradient("SelectV2")
def _select_v2_grad(op, grad):
    c, x, y = op.inputs
    z = op.outputs[0]
    zeros = array_ops.zeros([], dtype=grad.dtype.base_dtype)
    gx = array_ops.where_v2(c, grad, zeros)
    gy = array_ops.where_v2(c, zeros, grad)
    gx, _ = unbroadcast(x, z, gx, None)
    gy, _ = unbroadcast(y, z, gy, None)
    return None, gx, gy


# ---- elementwise unary --------------------------------------------------------------------------
def _after(grad, fn):
    """``fn()`` with its new ops made to wait for ``grad`` (TF keeps them from running early)."""
    with grad.graph.control_dependencies([grad]):
        return fn()


gradient("Neg")(lambda op, grad: -grad)
gradient("Abs")(lambda op, grad: grad * math_ops.sign(op.inputs[0]))
gradient("Sign")(lambda op, grad: array_ops.zeros_like(op.inputs[0]))
gradient("Reciprocal")(lambda op, grad: create_op("ReciprocalGrad", [op.outputs[0], grad]))
gradient("Sqrt")(lambda op, grad: create_op("SqrtGrad", [op.outputs[0], grad]))
gradient("Rsqrt")(lambda op, grad: create_op("RsqrtGrad", [op.outputs[0], grad]))
gradient("Exp")(lambda op, grad: _after(grad, lambda: grad * op.outputs[0]))
gradient("Log")(lambda op, grad: _after(grad, lambda: grad * math_ops.reciprocal(op.inputs[0])))
gradient("Tanh")(lambda op, grad: _after(
    grad, lambda: create_op("TanhGrad", [op.outputs[0], grad])))
gradient("Sigmoid")(lambda op, grad: _after(
    grad, lambda: create_op("SigmoidGrad", [op.outputs[0], grad])))


@gradient("Square")
def _square_grad(op, grad):
    x = op.inputs[0]
    with op.graph.control_dependencies([grad]):
        two = constant(2.0, dtype=x.dtype.base_dtype)
        return math_ops.multiply(grad, math_ops.multiply(x, two))


_FLOATS = {"float16", "float32", "float64", "bfloat16", "complex64", "complex128"}


@gradient("Cast")
def _cast_grad(op, grad):
    source = op.inputs[0].dtype.base_dtype
    if source.name in _FLOATS and grad.dtype.base_dtype.name in _FLOATS:
        return math_ops.cast(grad, source)
    return None
