"""``tf.metrics.auc``: the area under the ROC or precision-recall curve, streamed.

Predictions (which must lie in [0, 1], asserted at run time) are compared with a fixed list
of thresholds: -1e-7, then ``num_thresholds - 2`` evenly spaced inside (0, 1) (or the given
``thresholds``, sorted), then 1 + 1e-7. Four local variables of one count per threshold
(``true_positives``, ``false_negatives``, ``true_negatives``, ``false_positives``) add up
each batch, and the area is a sum over consecutive thresholds: trapezoids (or the lower
or upper step for ``minoring`` / ``majoring``; ``careful_interpolation`` of the PR curve
interpolates precision as TensorFlow does). Node names and layout are TensorFlow's.
"""
from __future__ import annotations

from flowsaver.graph.graph import get_default_graph
from flowsaver.ops.array import api as array_ops
from flowsaver.ops.logging.checks import assert_greater_equal, assert_less_equal
from flowsaver.ops.losses.weights import broadcast_weights
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.math.special import div_no_nan
from flowsaver.ops.metrics.metrics import (_add_to, _remove_squeezable_dimensions,
                                           metric_variable)
from flowsaver.ops.op_builder import constant, convert_to_tensor
from flowsaver.ops.state import api as state_ops
from flowsaver.ops.state.variable_scope import variable_scope

__all__ = ["auc"]

THRESHOLD_MARGIN = 1e-7  # the outer thresholds sit this far outside [0, 1]
RATE_EPSILON = 1e-6  # added to rates' numerators and denominators
_COUNTS = (("tp", "true_positives"), ("fn", "false_negatives"), ("tn", "true_negatives"),
           ("fp", "false_positives"))


def _confusion_at_thresholds(labels, predictions, thresholds, weights):
    """({kind: count variable}, {kind: its update}) for tp, fn, tn and fp per threshold."""
    predictions = convert_to_tensor(predictions)
    graph = get_default_graph()
    message = "predictions must be in [0, 1]"
    with graph.control_dependencies([
            assert_greater_equal(predictions, math_ops.cast(0.0, predictions.dtype),
                                 message=message),
            assert_less_equal(predictions, math_ops.cast(1.0, predictions.dtype),
                              message=message)]):
        predictions, labels, weights = _remove_squeezable_dimensions(
            math_ops.cast(predictions, "float32"), math_ops.cast(labels, "bool"), weights)
    count = len(thresholds)
    predictions_2d = array_ops.reshape(predictions, [-1, 1])
    labels_2d = array_ops.reshape(math_ops.cast(labels, "bool"), [1, -1])
    num_predictions = predictions_2d.shape.as_list()[0]
    if num_predictions is None:
        num_predictions = array_ops.shape(predictions_2d)[0]
    thresh_tiled = array_ops.tile(array_ops.expand_dims(constant(thresholds), [1]),
                                  array_ops.stack([1, num_predictions]))
    pred_is_pos = math_ops.greater(
        array_ops.tile(array_ops.transpose(predictions_2d), [count, 1]), thresh_tiled)
    pred_is_neg = math_ops.logical_not(pred_is_pos)
    label_is_pos = array_ops.tile(labels_2d, [count, 1])
    label_is_neg = math_ops.logical_not(label_is_pos)
    weights_tiled = None
    if weights is not None:
        weights = broadcast_weights(math_ops.cast(weights, "float32"), predictions)
        weights_tiled = array_ops.tile(array_ops.reshape(weights, [1, -1]), [count, 1])
        thresh_tiled.shape.assert_is_compatible_with(weights_tiled.shape)
    cases = {"tp": (label_is_pos, pred_is_pos), "fn": (label_is_pos, pred_is_neg),
             "tn": (label_is_neg, pred_is_neg), "fp": (label_is_neg, pred_is_pos)}
    values, updates = {}, {}
    for kind, name in _COUNTS:
        total = metric_variable([count], "float32", name=name)
        hits = math_ops.cast(math_ops.logical_and(*cases[kind]), "float32")
        if weights_tiled is not None:
            hits *= weights_tiled
        updates[kind] = state_ops.assign_add(total, math_ops.reduce_sum(hits, 1))
        values[kind] = total
    return values, updates


