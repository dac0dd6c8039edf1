"""``tf.linalg``: the matrix functions flowsaver has."""
from flowsaver.ops.array.layout import matrix_band_part as band_part  # noqa: F401
from flowsaver.ops.math.api import einsum, global_norm, matmul, tensordot  # noqa: F401

__all__ = ["band_part", "einsum", "global_norm", "matmul", "tensordot"]
