"""The math family's public functions (``tf.add``, ``tf.matmul``, ``tf.reduce_sum``, ...): re-exports."""
from flowsaver.ops.math.basic import (abs, add, add_n, binary, cast, ceil, div,  # noqa: F401,A004
                                      divide, equal, exp, floor, floor_div, floordiv,
                                      floormod, greater, greater_equal, is_tensor_like, less,
                                      less_equal, log, logical_and, logical_not, logical_or,
                                      logical_xor, matmul, maximum, minimum, mod, multiply,
                                      negative, not_equal, pow, realdiv, reciprocal, rsqrt,
                                      sigmoid, sign, sqrt, square, squared_difference,
                                      subtract, tanh, to_double, to_float, to_int32, to_int64,
                                      truediv)
from flowsaver.ops.array.slicing import unsorted_segment_sum  # noqa: F401
from flowsaver.ops.math.composites import (arg_max, arg_min, clip_by_global_norm,  # noqa: F401
                                           clip_by_norm, clip_by_value, count_nonzero,
                                           global_norm, log_sigmoid, reduce_logsumexp,
                                           saturate_cast, scalar_mul, to_bfloat16, to_complex64,
                                           to_complex128)
from flowsaver.ops.math.linalg import einsum, tensordot  # noqa: F401
from flowsaver.ops.math.linspace import lin_space, linspace  # noqa: F401
from flowsaver.ops.math.scan import cumprod, cumsum, segment_sum  # noqa: F401
from flowsaver.ops.math.segment import (segment_max, segment_mean, segment_min,  # noqa: F401
                                        segment_prod, unsorted_segment_max,
                                        unsorted_segment_mean, unsorted_segment_min,
                                        unsorted_segment_prod, unsorted_segment_sqrt_n)
from flowsaver.ops.math.sparse_segment import (sparse_segment_mean,  # noqa: F401
                                               sparse_segment_sqrt_n,
                                               sparse_segment_sum)
from flowsaver.ops.math.special import (acos, acosh, asin, asinh, atan, atan2,  # noqa: F401
                                        atanh, conj, cos, cosh, div_no_nan, erf, erfc, expm1,
                                        is_finite, is_inf, is_nan, log1p, round, sin, sinh,
                                        tan)  # noqa: A004
from flowsaver.ops.math.reductions import (argmax, argmin, range, reduce_all,  # noqa: F401,A004
                                           reduce_any, reduce_max, reduce_mean, reduce_min,
                                           reduce_prod, reduce_sum)

__all__ = ['floor', 'ceil',
           'add', 'subtract', 'multiply', 'divide', 'truediv', 'realdiv', 'div', 'floordiv',
           'floor_div', 'mod', 'floormod', 'pow', 'maximum', 'minimum', 'squared_difference',
           'negative', 'abs', 'square', 'sqrt', 'rsqrt', 'exp', 'log', 'sigmoid', 'tanh', 'sign',
           'reciprocal', 'equal', 'not_equal', 'less', 'less_equal', 'greater', 'greater_equal',
           'logical_not', 'logical_and', 'logical_or', 'logical_xor', 'cast', 'to_float',
           'to_double', 'to_int32', 'to_int64', 'add_n', 'matmul',
           'reduce_sum', 'reduce_mean', 'reduce_max', 'reduce_min', 'reduce_prod', 'reduce_any',
           'reduce_all', 'argmax', 'argmin', 'range',
           'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2', 'sinh', 'cosh', 'asinh',
           'acosh', 'atanh', 'erf', 'erfc', 'log1p', 'expm1', 'is_finite', 'is_nan', 'is_inf',
           'round', 'conj', 'div_no_nan', 'einsum', 'tensordot', 'cumsum', 'cumprod',
           'segment_sum', 'unsorted_segment_sum', 'linspace', 'lin_space',
           'segment_mean', 'segment_max', 'segment_min', 'segment_prod',
           'unsorted_segment_max', 'unsorted_segment_min', 'unsorted_segment_prod',
           'unsorted_segment_mean', 'unsorted_segment_sqrt_n',
           'sparse_segment_sum', 'sparse_segment_mean', 'sparse_segment_sqrt_n',
           'clip_by_value', 'clip_by_norm', 'global_norm', 'clip_by_global_norm',
           'reduce_logsumexp', 'count_nonzero', 'log_sigmoid', 'scalar_mul', 'arg_max',
           'arg_min', 'to_bfloat16', 'to_complex64', 'to_complex128', 'saturate_cast']