def _thresholds(num_thresholds: int, thresholds) -> list:
    if thresholds is not None:
        inner = sorted(thresholds)
    else:
        inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return [0.0 - THRESHOLD_MARGIN] + inner + [1.0 + THRESHOLD_MARGIN]


def _interpolated_pr_auc(tp, fp, fn, n: int):
    """The PR area with precision interpolated between thresholds (Davis & Goadrich)."""
    dtp = tp[:n - 1] - tp[1:]
    p = tp + fp
    prec_slope = div_no_nan(dtp, math_ops.maximum(p[:n - 1] - p[1:], 0), name="prec_slope")
    intercept = tp[1:] - math_ops.multiply(prec_slope, p[1:])
    safe_p_ratio = array_ops.where(
        math_ops.logical_and(p[:n - 1] > 0, p[1:] > 0),
        div_no_nan(p[:n - 1], math_ops.maximum(p[1:], 0), name="recall_relative_ratio"),
        array_ops.ones_like(p[1:]))
    return math_ops.reduce_sum(
        div_no_nan(prec_slope * (dtp + intercept * math_ops.log(safe_p_ratio)),
                   math_ops.maximum(tp[1:] + fn[1:], 0), name="pr_auc_increment"),
        name="interpolate_pr_auc")


def _area(counts, n: int, curve: str, summation_method: str, name: str):
    tp, fn, tn, fp = (counts[k] for k in ("tp", "fn", "tn", "fp"))
    if curve == "PR" and summation_method == "careful_interpolation":
        return _interpolated_pr_auc(tp, fp, fn, n)
    rec = math_ops.divide(tp + RATE_EPSILON, tp + fn + RATE_EPSILON)
    if curve == "ROC":
        x, y = math_ops.divide(fp, fp + tn + RATE_EPSILON), rec
    else:
        x, y = rec, math_ops.divide(tp + RATE_EPSILON, tp + fp + RATE_EPSILON)
    width = x[:n - 1] - x[1:]
    if summation_method in ("trapezoidal", "careful_interpolation"):
        return math_ops.reduce_sum(math_ops.multiply(width, (y[:n - 1] + y[1:]) / 2.),
                                   name=name)
    if summation_method == "minoring":
        return math_ops.reduce_sum(math_ops.multiply(width, math_ops.minimum(y[:n - 1], y[1:])),
                                   name=name)
    if summation_method == "majoring":
        return math_ops.reduce_sum(math_ops.multiply(width, math_ops.maximum(y[:n - 1], y[1:])),
                                   name=name)
    raise ValueError(f"Invalid summation_method: {summation_method} summation_method should "
                     f"be 'trapezoidal', 'careful_interpolation', 'minoring', or 'majoring'.")


def auc(labels, predictions, weights=None, num_thresholds=200, metrics_collections=None,
        updates_collections=None, curve="ROC", name=None, summation_method="trapezoidal",
        thresholds=None):
    """(area so far, update_op): the area under the ROC (or ``curve="PR"``) curve.

    Raises:
      ValueError: ``curve`` other than ROC or PR, or an unknown ``summation_method``.
    """
    with variable_scope(name, "auc", (labels, predictions, weights)):
        if curve not in ("ROC", "PR"):
            raise ValueError(f"Curve must be either ROC or PR. Curve {curve} is unknown.")
        cuts = _thresholds(num_thresholds, thresholds)
        n = len(cuts)
        values, updates = _confusion_at_thresholds(labels, predictions, cuts, weights)
        value = _area(values, n, curve, summation_method, "value")
        _add_to(metrics_collections, value)
        update_op = _area(updates, n, curve, summation_method, "update_op")
        _add_to(updates_collections, update_op)
        return value, update_op
