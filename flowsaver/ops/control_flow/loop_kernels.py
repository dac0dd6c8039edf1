"""TensorFlow 1.x loop frames: ``Enter``, ``Exit``, ``NextIteration``, ``LoopCond`` (and the
``Ref`` variants) and ``ControlTrigger``.

A ``tf.while_loop`` is a cycle in the graph: ``Enter`` takes a value into the loop's frame
(named by its ``frame_name`` attr; ``is_constant`` marks a loop invariant), a ``Merge``
picks the entered value in iteration 0 and the ``NextIteration`` value after that, a
``LoopCond`` decides whether the iteration's ``Switch`` nodes send their data on into the
body or out through ``Exit``. The runtime (``flowsaver/runtime/frames.py``) reads these
roles from the traits given here and runs each loop as one structured step; each kernel
below is what the node does to its own value (it forwards it).
"""
from __future__ import annotations

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.registry import (ALIASING, ENTERS_FRAME, EXITS_FRAME, IDENTITY, LOOP_COND,
                                    NEVER_DEAD, NEXT_ITERATION, NOT_FOLDABLE,
                                    NOTHING_TO_RUN, OpTable)

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'Enter(data: T) -> (output: T); T: type; frame_name: string; is_constant: bool = false; '
    'parallel_iterations: int = 10',
    'RefEnter(data: Ref(T)) -> (output: Ref(T)); T: type; frame_name: string; '
    'is_constant: bool = false; parallel_iterations: int = 10',
    'Exit(data: T) -> (output: T); T: type',
    'RefExit(data: Ref(T)) -> (output: Ref(T)); T: type',
    'NextIteration(data: T) -> (output: T); T: type',
    'RefNextIteration(data: Ref(T)) -> (output: Ref(T)); T: type',
    'LoopCond(input: bool) -> (output: bool)',
    'ControlTrigger() -> ()',
    # a ref loop variable's Identity in the body (TensorFlow's _Identity of a ref)
    'RefIdentity(input: Ref(T)) -> (output: Ref(T)); T: type; !allows_uninitialized_input',
)
_FORWARDING = ("Enter", "RefEnter", "Exit", "RefExit", "NextIteration", "RefNextIteration",
               "RefIdentity")
TABLE.mark(ENTERS_FRAME, "Enter", "RefEnter")
TABLE.mark(EXITS_FRAME, "Exit", "RefExit")
TABLE.mark(NEXT_ITERATION, "NextIteration", "RefNextIteration")
TABLE.mark(LOOP_COND, "LoopCond")
TABLE.mark(NEVER_DEAD, "ControlTrigger")
TABLE.mark(NOTHING_TO_RUN, "ControlTrigger")
TABLE.mark(ALIASING, *_FORWARDING, "LoopCond")
TABLE.mark(NOT_FOLDABLE, *_FORWARDING, "LoopCond", "ControlTrigger")
TABLE.not_differentiable("ControlTrigger")
TABLE.mark(IDENTITY, "RefIdentity")


@shape_fn("Enter", "RefEnter")
def _enter_shape(op):
    # TensorFlow knows only an invariant's shape; a loop variable's is set by while_loop
    return [op.inputs[0].shape if op.get_attr("is_constant") else TensorShape(None)]


@shape_fn("Exit", "RefExit", "NextIteration", "RefNextIteration", "RefIdentity")
def _same_shape(op):
    return [op.inputs[0].shape]


@shape_fn("LoopCond")
def _loop_cond_shape(op):
    return [op.inputs[0].shape.merge_with(TensorShape([]))]


@shape_fn("ControlTrigger")
def _no_outputs(op):
    return []


def _forward(op, ctx):
    return lambda data: data


kernel(*_FORWARDING, "LoopCond")(_forward)


@kernel("ControlTrigger")
def _control_trigger(op, ctx):
    return lambda: None
