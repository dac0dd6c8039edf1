"""``tf.Assert``: an op that fails the run when ``condition`` is false."""
from __future__ import annotations

from flowsaver.ops.control_flow.cond import cond
from flowsaver.ops.control_flow.grouping import no_op
from flowsaver.ops.op_builder import convert_to_tensor, create_op, graph_of


def Assert(condition, data, summarize=None, name=None):  # noqa: N802 - TensorFlow's name
    """Check ``condition`` when the op runs; ``data`` (up to ``summarize`` entries each) goes
    into the error. Strings and int32 data assert directly, other data only in a
    ``tf.cond`` branch taken when the condition is false (as TensorFlow builds it)."""
    data = list(data)
    g = graph_of([condition] + data)
    with g.as_default(), g.name_scope(name or "Assert"):
        xs = [convert_to_tensor(x) for x in data]
        attrs = {} if summarize is None else {"summarize": summarize}
        if all(x.dtype.base_dtype.name in ("string", "int32") for x in xs):
            return create_op("Assert", [condition, data], attrs, name="Assert")
        condition = convert_to_tensor(condition, name="Condition")
        guarded = cond(condition, no_op,
                       lambda: create_op("Assert", [condition, data], attrs, name="Assert"),
                       name="AssertGuard")
        return guarded.op
