"""``tf.debugging``: assertions, numeric checks and float classification."""
from flowsaver.ops.logging.api import (Assert, assert_equal, assert_greater,  # noqa: F401
                                       assert_greater_equal, assert_integer, assert_less,
                                       assert_less_equal, assert_near, assert_negative,
                                       assert_non_negative, assert_non_positive,
                                       assert_none_equal, assert_positive, assert_rank,
                                       assert_rank_at_least, assert_scalar, assert_type,
                                       check_numerics, is_numeric_tensor)
from flowsaver.ops.logging.api import verify_tensor_all_finite as assert_all_finite  # noqa: F401
from flowsaver.ops.math.api import is_finite, is_inf, is_nan  # noqa: F401
