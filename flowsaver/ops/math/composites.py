"""Public math functions TensorFlow builds from other ops: clipping (``clip_by_value``,
``clip_by_norm``, ``global_norm``, ``clip_by_global_norm``), ``reduce_logsumexp``,
``count_nonzero``, ``log_sigmoid``, ``scalar_mul`` and the TF1 names ``arg_max``/
``arg_min`` and ``to_bfloat16``/``to_complex64``/``to_complex128``.

Each builds TensorFlow's ops in TensorFlow's order under TensorFlow's names, including the
colocation (``_class``) the norm functions give to ops made next to each input.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flowsaver.graph.attr_value import as_dtype
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.autodiff.indexed_slices import IndexedSlices
from flowsaver.ops.math.basic import cast, maximum, minimum, sqrt
from flowsaver.ops.math.reductions import (_deprecated_alias, reduce_max, reduce_sum)
from flowsaver.ops.op_builder import constant, convert_to_tensor, create_op, graph_of

__all__ = ['saturate_cast', 'clip_by_value', 'clip_by_norm', 'global_norm', 'clip_by_global_norm',
           'reduce_logsumexp', 'count_nonzero', 'log_sigmoid', 'scalar_mul', 'arg_max',
           'arg_min', 'to_bfloat16', 'to_complex64', 'to_complex128']


def _values(t):
    return t.values if isinstance(t, IndexedSlices) else t


def _check_compatible(values, result) -> None:
    if not values.shape.is_compatible_with(result.shape):
        raise ValueError(f"Shapes {values.shape} and {result.shape} are incompatible")


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """``t`` with values below ``clip_value_min`` or above ``clip_value_max`` clamped
    (``Minimum`` then ``Maximum``).

    Raises:
      ValueError: the bounds would broadcast ``t`` to another shape.
    """
    g = graph_of([_values(t), clip_value_min, clip_value_max])
    with g.as_default(), g.name_scope(name or "clip_by_value") as scope:
        values = convert_to_tensor(_values(t), name="t")
        t_min = minimum(values, clip_value_max)
        _check_compatible(values, t_min)
        t_max = maximum(t_min, clip_value_min, name=scope)
        _check_compatible(values, t_max)
    if isinstance(t, IndexedSlices):
        return IndexedSlices(t_max, t.indices, t.dense_shape)
    return t_max


def _saturation_limits(source, target) -> tuple:
    """The source-type values that clamp into ``target``'s range, TensorFlow's way: the
    wider of the two minimums (the narrower maximum) in the source type, stepped towards 0
    when rounding into the source type pushed it outside the target's range."""
    kind = source.as_numpy_dtype
    try:
        common = np.promote_types(kind, target.as_numpy_dtype)
    except TypeError:
        common = float
    low = kind(np.maximum(source.min, target.min))
    if np.array([low, target.min], dtype=common)[0] < np.array(target.min, dtype=common):
        low = np.nextafter(low, kind(0), dtype=kind)
    high = kind(np.minimum(float(source.max), float(target.max)))
    if np.array([high, target.max], dtype=common)[0] > np.array(target.max, dtype=common):
        high = np.nextafter(high, kind(0), dtype=kind)
    return low, high


