"""``tf.sparse``: sparse tensors."""
from flowsaver.ops.sparse.api import SparseTensor, to_dense  # noqa: F401

__all__ = ["SparseTensor", "to_dense"]
