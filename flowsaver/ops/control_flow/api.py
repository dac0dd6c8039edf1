"""The control-flow family's public functions (``tf.cond``, ``tf.while_loop``, ``tf.group``,
...): re-exports."""
from flowsaver.ops.control_flow.cond import cond  # noqa: F401
from flowsaver.ops.control_flow.grouping import (group, no_op, tuple,  # noqa: F401,A004
                                                 with_dependencies)
from flowsaver.ops.control_flow.while_loop import while_loop  # noqa: F401
from flowsaver.ops.control_flow.functional import foldl, foldr, map_fn, scan  # noqa: F401
