"""``tf.linalg``: the matrix functions flowsaver has."""
from flowsaver.ops.math.api import einsum, global_norm, matmul, tensordot  # noqa: F401

__all__ = ["einsum", "global_norm", "matmul", "tensordot"]