def saturate_cast(value, dtype, name=None):
    """``value`` cast to ``dtype`` after clamping it into ``dtype``'s range (``ClipByValue``
    then ``Cast``), so that out-of-range values saturate instead of wrapping.

    Raises:
      NotImplementedError: complex values (TensorFlow clamps their parts; not built here).
    """
    g = graph_of([value])
    with g.as_default(), g.name_scope(name or "saturate_cast") as scope:
        value = convert_to_tensor(value, name="value")
        target = as_dtype(dtype).base_dtype
        source = value.dtype.base_dtype
        if source.is_complex:
            raise NotImplementedError("saturate_cast of complex values")
        low, high = _saturation_limits(source, target)
        value = create_op("ClipByValue", [value, constant(low, dtype=source),
                                          constant(high, dtype=source)], name="clamp")
        return cast(value, target, name=scope)


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """``t`` scaled down so that its L2 norm over ``axes`` is at most ``clip_norm``."""
    g = graph_of([_values(t), clip_norm])
    with g.as_default(), g.name_scope(name or "clip_by_norm") as scope:
        values = convert_to_tensor(_values(t), name="t")
        if np.isscalar(clip_norm):
            clip_norm = max(clip_norm, 0)
        else:
            clip_norm = cast(maximum(clip_norm, 0), values.dtype.base_dtype)
        l2sum = reduce_sum(values * values, axes, keepdims=True)
        pred = l2sum > 0
        # a zero norm would make sqrt's gradient NaN: it takes 1 there, and is not used
        l2sum_safe = array_ops.where(pred, l2sum, array_ops.ones_like(l2sum))
        l2norm = array_ops.where(pred, sqrt(l2sum_safe), l2sum)
        intermediate = values * clip_norm
        _check_compatible(values, intermediate)
        clipped = array_ops.identity(intermediate / maximum(l2norm, clip_norm), name=scope)
    if isinstance(t, IndexedSlices):
        return IndexedSlices(clipped, t.indices, t.dense_shape)
    return clipped


def _as_tensor_list(t_list) -> list:
    if not isinstance(t_list, Sequence) or isinstance(t_list, str):
        raise TypeError(f"`t_list` should be a sequence of tensors. Received "
                        f"{type(t_list)}.")
    return list(t_list)


def _converted(t_list) -> list:
    return [convert_to_tensor(_values(t), name=f"t_{i}") if t is not None else None
            for i, t in enumerate(t_list)]


def global_norm(t_list, name=None):
    """``sqrt(sum(||t||^2))`` over the tensors of ``t_list`` (None entries are skipped).

    Raises:
      TypeError: ``t_list`` is not a sequence.
    """
    t_list = _as_tensor_list(t_list)
    g = graph_of([_values(t) for t in t_list if t is not None])
    with g.as_default(), g.name_scope(name or "global_norm"):
        half_squares = []
        for v in _converted(t_list):
            if v is not None:
                with g.colocate_with(v.op):
                    half_squares.append(create_op("L2Loss", [v]))
        half_squared_norm = reduce_sum(array_ops.stack(half_squares))
        two = constant(2.0, dtype=half_squared_norm.dtype.base_dtype)
        return sqrt(half_squared_norm * two, name="global_norm")


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """Every tensor of ``t_list`` scaled by ``clip_norm / max(global_norm, clip_norm)``;
    returns ``(clipped list, global norm)``.

    Raises:
      TypeError: ``t_list`` is not a sequence.
    """
    t_list = _as_tensor_list(t_list)
    if use_norm is None:
        use_norm = global_norm(t_list, name)
    g = graph_of([_values(t) for t in t_list if t is not None] + [clip_norm])
    with g.as_default(), g.name_scope(name or "clip_by_global_norm") as scope:
        inverse = 1.0 / use_norm
        one = constant(1.0, dtype=use_norm.dtype.base_dtype)
        scale_for_finite = clip_norm * minimum(inverse, one / clip_norm)
        # an infinite or NaN norm makes every value NaN, as in TensorFlow
        scale = scale_for_finite + (use_norm - use_norm)
        clipped = []
        for i, v in enumerate(_converted(t_list)):
            if v is None:
                clipped.append(None)
                continue
            with g.colocate_with(v.op):
                clipped.append(array_ops.identity(v * cast(scale, v.dtype.base_dtype),
                                                  name=f"{scope}_{i}"))
    return [IndexedSlices(c, t.indices, t.dense_shape) if isinstance(t, IndexedSlices) else c
            for c, t in zip(clipped, t_list)], use_norm


