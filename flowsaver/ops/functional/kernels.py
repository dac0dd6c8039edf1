"""TensorFlow 2's functional control flow: ``While``/``StatelessWhile``, ``If``/``StatelessIf``
and ``PartitionedCall``/``StatefulPartitionedCall``, each calling functions of the graph's
library (loaded by ``function_import.py``).

A kernel plans each function it calls once, when its own plan is built, through the
session (``ctx.run_function``: compiled or interpreted like any plan, with the session's
variables), then runs it: a loop calls ``cond`` on the loop variables and, while true,
``body``; a conditional calls the branch its predicate selects; a call calls ``f``.
Gradients of these ops are more such ops calling gradient functions TensorFlow writes into
the library of a training graph, so imported training graphs run; flowsaver does not build
functional control flow itself (its own ``tf.while_loop`` and ``tf.cond`` build TF1
control flow), so it has no gradient functions for these ops.
"""
from __future__ import annotations

import numpy as np

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.functional.function_import import load_or_fail
from flowsaver.ops.registry import NO_GRADIENT_YET, NOT_FOLDABLE, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

_WHILE = ('(input: T) -> (output: T); T: list(type) >= 0; cond: func; body: func; '
          'output_shapes: list(shape) = []; parallel_iterations: int = 10')
_IF = ('(cond: Tcond, input: Tin) -> (output: Tout); Tcond: type; Tin: list(type) >= 0; '
       'Tout: list(type) >= 0; then_branch: func; else_branch: func; '
       'output_shapes: list(shape) = []')
_CALL = ('(args: Tin) -> (output: Tout); Tin: list(type) >= 0; Tout: list(type) >= 0; '
         'f: func; config: string = ""; config_proto: string = ""; executor_type: string = ""')
define('While' + _WHILE + '; !stateful', 'StatelessWhile' + _WHILE,
       'If' + _IF + '; !stateful', 'StatelessIf' + _IF,
       'PartitionedCall' + _CALL,
       'StatefulPartitionedCall' + _CALL + '; !stateful !distributed_communication')
_ALL = ("While", "StatelessWhile", "If", "StatelessIf", "PartitionedCall",
        "StatefulPartitionedCall")
TABLE.mark(NOT_FOLDABLE, *_ALL)
TABLE.mark(NO_GRADIENT_YET, *_ALL)


def _shapes(op, count: int) -> list:
    given = op.get_attr("output_shapes") if "output_shapes" in op.attr_names else []
    if len(given) == count:
        return [TensorShape(s) for s in given]
    return [TensorShape(None)] * count


@shape_fn("While", "StatelessWhile")
def _while_shape(op):
    shapes = _shapes(op, len(op.inputs))
    return [s if s.ndims is not None else t.shape for s, t in zip(shapes, op.inputs)]


@shape_fn("If", "StatelessIf")
def _if_shape(op):
    return _shapes(op, len(op.get_attr("Tout")))


@shape_fn("PartitionedCall", "StatefulPartitionedCall")
def _call_shape(op):
    return [TensorShape(None)] * len(op.get_attr("Tout"))


class FunctionRunner:
    """One function named in a func attr of ``op``, planned once: called with its
    arguments' values, returns its results' values."""

    def __init__(self, op, attr: str, ctx):
        function = load_or_fail(op, attr)
        self.name = function.name
        self._run = ctx.run_function(function.graph, function.flat_inputs,
                                     function.flat_outputs, function.targets)

    def __call__(self, values) -> list:
        return self._run(*values)


def truth(value) -> bool:
    """TensorFlow's truth of a predicate: a nonzero (non-empty string) scalar, or a
    non-empty tensor."""
    value = np.asarray(value)
    if value.ndim == 0:
        item = value.item()
        return bool(item) if not isinstance(item, bytes) else bool(len(item))
    return value.size > 0


@kernel("While", "StatelessWhile")
def _while(op, ctx):
    cond, body = FunctionRunner(op, "cond", ctx), FunctionRunner(op, "body", ctx)

    def loop(*values):
        values = list(values)
        while truth(cond(values)[0]):
            values = body(values)
        return values
    return loop


@kernel("If", "StatelessIf")
def _if(op, ctx):
    then_branch = FunctionRunner(op, "then_branch", ctx)
    else_branch = FunctionRunner(op, "else_branch", ctx)
    return lambda pred, *values: (then_branch if truth(pred) else else_branch)(values)


@kernel("PartitionedCall", "StatefulPartitionedCall")
def _call(op, ctx):
    function = FunctionRunner(op, "f", ctx)
    return lambda *values: function(values)
