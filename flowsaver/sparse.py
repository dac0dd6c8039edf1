"""``tf.sparse``: sparse tensors and the sparse segment reductions."""
from flowsaver.ops.math.sparse_segment import (  # noqa: F401
    sparse_segment_mean as segment_mean, sparse_segment_sqrt_n as segment_sqrt_n,
    sparse_segment_sum as segment_sum)
from flowsaver.ops.sparse.api import SparseTensor, to_dense  # noqa: F401

__all__ = ["SparseTensor", "to_dense", "segment_sum", "segment_mean", "segment_sqrt_n"]
