"""``Assert``: fail the run when a condition is false, showing some data."""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
TABLE.define('Assert(condition: bool, data: T) -> (); T: list(type) >= 1; summarize: int = 3; '
             '!stateful')
TABLE.not_differentiable("Assert")


@TABLE.shape_fn("Assert")
def _no_outputs(op):
    return []


def _summary(value, summarize: int) -> str:
    value = np.asarray(value)
    if value.dtype.kind in "SO":
        items = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                 for v in value.reshape(-1)[:summarize]]
    else:
        items = [str(v) for v in value.reshape(-1)[:summarize]]
    more = "..." if value.size > summarize else ""
    if value.ndim == 0:
        return f"[{items[0]}]"
    return "[" + " ".join(items) + more + "]"


@TABLE.kernel("Assert")
def _assert(op, ctx):
    summarize = op.get_attr("summarize")

    def check(condition, *data):
        if not bool(np.all(condition)):
            shown = " ".join(_summary(d, summarize) for d in data)
            raise errors.InvalidArgumentError(None, op, f"assertion failed: {shown}")
    return check
