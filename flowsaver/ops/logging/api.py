"""The logging family's public functions (``tf.Assert``, ``tf.assert_*``,
``tf.check_numerics``, ``tf.Print``, ``tf.print``, ``tf.strings.format``): re-exports."""
from flowsaver.ops.logging.checks import *  # noqa: F401,F403
from flowsaver.ops.logging.checks import __all__ as _checks
from flowsaver.ops.logging.printing import Print, print_v2, string_format  # noqa: F401

__all__ = list(_checks) + ['Print']
