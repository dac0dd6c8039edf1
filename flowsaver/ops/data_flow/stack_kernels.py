"""Stacks: ``StackV2``, ``StackPushV2``, ``StackPopV2``, ``StackCloseV2``.

TensorFlow 1.x's gradient loops keep the forward loop's values on stacks: the forward loop
pushes a value each iteration, the gradient loop pops them in reverse. A stack lives for
one run: ``StackV2`` makes a new one each time it runs, and its handle (a resource) is the
Python ``Stack`` itself.
"""
from __future__ import annotations

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.registry import ALIASING, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'StackV2(max_size: int32) -> (handle: resource); elem_type: type; stack_name: string = ""; '
    '!stateful',
    'StackPushV2(handle: resource, elem: T) -> (output: T); T: type; swap_memory: bool = false; '
    '!stateful',
    'StackPopV2(handle: resource) -> (elem: elem_type); elem_type: type; !stateful',
    'StackCloseV2(handle: resource) -> (); !stateful',
)
# TensorFlow registers no gradient for these (only for the old Stack ops' names)
TABLE.not_differentiable("StackV2", "StackPushV2", "StackPopV2", "StackCloseV2")
TABLE.mark(ALIASING, "StackPushV2", "StackPopV2")  # they hand on the pushed array itself


class Stack:
    """One run's stack: the values pushed, last on top."""

    __slots__ = ("name", "max_size", "items")

    def __init__(self, name: str, max_size: int):
        self.name = name
        self.max_size = max_size
        self.items: list = []

    def __repr__(self):
        return f"<stack {self.name} of {len(self.items)}>"


@shape_fn("StackV2")
def _handle_shape(op):
    return [TensorShape([2])]


@shape_fn("StackPushV2")
def _push_shape(op):
    return [op.inputs[1].shape]


@shape_fn("StackPopV2")
def _pop_shape(op):
    return [TensorShape(None)]


@shape_fn("StackCloseV2")
def _close_shape(op):
    return []


@kernel("StackV2")
def _stack(op, ctx):
    name = op.get_attr("stack_name") or op.name
    return lambda max_size: Stack(name, int(max_size))


@kernel("StackPushV2")
def _push(op, ctx):
    def push(stack, elem):
        if 0 <= stack.max_size <= len(stack.items):
            raise errors.InvalidArgumentError(
                None, op, f"Stack[{stack.name}] overflowed its max_size ({stack.max_size})")
        stack.items.append(elem)
        return elem
    return push


@kernel("StackPopV2")
def _pop(op, ctx):
    def pop(stack):
        if not stack.items:
            raise errors.InvalidArgumentError(
                None, op, f"Stack[{stack.name}] is empty.")
        return stack.items.pop()
    return pop


@kernel("StackCloseV2")
def _close(op, ctx):
    def close(stack):
        stack.items.clear()
    return close
