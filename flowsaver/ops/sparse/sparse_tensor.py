"""``tf.SparseTensor``: three tensors (indices, values, dense_shape) standing for one.

A session fetching a SparseTensor returns a ``SparseTensorValue`` (runtime/fetches.py),
and a SparseTensor used as a feed key takes a SparseTensorValue or a 3-tuple.
"""
from __future__ import annotations

import collections

from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.op_builder import convert_to_tensor

SparseTensorValue = collections.namedtuple("SparseTensorValue",
                                           ["indices", "values", "dense_shape"])


class SparseTensor:
    """A sparse tensor: ``indices`` [N, rank] int64, ``values`` [N], ``dense_shape`` [rank]."""

    def __init__(self, indices, values, dense_shape):
        self._indices = convert_to_tensor(indices, dtype="int64", name="indices")
        self._values = values if isinstance(values, Tensor) else \
            convert_to_tensor(values, name="values")
        self._dense_shape = convert_to_tensor(dense_shape, dtype="int64", name="dense_shape")

    @classmethod
    def from_value(cls, value) -> "SparseTensor":
        if isinstance(value, SparseTensor):
            return value
        return cls(value.indices, value.values, value.dense_shape)

    indices = property(lambda self: self._indices)
    values = property(lambda self: self._values)
    dense_shape = property(lambda self: self._dense_shape)
    dtype = property(lambda self: self._values.dtype)
    op = property(lambda self: self._values.op)
    graph = property(lambda self: self._values.graph)

    @property
    def shape(self) -> TensorShape:
        """The static dense shape: known where ``dense_shape`` is a constant."""
        from flowsaver.ops.const_eval import constant_value
        value = constant_value(self._dense_shape)
        if value is not None:
            return TensorShape([int(d) for d in value])
        rank = self._dense_shape.shape.as_list()[0] if self._dense_shape.shape.ndims else None
        return TensorShape(None if rank is None else [None] * rank)

    def get_shape(self) -> TensorShape:
        return self.shape

    def eval(self, feed_dict=None, session=None):
        from flowsaver.graph.graph import get_default_session
        session = session or get_default_session()
        return session.run(self, feed_dict)

    def components(self) -> tuple:
        return (self._indices, self._values, self._dense_shape)

    def __repr__(self) -> str:
        return (f"SparseTensor(indices={self._indices}, values={self._values}, "
                f"dense_shape={self._dense_shape})")
