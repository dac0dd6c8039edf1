"""TensorFlow 1.x conditionals at run time: ``Switch``, ``RefSwitch``, ``Merge``, ``RefMerge``.

A ``Switch`` forwards its data to one output and leaves the other *dead* (``DEAD``):
the executor skips every op with a dead input, so the untaken branch of a ``tf.cond``
never runs. A ``Merge`` forwards whichever of its inputs is live, with its index.
"""
from __future__ import annotations

import numpy as np

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.registry import ALIASING, FORWARDS_LIVE, MAKES_DEAD, NOT_FOLDABLE, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'Switch(data: T, pred: bool) -> (output_false: T, output_true: T); T: type',
    'RefSwitch(data: Ref(T), pred: bool) -> (output_false: Ref(T), output_true: Ref(T)); T: type; !allows_uninitialized_input',
    'Merge(inputs: N * T) -> (output: T, value_index: int32); T: type; N: int >= 1',
    'RefMerge(inputs: Ref(N * T)) -> (output: Ref(T), value_index: int32); T: type; N: int >= 1',
)
# Their outputs are their inputs, which may be a variable's or a feed's array.
TABLE.mark(ALIASING, "Switch", "RefSwitch", "Merge", "RefMerge")
TABLE.mark(MAKES_DEAD, "Switch", "RefSwitch")
TABLE.mark(FORWARDS_LIVE, "Merge", "RefMerge")
TABLE.mark(NOT_FOLDABLE, "Switch", "RefSwitch", "Merge", "RefMerge")


class _Dead:
    """The value of a tensor on a branch that was not taken."""

    __slots__ = ()

    def __repr__(self):
        return "DEAD"


DEAD = _Dead()


@shape_fn("Switch", "RefSwitch")
def _switch_shape(op):
    shape = op.inputs[0].shape
    return [shape, shape]


@shape_fn("Merge", "RefMerge")
def _merge_shape(op):
    return [merged_shape([t.shape for t in op.inputs]), TensorShape([])]


def merged_shape(shapes) -> TensorShape:
    """The most specific shape every one of ``shapes`` has: equal dims kept, others unknown."""
    first = shapes[0]
    if first.ndims is None or any(s.ndims != first.ndims for s in shapes):
        return TensorShape(None)
    dims = first.as_list()
    for shape in shapes[1:]:
        dims = [d if d == e else None for d, e in zip(dims, shape.as_list())]
    return TensorShape(dims)


def _switch(op, ctx):
    def switch(data, pred):
        return (DEAD, data) if pred else (data, DEAD)
    return switch


kernel("Switch", "RefSwitch")(_switch)


def _merge(op, ctx):
    def merge(*inputs):
        for index, value in enumerate(inputs):
            if value is not DEAD:
                return value, np.int32(index)
        return DEAD, DEAD
    return merge


kernel("Merge", "RefMerge")(_merge)
