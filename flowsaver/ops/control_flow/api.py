"""The control-flow family's public functions (``tf.cond``, ``tf.group``, ...): re-exports."""
from flowsaver.ops.control_flow.case import case  # noqa: F401
from flowsaver.ops.control_flow.cond import cond  # noqa: F401
from flowsaver.ops.control_flow.grouping import (group, no_op, tuple,  # noqa: F401,A004
                                                 with_dependencies)
