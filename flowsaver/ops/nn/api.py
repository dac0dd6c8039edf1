"""Public ``tf.nn`` functions, building the nodes TensorFlow 1.x builds, named alike.

Composite functions (softmax over an inner axis, the cross-entropy losses, dropout) lay
out their helper nodes (``Rank``, ``Shape``, ``Slice``, ``concat``, ...) in the order and
under the names TensorFlow uses, so that GraphDefs compare equal node for node.
"""
from __future__ import annotations

import numbers

import numpy as np

from flowsaver import errors
from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.logging.checks import assert_equal
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.math import reductions as math_reduce_ops
from flowsaver.ops.random import api as random_ops
from flowsaver.ops.math.api import sigmoid, tanh  # tf.nn.sigmoid is tf.sigmoid
from flowsaver.ops.nn.sort import top_k  # noqa: F401 - tf.nn.top_k
from flowsaver.ops.op_builder import constant, convert_to_tensor, create_op, graph_of

__all__ = ['relu', 'relu6', 'elu', 'selu', 'leaky_relu', 'softplus', 'softsign', 'sigmoid',
           'tanh', 'softmax',
           'log_softmax', 'bias_add', 'l2_loss', 'in_top_k', 'conv2d', 'max_pool', 'avg_pool',
           'dropout', 'softmax_cross_entropy_with_logits',
           'softmax_cross_entropy_with_logits_v2', 'sparse_softmax_cross_entropy_with_logits',
           'top_k']


def _gen(op_type: str, inputs: list, name, attrs: dict | None = None):
    """One ``op_type`` node in the graph of ``inputs``, named ``name`` or after its type."""
    with graph_of(inputs).as_default():
        return create_op(op_type, inputs, attrs, name=name)


# ---- activations ---------------------------------------------------------------------------
def relu(features, name=None):
    """max(features, 0) (``Relu``)."""
    return _gen("Relu", [features], name)


def relu6(features, name=None):
    """min(max(features, 0), 6) (``Relu6``)."""
    return _gen("Relu6", [features], name)


def elu(features, name=None):
    """Exponential linear unit (``Elu``)."""
    return _gen("Elu", [features], name)


def selu(features, name=None):
    """Scaled exponential linear unit (``Selu``)."""
    return _gen("Selu", [features], name)


def softplus(features, name=None):
    """log(exp(features) + 1) (``Softplus``)."""
    return _gen("Softplus", [features], name)


def softsign(features, name=None):
    """features / (abs(features) + 1) (``Softsign``)."""
    return _gen("Softsign", [features], name)


def leaky_relu(features, alpha=0.2, name=None):
    """features where positive, else alpha * features (``LeakyRelu``; integers become float)."""
    g = graph_of([features])
    with g.as_default(), g.name_scope(name or "LeakyRelu") as scope:
        features = convert_to_tensor(features, name="features")
        if features.dtype.is_integer:
            features = create_op("Cast", [features], {"DstT": as_dtype("float32")}, name="Cast")
        if isinstance(alpha, np.ndarray):
            alpha = alpha.item()
        return create_op("LeakyRelu", [features], {"alpha": float(alpha)}, name=scope)


def l2_loss(t, name=None):
    """sum(t ** 2) / 2 (``L2Loss``)."""
    return _gen("L2Loss", [t], name)


def in_top_k(predictions, targets, k, name=None):
    """Whether each target's prediction is among the ``k`` highest of its row (``InTopKV2``)."""
    g = graph_of([predictions, targets, k])
    with g.as_default(), g.name_scope(name or "in_top_k"):
        return create_op("InTopKV2", [predictions, targets, k], name=name)


def bias_add(value, bias, data_format=None, name=None):
    """``value`` plus the 1-D ``bias`` along its channel axis (``BiasAdd``)."""
    if data_format is None or data_format.startswith("N") and data_format.endswith("C"):
        data_format = "NHWC"
    elif data_format.startswith("NC"):
        data_format = "NCHW"
    else:
        raise ValueError(f"`data_format` must be of the form `N...C` or `NC...`. Received: "
                         f"data_format={data_format}")
    g = graph_of([value, bias])
    with g.as_default(), g.name_scope(name or "BiasAdd") as scope:
        value = convert_to_tensor(value, name="input")
        bias = convert_to_tensor(bias, dtype=value.dtype.base_dtype, name="bias")
        return create_op("BiasAdd", [value, bias], {"data_format": data_format}, name=scope)


# ---- helper nodes, laid out by the array functions as TensorFlow's are ----------------------
def _range(start, limit=None):
    return math_reduce_ops.range(start, limit)


def _concat(values):
    return array_ops.concat(values, 0)


