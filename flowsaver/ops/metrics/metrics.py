"""``tf.metrics`` (TensorFlow 1.x's streaming metrics): each returns ``(value, update_op)``.

A metric keeps its running totals in local variables (``LOCAL_VARIABLES`` and
``METRIC_VARIABLES``, initialized by ``tf.local_variables_initializer()``); running
``update_op`` adds a batch to them and returns the updated metric, ``value`` reads it.
Node names and layout are TensorFlow's.
"""
from __future__ import annotations

from flowsaver.graph.graph import GraphKeys, get_default_graph
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.control_flow import api as control_flow_ops
from flowsaver.ops.losses.losses import _squeezable
from flowsaver.ops.losses.weights import broadcast_weights
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.math.special import div_no_nan
from flowsaver.ops.op_builder import convert_to_tensor
from flowsaver.ops.scope_api import name_scope
from flowsaver.ops.state import api as state_ops
from flowsaver.ops.state.variable_scope import variable_scope
from flowsaver.ops.state.variables import Variable

__all__ = ["accuracy", "false_negatives", "false_positives", "mean", "mean_squared_error",
           "metric_variable", "precision", "recall", "true_negatives", "true_positives"]


def metric_variable(shape, dtype, validate_shape=True, name=None):
    """A zero-initialized local variable holding a metric's running total."""
    return Variable(lambda: array_ops.zeros(shape, dtype), trainable=False,
                    collections=[GraphKeys.LOCAL_VARIABLES, GraphKeys.METRIC_VARIABLES],
                    validate_shape=validate_shape, name=name, dtype=dtype)


def _add_to(collections, value) -> None:
    if collections:
        get_default_graph().add_to_collections(collections, value)


def _remove_squeezable_dimensions(predictions, labels, weights):
    """Predictions, labels and weights brought to matching ranks (static ranks only)."""
    predictions = convert_to_tensor(predictions)
    if labels is not None:
        labels, predictions = _squeezable(labels, predictions, 0)
        if not predictions.shape.is_compatible_with(labels.shape):
            raise ValueError(f"Shapes {predictions.shape} and {labels.shape} are "
                             f"incompatible")
    if weights is None:
        return predictions, labels, None
    weights = convert_to_tensor(weights)
    w_rank, p_rank = weights.shape.ndims, predictions.shape.ndims
    if w_rank == 0:
        return predictions, labels, weights
    if p_rank is None or w_rank is None:
        raise NotImplementedError("metric weights or predictions of unknown rank are "
                                  "matched in a tf.cond by TensorFlow; flowsaver needs "
                                  "static ranks here")
    if w_rank - p_rank == 1:
        weights = array_ops.squeeze(weights, [-1])
    elif p_rank - w_rank == 1:
        weights = array_ops.expand_dims(weights, [-1])
    return predictions, labels, weights


def mean(values, weights=None, metrics_collections=None, updates_collections=None,
         name=None):
    """The (weighted) mean of every value seen so far."""
    with variable_scope(name, "mean", (values, weights)):
        values = math_ops.cast(values, "float32")
        total = metric_variable([], "float32", name="total")
        count = metric_variable([], "float32", name="count")
        if weights is None:
            num_values = math_ops.cast(array_ops.size(values), "float32")
        else:
            values, _, weights = _remove_squeezable_dimensions(values, None, weights)
            weights = broadcast_weights(math_ops.cast(weights, "float32"), values)
            values = math_ops.multiply(values, weights)
            num_values = math_ops.reduce_sum(weights)
        update_total = state_ops.assign_add(total, math_ops.reduce_sum(values))
        with get_default_graph().control_dependencies([values]):
            update_count = state_ops.assign_add(count, num_values)
        value = div_no_nan(total, math_ops.maximum(count, 0), name="value")
        _add_to(metrics_collections, value)
        update_op = div_no_nan(update_total, math_ops.maximum(update_count, 0),
                               name="update_op")
        _add_to(updates_collections, update_op)
        return value, update_op


