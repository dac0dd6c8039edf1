"""``tf.compat.v1`` and TensorFlow's mode switches.

flowsaver always behaves as TensorFlow 1.x in graph mode, so the calls TF1 scripts make to
get there (``tf.disable_v2_behavior()``, ``tf.disable_eager_execution()``) have nothing to
change, and ``tf.compat.v1`` is flowsaver itself.
"""
from __future__ import annotations

import sys


def __getattr__(name):
    if name == "v1":
        return sys.modules["flowsaver"]
    raise AttributeError(f"module 'flowsaver.compat' has no attribute {name!r}")


def disable_v2_behavior() -> None:
    """Nothing to do: flowsaver always behaves as TensorFlow 1.x."""


def disable_eager_execution() -> None:
    """Nothing to do: flowsaver always builds graphs."""


def disable_resource_variables() -> None:
    """``tf.Variable`` makes TF1 ref variables (``VariableV2``): the default."""
    from flowsaver.ops.state.variables import set_default_use_resource
    set_default_use_resource(False)


def enable_resource_variables() -> None:
    """``tf.Variable`` and ``tf.get_variable`` make resource variables (``VarHandleOp``)."""
    from flowsaver.ops.state.variables import set_default_use_resource
    set_default_use_resource(True)


def resource_variables_enabled() -> bool:
    from flowsaver.ops.state.variables import _DEFAULT_USE_RESOURCE
    return _DEFAULT_USE_RESOURCE[0]


def disable_control_flow_v2() -> None:
    """Nothing to do: ``tf.cond`` builds TF1's Switch/Merge nodes."""


def executing_eagerly() -> bool:
    return False


def enable_eager_execution(*args, **kwargs) -> None:
    raise NotImplementedError("flowsaver runs TensorFlow 1.x graphs in sessions; eager "
                              "execution is not available")


enable_v2_behavior = enable_eager_execution