# ---- softmax ----------------------------------------------------------------------------------
def _pick(new, old, new_name: str, old_name: str, default):
    """An argument that has a new and a deprecated name: at most one may be given."""
    if new is not None and old is not None:
        raise ValueError(f"Cannot specify both '{old_name}' and '{new_name}'.")
    return default if new is None and old is None else (new if new is not None else old)


def _swap_with_last(x, dim, last, name=None):
    """``x`` with axis ``dim`` and axis ``last`` exchanged."""
    perm = _concat([_range(dim), [last], _range(dim + 1, last), [dim]])
    return array_ops.transpose(x, perm, name=name or "transpose")


def _softmax(op_type: str, logits, axis, name):
    g = graph_of([logits])
    with g.as_default():
        logits = convert_to_tensor(logits)
        shape = logits.shape
        if axis == -1 or shape.ndims is not None and axis == shape.ndims - 1:
            return create_op(op_type, [logits], name=name)
        ndims = shape.ndims
        if ndims is None:
            raise TypeError(f"{op_type} over axis {axis} needs logits of known rank; "
                            f"{logits.name} has unknown rank")
        if not -ndims <= axis < ndims:
            raise errors.InvalidArgumentError(
                None, None, f"`dim` must be in the range [{-ndims}, {ndims}) where {ndims} is "
                            f"the number of dimensions in the input. Received: dim={axis}")
        rank = array_ops.rank(logits)
        dim = axis + rank if axis < 0 else axis
        input_rank = array_ops.rank(logits)
        if isinstance(dim, int):
            dim %= ndims
        else:
            dim = math_ops.binary("FloorMod", dim, ndims, None, "mod")
        moved = _swap_with_last(logits, dim, math_ops.subtract(input_rank, 1))
        out = create_op(op_type, [moved])
        out = _swap_with_last(out, dim, math_ops.subtract(input_rank, 1), name=name)
        out.set_shape(shape)
        return out


def softmax(logits, axis=None, name=None, dim=None):
    """exp(logits) / sum(exp(logits)) along ``axis`` (``Softmax``)."""
    return _softmax("Softmax", logits, _pick(axis, dim, "axis", "dim", -1), name)


def log_softmax(logits, axis=None, name=None, dim=None):
    """logits - log(sum(exp(logits))) along ``axis`` (``LogSoftmax``)."""
    return _softmax("LogSoftmax", logits, _pick(axis, dim, "axis", "dim", -1), name)


# ---- cross entropy ----------------------------------------------------------------------------
def _flatten_outer_dims(x):
    """``x`` reshaped to 2-D: every axis but the last folded into the first."""
    rank = array_ops.rank(x)
    last = array_ops.slice(array_ops.shape(x), [math_ops.subtract(rank, 1)], [1])
    out = array_ops.reshape(x, _concat([[-1], last]))
    dims = x.shape.as_list() if x.shape.ndims is not None else None
    if dims and all(d is not None for d in dims):
        out.set_shape([int(np.prod(dims[:-1])), dims[-1]])
    return out


def _move_axis_to_end(x, axis, rank):
    perm = _concat([_range(axis), _range(axis + 1, rank), [axis]])
    out = array_ops.transpose(x, perm)
    if x.shape.ndims is not None and 0 <= axis < x.shape.ndims:  # as TF infers from perm
        dims = x.shape.as_list()
        out.set_shape(dims[:axis] + dims[axis + 1:] + [dims[axis]])
    return out


def softmax_cross_entropy_with_logits_v2(labels, logits, axis=None, name=None, dim=None):
    """Cross entropy of softmax(logits) against the distributions ``labels``, per example."""
    axis = _pick(axis, dim, "axis", "dim", -1)
    g = graph_of([labels, logits])
    with g.as_default(), g.name_scope(name or "softmax_cross_entropy_with_logits") as scope:
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, name="labels")
        if labels.dtype.base_dtype != logits.dtype.base_dtype:
            labels = create_op("Cast", [labels], {"DstT": logits.dtype.base_dtype}, name="Cast")
        static = logits.shape
        input_rank = array_ops.rank(logits)
        if axis != -1:
            logits = _move_axis_to_end(logits, axis, input_rank)
            labels = _move_axis_to_end(labels, axis, input_rank)
        input_shape = array_ops.shape(logits)
        flat_logits = _flatten_outer_dims(logits)
        flat_labels = _flatten_outer_dims(labels)
        cost = create_op("SoftmaxCrossEntropyWithLogits", [flat_logits, flat_labels],
                         name=scope)[0]
        out_shape = array_ops.slice(input_shape, [0], [math_ops.subtract(input_rank, 1)])
        cost = array_ops.reshape(cost, out_shape)
        if static.ndims is not None:
            dims = static.as_list()
            del dims[axis]
            cost.set_shape(dims)
        return cost


