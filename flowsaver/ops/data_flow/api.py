"""The data-flow family's public names (``tf.TensorArray``): re-exports."""
from flowsaver.ops.data_flow.tensor_array import TensorArray  # noqa: F401