def accuracy(labels, predictions, weights=None, metrics_collections=None,
             updates_collections=None, name=None):
    """How often ``predictions`` equals ``labels``."""
    predictions, labels, weights = _remove_squeezable_dimensions(predictions, labels, weights)
    if labels.dtype.base_dtype != predictions.dtype.base_dtype:
        predictions = math_ops.cast(predictions, labels.dtype.base_dtype)
    is_correct = math_ops.cast(math_ops.equal(predictions, labels), "float32")
    return mean(is_correct, weights, metrics_collections, updates_collections,
                name or "accuracy")


def mean_squared_error(labels, predictions, weights=None, metrics_collections=None,
                       updates_collections=None, name=None):
    """The mean of (labels - predictions) ** 2 over everything seen so far."""
    predictions, labels, weights = _remove_squeezable_dimensions(predictions, labels, weights)
    squared_error = math_ops.squared_difference(labels, predictions)
    return mean(squared_error, weights, metrics_collections, updates_collections,
                name or "mean_squared_error")


def _count_condition(values, weights, metrics_collections, updates_collections):
    with name_scope(None, "assert_type", [values]):
        if values.dtype.base_dtype.name != "bool":
            raise TypeError(f"{values.name} must be of type bool; got "
                            f"{values.dtype.base_dtype.name}")
        control_flow_ops.no_op(name="statically_determined_correct_type")
    count = metric_variable([], "float32", name="count")
    values = math_ops.cast(values, "float32")
    if weights is not None:
        if weights.shape.ndims not in (0, values.shape.ndims):
            raise ValueError(f"weights of rank {weights.shape.ndims} for values of rank "
                             f"{values.shape.ndims}")
        raise NotImplementedError("weighted true/false positive counts check the weights' "
                                  "rank with an Assert in TensorFlow, which flowsaver does "
                                  "not build yet")
    value = array_ops.identity(count)
    _add_to(metrics_collections, value)
    update_op = state_ops.assign_add(count, math_ops.reduce_sum(values))
    _add_to(updates_collections, update_op)
    return value, update_op


def _condition_count(default_name, label_is, prediction_is):
    def metric(labels, predictions, weights=None, metrics_collections=None,
               updates_collections=None, name=None):
        with variable_scope(name, default_name, (predictions, labels, weights)):
            predictions, labels, weights = _remove_squeezable_dimensions(
                math_ops.cast(predictions, "bool"), math_ops.cast(labels, "bool"), weights)
            condition = math_ops.logical_and(math_ops.equal(labels, label_is),
                                             math_ops.equal(predictions, prediction_is))
            return _count_condition(condition, weights, metrics_collections,
                                    updates_collections)
    metric.__name__ = default_name
    metric.__doc__ = f"The number of {default_name.replace('_', ' ')} seen so far."
    return metric


true_positives = _condition_count("true_positives", True, True)
false_positives = _condition_count("false_positives", False, True)
false_negatives = _condition_count("false_negatives", True, False)
true_negatives = _condition_count("true_negatives", False, False)


def _ratio(default_name, other):
    """precision = tp / (tp + fp), recall = tp / (tp + fn), 0 while nothing was counted."""
    def metric(labels, predictions, weights=None, metrics_collections=None,
               updates_collections=None, name=None):
        with variable_scope(name, default_name, (predictions, labels, weights)):
            predictions, labels, weights = _remove_squeezable_dimensions(
                math_ops.cast(predictions, "bool"), math_ops.cast(labels, "bool"), weights)
            tp, tp_update = true_positives(labels, predictions, weights)
            rest, rest_update = other(labels, predictions, weights)

            def compute(a, b, name):
                return array_ops.where(math_ops.greater(a + b, 0),
                                       math_ops.divide(a, a + b), 0, name)
            value = compute(tp, rest, "value")
            _add_to(metrics_collections, value)
            update_op = compute(tp_update, rest_update, "update_op")
            _add_to(updates_collections, update_op)
            return value, update_op
    metric.__name__ = default_name
    return metric


precision = _ratio("precision", false_positives)
precision.__doc__ = "The fraction of predicted positives that are positive."
recall = _ratio("recall", false_negatives)
recall.__doc__ = "The fraction of positives that were predicted positive."