def softmax_cross_entropy_with_logits(labels=None, logits=None, dim=-1, name=None, axis=None):
    """TF1's softmax cross entropy: like ``_v2`` but no gradient flows into ``labels``."""
    axis = _pick(axis, dim, "axis", "dim", -1)  # as in TF1, dim's default forbids axis=
    g = graph_of([labels, logits])
    with g.as_default(), g.name_scope(name or "softmax_cross_entropy_with_logits_sg") as scope:
        labels = array_ops.stop_gradient(labels, name="labels_stop_gradient")
    return softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits, axis=axis,
                                                name=scope)


def _check_sparse_shapes(labels, logits) -> None:
    lab, log = labels.shape, logits.shape
    if log.ndims == 0:
        raise ValueError(f"Logits cannot be scalars - received shape {log}.")
    if lab.ndims is not None and log.ndims is not None and lab.ndims != log.ndims - 1:
        raise ValueError(f"`labels.shape.rank` must equal `logits.shape.rank - 1`. Received: "
                         f"labels.shape={lab} of rank {lab.ndims} and logits.shape={log} of "
                         f"rank {log.ndims}")
    if lab.is_fully_defined() and log.ndims is not None and \
            _batch_shape(log).is_fully_defined() and \
            lab.as_list() != log.as_list()[:-1]:
        raise ValueError(f"`labels.shape` must equal `logits.shape` except for the last "
                         f"dimension. Received: labels.shape={lab} and logits.shape={log}")


