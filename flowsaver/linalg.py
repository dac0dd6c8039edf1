"""``tf.linalg``: the matrix functions flowsaver has."""
from flowsaver.ops.math.api import matmul  # noqa: F401
