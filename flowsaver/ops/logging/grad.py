"""Gradients of the pass-through checks: ``CheckNumerics`` checks its gradient too, and
``Print`` passes the gradient to its first input only."""
from __future__ import annotations

from flowsaver.ops.op_builder import create_op
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient


@gradient("CheckNumerics")
def _check_numerics_grad(op, grad):
    message = op.get_attr("message")
    message = message if isinstance(message, bytes) else message.encode()
    # TensorFlow formats the attr's bytes with %s, so the message reads "... b'msg'"
    return create_op("CheckNumerics", [grad], {
        "message": f"Not a number (NaN) or infinity (Inf) values detected in gradient. "
                   f"{message}"})


@gradient("Print")
def _print_grad(op, *grads):
    return list(grads) + [None] * (len(op.inputs) - 1)