def _batch_shape(logits_shape) -> TensorShape:
    """A logits shape without its class axis: what the labels' shape must be."""
    return TensorShape(logits_shape.as_list()[:-1])


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Cross entropy of softmax(logits) against class indices ``labels``, per example."""
    g = graph_of([labels, logits])
    with g.as_default(), g.name_scope(name or "SparseSoftmaxCrossEntropyWithLogits"):
        labels = convert_to_tensor(labels)
        logits = convert_to_tensor(logits)
        labels_shape = array_ops.shape(labels)
        _check_sparse_shapes(labels, logits)
        if logits.shape.ndims == 2:
            return create_op("SparseSoftmaxCrossEntropyWithLogits", [logits, labels],
                             name=name)[0]
        checks = []
        if not labels.shape.is_fully_defined() or \
                not _batch_shape(logits.shape).is_fully_defined():
            checks.append(assert_equal(array_ops.shape(labels), array_ops.shape(logits)[:-1]))
        with g.control_dependencies(checks):
            num_classes = array_ops.shape(logits)[array_ops.rank(logits) - 1]
            flat_logits = array_ops.reshape(logits, [-1, num_classes])
            flat_labels = array_ops.reshape(labels, [-1])
            cost = create_op("SparseSoftmaxCrossEntropyWithLogits", [flat_logits, flat_labels],
                             name=name)[0]
            cost = array_ops.reshape(cost, labels_shape)
            cost.set_shape(labels.shape)
            return cost


# ---- dropout ----------------------------------------------------------------------------------
def _noise_shape(x, noise_shape):
    if noise_shape is None:
        return array_ops.shape(x)
    if isinstance(noise_shape, (list, tuple)) and x.shape.ndims == len(noise_shape):
        return [d if d is not None else x.shape.as_list()[i] for i, d in enumerate(noise_shape)]
    return noise_shape


def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """Zero each element with probability ``rate`` (= 1 - keep_prob), scale the rest up."""
    if keep_prob is not None and rate is not None:
        raise ValueError("Cannot specify both 'keep_prob' and 'rate'.")
    if keep_prob is not None:
        if isinstance(keep_prob, numbers.Real) and not 0 < keep_prob <= 1:
            raise ValueError(f"`keep_prob` must be a floating point number in the range (0, 1]."
                             f" Received: keep_prob={keep_prob}")
        rate = 1 - keep_prob
    if rate is None:
        raise ValueError(f"`rate` must be provided. Received: rate={rate}")
    g = graph_of([x, rate])
    with g.as_default(), g.name_scope(name or "dropout"):
        x = convert_to_tensor(x, name="x")
        dtype = x.dtype.base_dtype
        if not dtype.is_floating:
            raise ValueError(f"`x.dtype` must be a floating point tensor as `x` will be scaled. "
                             f"Received: x_dtype={dtype!r}")
        if isinstance(rate, numbers.Real):
            if not 0 <= rate < 1:
                raise ValueError(f"`rate` must be a scalar tensor or a float in the range "
                                 f"[0, 1). Received: rate={rate}")
            if rate == 0:
                return x
            kept = create_op("Mul", [x, constant(1 / (1 - rate), dtype=dtype)])
        else:
            rate = convert_to_tensor(rate, dtype=dtype, name="rate")
            kept = create_op("RealDiv", [x, create_op("Sub", [constant(1, dtype=dtype), rate])])
        noise = random_ops.random_uniform(_noise_shape(x, noise_shape), seed=seed, dtype=dtype)
        keep = create_op("GreaterEqual", [noise, rate])
        out = create_op("SelectV2", [keep, kept, constant(0, dtype=dtype)])
        out.set_shape(x.shape)
        return out


# ---- convolution and pooling ------------------------------------------------------------------
def _sequence(value, name: str, channels_first: bool) -> list:
    """A per-spatial-axis value as the 4-long list the op wants: ints and pairs allowed."""
    if value is None:
        return [1, 1, 1, 1]
    values = [value] if isinstance(value, int) else list(value)
    if len(values) == 1:
        values = values * 2
    if len(values) == 2:
        return [1, 1] + values if channels_first else [1] + values + [1]
    if len(values) == 4:
        return values
    raise ValueError(f"{name} should be of length 1, 2 or 4. Received: {name}={value} of "
                     f"length {len(values)}")


def _padding(padding, op_type: str, allowed: tuple) -> tuple:
    """(padding attr, explicit_paddings attr); a list of pairs means explicit padding."""
    if isinstance(padding, (list, tuple)):
        if "EXPLICIT" not in allowed:
            raise ValueError(f"{op_type} takes padding 'SAME' or 'VALID', not explicit "
                             f"padding {padding}")
        pairs = [list(p) for p in padding]
        if len(pairs) != 4 or any(len(p) != 2 for p in pairs):
            raise ValueError(f"When padding is explicit, it must be a list of 4 pairs. "
                             f"Received: padding={padding}")
        return "EXPLICIT", [int(v) for p in pairs for v in p]
    text = padding.decode() if isinstance(padding, bytes) else padding
    if text == "EXPLICIT":
        raise ValueError(f"{op_type}: padding 'EXPLICIT' is given as a list of 4 "
                         f"[before, after] pairs, not as a string")
    if text not in allowed:
        names = ", ".join(f'"{a}"' for a in allowed)
        raise ValueError(f"Attr 'padding' of '{op_type}' Op passed string '{text}' not in: "
                         f"{names}.")
    return text, []


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True,  # noqa: A002
           data_format="NHWC", dilations=[1, 1, 1, 1], name=None, filters=None):  # noqa: B006
    """2-D convolution of a batch of images with ``filter`` (``Conv2D``)."""
    filter = _pick(filters, filter, "filters", "filter", None)  # noqa: A001
    channels_first = data_format.startswith("NC")
    padding, explicit = _padding(padding, "Conv2D", ("SAME", "VALID", "EXPLICIT"))
    attrs = {"strides": _sequence(strides, "strides", channels_first),
             "use_cudnn_on_gpu": use_cudnn_on_gpu, "padding": padding,
             "explicit_paddings": explicit, "data_format": data_format,
             "dilations": _sequence(dilations, "dilations", channels_first)}
    return _gen("Conv2D", [input, filter], name, attrs)


def _pool(op_type: str, value, ksize, strides, padding, data_format, name, allowed):
    data_format = data_format or "NHWC"
    channels_first = data_format.startswith("NC")
    padding, explicit = _padding(padding, op_type, allowed)
    attrs = {"ksize": _sequence(ksize, "ksize", channels_first),
             "strides": _sequence(strides, "strides", channels_first),
             "padding": padding, "data_format": data_format}
    if "EXPLICIT" in allowed:
        attrs["explicit_paddings"] = explicit
    g = graph_of([value])
    with g.as_default(), g.name_scope(name or op_type) as scope:
        # Converted first, so a Python value keeps its own dtype (int stays int32).
        value = convert_to_tensor(value, name="input" if op_type == "MaxPool" else "value")
        return create_op(op_type, [value], attrs, name=scope)


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):  # noqa: A002
    """The maximum of each ``ksize`` window (``MaxPool``)."""
    value = _pick(input, value, "input", "value", None)
    return _pool("MaxPool", value, ksize, strides, padding, data_format, name,
                 ("SAME", "VALID", "EXPLICIT"))


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):  # noqa: A002
    """The mean of each ``ksize`` window, padding excluded (``AvgPool``)."""
    value = _pick(input, value, "input", "value", None)
    return _pool("AvgPool", value, ksize, strides, padding, data_format, name,
                 ("SAME", "VALID"))
