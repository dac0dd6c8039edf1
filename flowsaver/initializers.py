"""``tf.initializers``: initializer classes and the variable-initializer functions."""
from flowsaver.ops.state.init_ops import Constant as constant  # noqa: F401
from flowsaver.ops.state.init_ops import GlorotNormal as glorot_normal  # noqa: F401
from flowsaver.ops.state.init_ops import GlorotUniform as glorot_uniform  # noqa: F401
from flowsaver.ops.state.init_ops import Ones as ones  # noqa: F401
from flowsaver.ops.state.init_ops import he_normal, he_uniform  # noqa: F401
from flowsaver.ops.state.init_ops import lecun_normal, lecun_uniform  # noqa: F401
from flowsaver.ops.state.init_ops import RandomNormal as random_normal  # noqa: F401
from flowsaver.ops.state.init_ops import RandomUniform as random_uniform  # noqa: F401
from flowsaver.ops.state.init_ops import TruncatedNormal as truncated_normal  # noqa: F401
from flowsaver.ops.state.init_ops import VarianceScaling as variance_scaling  # noqa: F401
from flowsaver.ops.state.init_ops import Zeros as zeros  # noqa: F401
from flowsaver.ops.state.variables import global_variables_initializer as global_variables  # noqa: F401
from flowsaver.ops.state.variables import local_variables_initializer as local_variables  # noqa: F401
from flowsaver.ops.state.variables import variables_initializer as variables  # noqa: F401
