"""The value of a ``variant`` TensorList: what TensorFlow 2's loops accumulate into, and
what a ``tf.TensorArray`` is inside functional control flow.

A ``TensorList`` holds its items (arrays, or None where nothing was set yet), the element
shape it knows (a list with None for unknown dimensions, or None for an unknown rank), its
element dtype and its maximum size (-1: none). Kernels never change a list in place:
each returns a new one (TensorFlow's lists have value semantics), sharing the item arrays.
Like TensorFlow's variant registry, a list knows its own ``zeros_like`` and ``+`` (the
``ZerosLike`` and ``AddN`` kernels use them when gradients of lists are summed).

Element shapes travel as shape tensors: a scalar ``-1`` for an unknown rank, ``-1``
entries for unknown dimensions (``partial_shape``).
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.const_eval import value_of

__all__ = ["TensorList", "partial_shape", "merge", "zeros", "static_shape", "invalid"]


class TensorList:
    """One list value: items, the element shape known so far, dtype, maximum size."""

    __slots__ = ("items", "element_shape", "dtype", "max_size")

    def __init__(self, items, element_shape, dtype, max_size: int = -1):
        self.items = items
        self.element_shape = element_shape
        self.dtype = dtype
        self.max_size = max_size

    def with_items(self, items) -> "TensorList":
        return TensorList(items, self.element_shape, self.dtype, self.max_size)

    def zeros_like(self) -> "TensorList":
        """A list of the same length: zeros where an item is set, unset where not."""
        return self.with_items([None if i is None else np.zeros_like(i) for i in self.items])

    def __add__(self, other: "TensorList") -> "TensorList":
        """Item by item; an unset item takes the other list's (TensorFlow's list add)."""
        if not isinstance(other, TensorList):
            return NotImplemented
        if self.dtype != other.dtype:
            raise errors.InvalidArgumentError(
                f"Trying to add two lists of tensors of different dtypes. One is "
                f"{np.dtype(self.dtype).name} and the other is {np.dtype(other.dtype).name}")
        if len(self.items) != len(other.items):
            raise errors.InvalidArgumentError(
                f"Trying to add two lists of tensors with different lengths. One is "
                f"{len(self.items)} and the other is {len(other.items)}")
        shape = merge(None, self.element_shape, other.element_shape)
        items = [b if a is None else a if b is None else a + b
                 for a, b in zip(self.items, other.items)]
        return TensorList(items, shape, self.dtype, self.max_size)

    def __repr__(self):
        return f"<TensorList of {len(self.items)}>"


def invalid(op, message: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(None, op, message)


def partial_shape(shape_value):
    """A shape tensor's value as a partial shape: None (unknown rank) or dims with None.

    Raises:
      ValueError: a scalar other than -1.
    """
    value = np.asarray(shape_value)
    if value.ndim == 0:
        if int(value) != -1:
            raise ValueError(f"a scalar element shape must be -1, not {int(value)}")
        return None
    return [None if d < 0 else int(d) for d in value.reshape(-1)]


def merge(op, a, b):
    """The partial shape both ``a`` and ``b`` describe; InvalidArgumentError if none."""
    if a is None:
        return b
    if b is None:
        return a
    if len(a) != len(b) or any(x is not None and y is not None and x != y
                               for x, y in zip(a, b)):
        raise invalid(op, f"Incompatible shapes during merge: {_text(a)} vs. {_text(b)}")
    return [x if x is not None else y for x, y in zip(a, b)]


def _text(shape) -> str:
    return "<unknown>" if shape is None else \
        "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def zeros(op, shape, dtype, what: str) -> np.ndarray:
    """Zeros standing for an unset item; the element shape must be fully known."""
    if shape is None or None in shape:
        raise invalid(op, f"Trying to read an uninitialized tensor but element_shape is not "
                          f"fully defined: {_text(shape)} ({what})")
    return np.zeros(shape, dtype)


def static_shape(tensor) -> TensorShape:
    """The element shape a shape tensor gives at graph time (unknown when not constant)."""
    value = value_of(tensor)
    if value is None:
        return TensorShape(None)
    try:
        return TensorShape(partial_shape(value))
    except ValueError:
        return TensorShape(None)
