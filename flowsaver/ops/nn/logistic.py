"""``tf.nn.sigmoid_cross_entropy_with_logits``: the numerically stable logistic loss,
``max(x, 0) - x * z + log(1 + exp(-|x|))``, laid out as TensorFlow builds it."""
from __future__ import annotations

from flowsaver.ops.array import api as array_ops
from flowsaver.ops.math import api as math_ops
from flowsaver.ops.math.special import log1p
from flowsaver.ops.op_builder import convert_to_tensor, graph_of

__all__ = ["sigmoid_cross_entropy_with_logits"]


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Per-element cross entropy of sigmoid(logits) against probabilities ``labels``."""
    if _sentinel is not None:
        raise ValueError("Only call `sigmoid_cross_entropy_with_logits` with named "
                         "arguments (labels=..., logits=..., ...). Received unnamed "
                         f"argument: {_sentinel}")
    if labels is None or logits is None:
        raise ValueError("Both `labels` and `logits` must be provided. Received: "
                         f"labels={labels} and logits={logits}")
    g = graph_of([logits, labels])
    with g.as_default(), g.name_scope(name or "logistic_loss") as scope:
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, name="labels")
        if not labels.shape.is_compatible_with(logits.shape):
            raise ValueError(f"`logits` and `labels` must have the same shape, received "
                             f"({logits.shape} vs {labels.shape}).")
        zeros = array_ops.zeros_like(logits, dtype=logits.dtype)
        cond = logits >= zeros
        relu_logits = array_ops.where(cond, logits, zeros)
        neg_abs_logits = array_ops.where(cond, -logits, logits)
        return math_ops.add(relu_logits - logits * labels,
                            log1p(math_ops.exp(neg_abs_logits)), name=scope)
