"""``IndexedSlices`` (sparse gradients) and the zeros the backward walk makes.

A gather's gradient is rows plus their indices; ``to_tensor`` sums them into place.
``flowsaver.ops.families.install`` registers it as the conversion ``convert_to_tensor``
applies. Gradient functions of fused ops ask ``is_zeros`` to skip work on the zero
gradients the walk made for unused outputs (TensorFlow's ``_is_zeros_tensor``).
"""
from __future__ import annotations

import weakref

from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.array.slicing import unsorted_segment_sum
from flowsaver.ops.shapes import shape_from_tensor

_ZEROS: "weakref.WeakSet[Tensor]" = weakref.WeakSet()


class IndexedSlices:
    """A sparse gradient: rows ``indices`` of a tensor of shape ``dense_shape`` hold ``values``."""

    def __init__(self, values: Tensor, indices: Tensor, dense_shape: Tensor | None = None):
        self._values, self._indices, self._dense_shape = values, indices, dense_shape

    values = property(lambda self: self._values)
    indices = property(lambda self: self._indices)
    dense_shape = property(lambda self: self._dense_shape)
    dtype = property(lambda self: self._values.dtype)
    op = property(lambda self: self._values.op)
    graph = property(lambda self: self._values.graph)
    name = property(lambda self: self._values.name)
    device = property(lambda self: self._values.device)

    @property
    def shape(self):
        """The static shape of the dense tensor these slices stand for."""
        if self._dense_shape is None:
            return TensorShape(None)
        return shape_from_tensor(self._dense_shape)

    def __repr__(self):
        shape = "" if self._dense_shape is None else f", dense_shape={self._dense_shape}"
        return f"IndexedSlices(indices={self._indices}, values={self._values}{shape})"


def to_tensor(value: IndexedSlices, dtype=None, name=None, as_ref=False):
    """The dense tensor: the rows summed into place (``UnsortedSegmentSum``)."""
    if dtype is not None and as_dtype(dtype).base_dtype != value.dtype.base_dtype:
        raise ValueError(f"Tensor conversion requested dtype {as_dtype(dtype).name} for "
                         f"IndexedSlices with dtype {value.dtype.name}")
    if value.dense_shape is None:
        raise ValueError(f"Tensor conversion requested for IndexedSlices without "
                         f"dense_shape: {value!r}")
    with value.graph.as_default():
        return unsorted_segment_sum(value.values, value.indices, value.dense_shape[0],
                                    name=name)


def is_zeros(tensor) -> bool:
    """Whether ``tensor`` is a zero gradient the walk made for an unused output."""
    return isinstance(tensor, Tensor) and tensor in _ZEROS


def mark_zeros(tensor: Tensor) -> None:
    """Record ``tensor`` as a zero gradient made for an unused output."""
    _ZEROS.add(tensor)
