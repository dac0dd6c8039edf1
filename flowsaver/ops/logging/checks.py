"""``tf.Assert``, the ``tf.assert_*`` / ``tf.debugging.assert_*`` checks and
``tf.check_numerics``, built as TensorFlow 1.x builds them in graph mode.

``Assert`` is one ``Assert`` op when every data item is a string or int32 tensor, else an
``Assert`` inside ``tf.cond(condition, no_op, assert)`` (``AssertGuard``), so that float
data is only read when the check fails. The ``assert_*`` functions reduce an elementwise
comparison with ``reduce_all`` and assert it, with TensorFlow's messages; when both sides
are constants they check at once and raise ``InvalidArgumentError`` while building.
Rank and type checks answered by static shapes return a ``NoOp`` (or raise ``ValueError``
/ ``TypeError``).
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.const_eval import constant_value
from flowsaver.ops.control_flow.cond import cond
from flowsaver.ops.control_flow.grouping import no_op, with_dependencies
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of

__all__ = ['Assert', 'assert_equal', 'assert_none_equal', 'assert_less',
           'assert_less_equal', 'assert_greater', 'assert_greater_equal', 'assert_negative',
           'assert_positive', 'assert_non_negative', 'assert_non_positive', 'assert_near',
           'assert_rank', 'assert_rank_at_least', 'assert_integer', 'assert_type',
           'assert_scalar', 'check_numerics', 'verify_tensor_all_finite', 'is_numeric_tensor']

_PLAIN_DATA = ("string", "int32")


def _graph(*values):
    flat = []
    for v in values:
        if isinstance(v, (list, tuple)):
            flat.extend(v)
        elif v is not None:
            flat.append(v)
    return graph_of([v for v in flat if isinstance(v, (Tensor, Operation)) or
                     hasattr(v, "_as_graph_element")])


def Assert(condition, data, summarize=None, name=None):  # noqa: N802 - TensorFlow's name
    """An op that fails the run with the summarized ``data`` when ``condition`` is false."""
    data = list(data)
    g = _graph(condition, data)
    with g.as_default(), g.name_scope(name or "Assert"):
        xs = [convert_to_tensor(d) for d in data]
        attrs = {} if summarize is None else {"summarize": summarize}
        if all(x.dtype.base_dtype.name in _PLAIN_DATA for x in xs):
            return create_op("Assert", [condition, data], attrs, name="Assert")
        condition = convert_to_tensor(condition, name="Condition")

        def true_assert():
            return create_op("Assert", [condition, data], attrs, name="Assert")
        return cond(condition, no_op, true_assert, name="AssertGuard").op


def _message_prefix(message) -> str:
    return f"{message}.  " if message else ""


def _static_string(value) -> str:
    if not isinstance(value, Tensor):
        return str(value)
    known = constant_value(value)
    return str(known) if known is not None else value


def _binary_assert(sym, op_name, op_func, static_func, x, y, data, summarize, message,
                   name):
    g = _graph(x, y, data)
    with g.as_default(), g.name_scope(name or op_name):
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, name="y")
        if data is None:
            data = [f"Condition x {sym} y did not hold element-wise:",
                    f"x ({x.name}) = ", x, f"y ({y.name}) = ", y]
        if message is not None:
            data = [message] + list(data)
        condition = math_ops.reduce_all(op_func(x, y))
        x_static, y_static = constant_value(x), constant_value(y)
        if x_static is not None and y_static is not None:
            if not np.all(static_func(x_static, y_static)):
                raise errors.InvalidArgumentError(
                    None, None, "\n".join(_static_string(d) for d in data))
        return Assert(condition, data, summarize=summarize)


def assert_equal(x, y, data=None, summarize=None, message=None, name=None):
    """Assert ``x == y`` elementwise (an op; raises at once for constants)."""
    g = _graph(x, y, data)
    with g.as_default(), g.name_scope(name or "assert_equal"):
        if x is y:
            return no_op()
    return _binary_assert("==", "assert_equal", math_ops.equal, np.equal, x, y, data,
                          summarize, message, name)


def assert_none_equal(x, y, data=None, summarize=None, message=None, name=None):
    """Assert ``x != y`` elementwise."""
    return _binary_assert("!=", "assert_none_equal", math_ops.not_equal, np.not_equal, x, y,
                          data, summarize, message, name)


def assert_less(x, y, data=None, summarize=None, message=None, name=None):
    """Assert ``x < y`` elementwise."""
    return _binary_assert("<", "assert_less", math_ops.less, np.less, x, y, data,
                          summarize, message, name)


def assert_less_equal(x, y, data=None, summarize=None, message=None, name=None):
    """Assert ``x <= y`` elementwise."""
    return _binary_assert("<=", "assert_less_equal", math_ops.less_equal, np.less_equal, x,
                          y, data, summarize, message, name)


def assert_greater(x, y, data=None, summarize=None, message=None, name=None):
    """Assert ``x > y`` elementwise."""
    return _binary_assert(">", "assert_greater", math_ops.greater, np.greater, x, y, data,
                          summarize, message, name)


def assert_greater_equal(x, y, data=None, summarize=None, message=None, name=None):
    """Assert ``x >= y`` elementwise."""
    return _binary_assert(">=", "assert_greater_equal", math_ops.greater_equal,
                          np.greater_equal, x, y, data, summarize, message, name)


def _sign_assert(x, data, summarize, message, name, op_name, condition_text, check,
                 zero_first):
    message = _message_prefix(message)
    g = _graph(x, data)
    with g.as_default(), g.name_scope(name or op_name):
        x = convert_to_tensor(x, name="x")
        if data is None:
            data = [message, condition_text, f"x ({x.name}) = ", x]
        zero = convert_to_tensor(0, dtype=x.dtype.base_dtype)
        first, second = (zero, x) if zero_first else (x, zero)
        return check(first, second, data=data, summarize=summarize)


def assert_negative(x, data=None, summarize=None, message=None, name=None):
    """Assert ``x < 0`` elementwise."""
    return _sign_assert(x, data, summarize, message, name, "assert_negative",
                        "Condition x < 0 did not hold element-wise:", assert_less, False)


def assert_positive(x, data=None, summarize=None, message=None, name=None):
    """Assert ``x > 0`` elementwise."""
    return _sign_assert(x, data, summarize, message, name, "assert_positive",
                        "Condition x > 0 did not hold element-wise:", assert_less, True)


def assert_non_negative(x, data=None, summarize=None, message=None, name=None):
    """Assert ``x >= 0`` elementwise."""
    return _sign_assert(x, data, summarize, message, name, "assert_non_negative",
                        "Condition x >= 0 did not hold element-wise:", assert_less_equal,
                        True)


def assert_non_positive(x, data=None, summarize=None, message=None, name=None):
    """Assert ``x <= 0`` elementwise."""
    message = _message_prefix(message)
    g = _graph(x, data)
    with g.as_default(), g.name_scope(name or "assert_non_positive"):
        x = convert_to_tensor(x, name="x")
        if data is None:
            # TensorFlow's message runs two of its parts together; kept, to match
            data = [message, f"Condition x <= 0 did not hold element-wise:x ({x.name}) = ", x]
        zero = convert_to_tensor(0, dtype=x.dtype.base_dtype)
        return assert_less_equal(x, zero, data=data, summarize=summarize)


def assert_near(x, y, rtol=None, atol=None, data=None, summarize=None, message=None,
                name=None):
    """Assert ``|x - y| < atol + rtol * |y|`` elementwise (default tolerances 10 eps)."""
    message = _message_prefix(message)
    g = _graph(x, y, data)
    with g.as_default(), g.name_scope(name or "assert_near"):
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, name="y", dtype=x.dtype.base_dtype)
        dtype = x.dtype.base_dtype
        eps = np.finfo(dtype.as_numpy_dtype).eps
        rtol = convert_to_tensor(10 * eps if rtol is None else rtol, name="rtol", dtype=dtype)
        atol = convert_to_tensor(10 * eps if atol is None else atol, name="atol", dtype=dtype)
        if data is None:
            data = [message, f"x and y not equal to tolerance rtol = {rtol}, atol = {atol}",
                    f"x ({x.name}) = ", x, f"y ({y.name}) = ", y]
        tol = atol + rtol * math_ops.abs(y)
        diff = math_ops.abs(x - y)
        condition = math_ops.reduce_all(math_ops.less(diff, tol))
        return Assert(condition, data, summarize=summarize)


# ---- ranks and types --------------------------------------------------------------------------
class _StaticRankFailed(ValueError):
    """A rank condition decided false by static shapes."""


def _assert_rank_condition(x, rank, static_condition, dynamic_condition, data, summarize):
    assert_type(rank, "int32")
    rank_static = constant_value(rank)
    if rank_static is not None:
        if np.ndim(rank_static) != 0:
            raise ValueError("Rank must be a scalar.")
        x_rank = x.shape.ndims
        if x_rank is not None:
            if not static_condition(x_rank, int(rank_static)):
                raise _StaticRankFailed(x_rank, int(rank_static))
            return no_op(name="static_checks_determined_all_ok")
    condition = dynamic_condition(array_ops.rank(x), rank)
    if rank_static is None:
        rank_check = assert_rank(rank, 0, data=["Rank must be a scalar. Received rank: ", rank])
        condition = with_dependencies([rank_check], condition)
    return Assert(condition, data, summarize=summarize)


def _rank_assert(x, rank, data, summarize, message, name, op_name, words, static, dynamic):
    g = _graph(x, rank, data)
    with g.as_default(), g.name_scope(name or op_name):
        x = convert_to_tensor(x, name="x")
        rank = convert_to_tensor(rank, name="rank")
        message = _message_prefix(message)
        if data is None:
            data = [message, f"Tensor {x.name} must have {words}", rank, "Received shape: ",
                    array_ops.shape(x)]
        try:
            return _assert_rank_condition(x, rank, static, dynamic, data, summarize)
        except _StaticRankFailed as e:
            actual, wanted = e.args
            raise ValueError(f"{message}Tensor {x.name} must have {words} {wanted}.  "
                             f"Received rank {actual}, shape {x.shape}") from None


def assert_rank(x, rank, data=None, summarize=None, message=None, name=None):
    """Assert that ``x`` has rank ``rank`` (a NoOp, or ValueError, when static)."""
    return _rank_assert(x, rank, data, summarize, message, name, "assert_rank", "rank",
                        lambda actual, wanted: actual == wanted, math_ops.equal)


def assert_rank_at_least(x, rank, data=None, summarize=None, message=None, name=None):
    """Assert that ``x`` has rank ``rank`` or more."""
    return _rank_assert(x, rank, data, summarize, message, name, "assert_rank_at_least",
                        "rank at least", lambda actual, wanted: actual >= wanted,
                        math_ops.greater_equal)


def assert_integer(x, message=None, name=None):
    """A NoOp when ``x`` is of an integer type; TypeError otherwise."""
    g = _graph(x)
    with g.as_default(), g.name_scope(name or "assert_integer"):
        x = convert_to_tensor(x, name="x")
        if not x.dtype.base_dtype.is_integer:
            raise TypeError(f'{_message_prefix(message)}Expected "x" to be integer type.  '
                            f"Found: {x.name} of dtype <dtype: '{x.dtype.name}'>")
        return no_op("statically_determined_was_integer")


def assert_type(tensor, tf_type, message=None, name=None):
    """A NoOp when ``tensor`` has dtype ``tf_type``; TypeError otherwise."""
    tf_type = as_dtype(tf_type)
    g = _graph(tensor)
    with g.as_default(), g.name_scope(name or "assert_type"):
        tensor = convert_to_tensor(tensor, name="tensor")
        if tensor.dtype != tf_type:
            raise TypeError(f"{_message_prefix(message)}{tensor.name} must be of type "
                            f"{tf_type!r}; got {tensor.dtype!r}")
        return no_op("statically_determined_correct_type")


def assert_scalar(tensor, name=None, message=None):
    """``tensor`` itself when it is a scalar; ValueError otherwise."""
    g = _graph(tensor)
    with g.as_default(), g.name_scope(name or "assert_scalar") as scope:
        tensor = convert_to_tensor(tensor, name=scope)
        if tensor.shape.ndims != 0:
            raise ValueError(f"{_message_prefix(message)}Expected scalar shape for "
                             f"{tensor.name}, saw shape: {tensor.shape}.")
        return tensor


def is_numeric_tensor(tensor) -> bool:
    """Whether ``tensor`` is a Tensor of a numeric (not bool or string) dtype."""
    if not isinstance(tensor, Tensor):
        return False
    dtype = tensor.dtype.base_dtype
    return dtype.is_floating or dtype.is_integer or dtype.is_complex or dtype.is_quantized


# ---- numerics ---------------------------------------------------------------------------------
def check_numerics(tensor, message, name=None):
    """``tensor``, failing the run with ``message`` if it holds NaN or Inf
    (``CheckNumerics``)."""
    with graph_of([tensor]).as_default():
        return create_op("CheckNumerics", [tensor], {"message": message}, name=name)


def verify_tensor_all_finite(t=None, msg=None, name=None, x=None, message=None):
    """TF1's ``tf.verify_tensor_all_finite``: ``t`` after a ``CheckNumerics`` of it."""
    t = x if t is None else t
    msg = message if msg is None else msg
    g = graph_of([t])
    with g.as_default(), g.name_scope(name or "VerifyFinite"):
        t = convert_to_tensor(t, name="x")
        with g.colocate_with(t.op):
            verify = check_numerics(t, message=msg)
            return with_dependencies([verify], t)