def reduce_logsumexp(input_tensor, axis=None, keepdims=None, name=None,
                     reduction_indices=None, keep_dims=None):
    """``log(sum(exp(x)))`` over ``axis``, computed stably around the maximum."""
    axis = _deprecated_alias("axis", axis, "reduction_indices", reduction_indices)
    keepdims = _deprecated_alias("keepdims", keepdims, "keep_dims", keep_dims)
    g = graph_of([input_tensor])
    with g.as_default(), g.name_scope(name or "ReduceLogSumExp") as scope:
        raw_max = reduce_max(input_tensor, axis=axis, keepdims=True)
        finite = create_op("IsFinite", [raw_max])
        my_max = array_ops.stop_gradient(create_op("SelectV2", [finite, raw_max, 0]))
        shifted = create_op("Exp", [create_op("Sub", [input_tensor, my_max])])
        result = create_op("Log", [reduce_sum(shifted, axis=axis, keepdims=keepdims)])
        if not keepdims:
            my_max = array_ops.reshape(my_max, create_op("Shape", [result]))
        result = create_op("AddV2", [result, my_max], name=scope)
    if not result.shape.is_fully_defined() and not keepdims and axis is None:
        result.set_shape([])
    return result


def count_nonzero(input_tensor=None, axis=None, keepdims=None, dtype="int64", name=None,
                  reduction_indices=None, keep_dims=None, input=None):  # noqa: A002
    """How many elements along ``axis`` are not zero (not False, not empty strings)."""
    keepdims = bool(_deprecated_alias("keepdims", keepdims, "keep_dims", keep_dims))
    input_tensor = _deprecated_alias("input_tensor", input_tensor, "input", input)
    axis = _deprecated_alias("axis", axis, "reduction_indices", reduction_indices)
    g = graph_of([input_tensor])
    with g.as_default(), g.name_scope(name or "count_nonzero"):
        x = convert_to_tensor(input_tensor, name="input")
        if x.dtype.base_dtype.is_bool:
            predicate = x
        else:
            zero = array_ops.zeros([], dtype=x.dtype.base_dtype)
            predicate = create_op("NotEqual", [x, zero])
        counts = reduce_sum(cast(predicate, "int64"), axis=axis, keepdims=keepdims)
        return cast(counts, dtype)


def log_sigmoid(x, name=None):
    """``log(sigmoid(x))``, computed as ``-softplus(-x)`` (stable for large ``|x|``)."""
    g = graph_of([x])
    with g.as_default(), g.name_scope(name or "LogSigmoid") as scope:
        x = convert_to_tensor(x, name="x")
        return create_op("Neg", [create_op("Softplus", [-x])], name=scope)


def scalar_mul(scalar, x, name=None):
    """``scalar * x`` for a 0-D ``scalar`` (``Mul``); an IndexedSlices keeps its indices.

    Raises:
      ValueError: ``scalar`` is not 0-D.
    """
    values = _values(x)
    g = graph_of([scalar, values])
    with g.as_default():
        scalar = convert_to_tensor(scalar, dtype=values.dtype.base_dtype, name="scalar")
        if scalar.shape.ndims != 0:
            raise ValueError(f"The input scalar must be a 0-D value. Received shape "
                             f"{scalar.shape}.")
        product = create_op("Mul", [scalar, values], name=name)
    if isinstance(x, IndexedSlices):
        return IndexedSlices(product, x.indices, x.dense_shape)
    return product


def _arg(op_type, input, dimension, output_type, name):  # noqa: A002
    with graph_of([input, dimension]).as_default():
        return create_op(op_type, [input, dimension], {"output_type": as_dtype(output_type)},
                         name=name)


def arg_max(input, dimension, output_type="int64", name=None):  # noqa: A002
    """TF1's ``tf.arg_max``: the raw ``ArgMax`` op (no default axis)."""
    return _arg("ArgMax", input, dimension, output_type, name)


def arg_min(input, dimension, output_type="int64", name=None):  # noqa: A002
    """TF1's ``tf.arg_min``: the raw ``ArgMin`` op (no default axis)."""
    return _arg("ArgMin", input, dimension, output_type, name)


def to_bfloat16(x, name="ToBFloat16"):
    """TF1 ``tf.to_bfloat16``: ``cast(x, bfloat16)``."""
    return cast(x, "bfloat16", name=name)


def to_complex64(x, name="ToComplex64"):
    """TF1 ``tf.to_complex64``: ``cast(x, complex64)``."""
    return cast(x, "complex64", name=name)


def to_complex128(x, name="ToComplex128"):
    """TF1 ``tf.to_complex128``: ``cast(x, complex128)``."""
    return cast(x, "complex128", name=name)
