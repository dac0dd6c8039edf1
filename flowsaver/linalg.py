"""``tf.linalg``: the matrix functions flowsaver has."""
from flowsaver.ops.math_ops import matmul  # noqa: F401
