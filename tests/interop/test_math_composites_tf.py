"""Cumulative and segment ops, ``linspace``, clipping and norms, ``reduce_logsumexp``,
``count_nonzero``, ``div_no_nan`` and the TF1 math names against real TensorFlow:
GraphDefs node for node, static shapes, outputs and gradients."""
from __future__ import annotations

import numpy as np
import pytest

from rows import arr, check_build_error, check_row, check_run_error, row

F32, F64, I32, I64 = np.float32, np.float64, np.int32, np.int64
X = arr(2, 3)
X3 = arr(2, 3, 4)
POS = arr(2, 3, low=0.5, high=2.0)
WITH_ZERO = np.array([[1.5, 0.0, -2.0], [0.5, 3.0, 0.0]], F32)

ROWS = [
    # cumsum / cumprod, every option
    row("cumsum", lambda api, x: [api.cumsum(x), api.cumsum(x, 1, name="c"),
                                  api.math.cumsum(x, axis=-1, exclusive=True),
                                  api.cumsum(x, 0, reverse=True),
                                  api.cumsum(x, 1, exclusive=True, reverse=True)], [X3],
        grad=True),
    row("cumsum-int", lambda api, x: api.cumsum(x, 1), [np.arange(6).reshape(2, 3).astype(I64)]),
    row("cumsum-tensor-axis", lambda api, x, a: api.cumsum(x, a), [X, np.array(1, I64)],
        grad=True),
    row("cumsum-python", lambda api: api.cumsum([1.0, 2.0, 3.0])),
    row("cumprod", lambda api, x: [api.cumprod(x), api.cumprod(x, 1, exclusive=True),
                                   api.math.cumprod(x, 1, reverse=True, name="p"),
                                   api.cumprod(x, -1, exclusive=True, reverse=True)], [POS],
        grad=True),
    row("cumprod-zeros", lambda api, x: api.cumprod(x, 1), [WITH_ZERO]),
    row("cumsum-unknown", lambda api, x: api.cumsum(x, 1), [X], [None], grad=True),
    # segment sums
    row("segment_sum", lambda api, x: api.math.segment_sum(x, [0, 0, 2]), [arr(3, 2)],
        grad=True),
    row("segment_sum-fed", lambda api, x, i: api.segment_sum(x, i, name="s"),
        [arr(4), np.array([0, 1, 1, 3], I64)], grad=True),
    row("unsorted_segment_sum", lambda api, x: api.math.unsorted_segment_sum(x, [2, 0, -1], 3),
        [arr(3, 2)], grad=True),
    row("unsorted_segment_sum-2d-ids", lambda api, x: api.unsorted_segment_sum(
        x, [[1, 0, 1], [-1, 0, 2]], 4), [arr(2, 3, 2)], grad=True),
    row("unsorted_segment_sum-fed", lambda api, x, i, n: api.unsorted_segment_sum(x, i, n),
        [arr(3), np.array([1, 1, 0], I32), np.array(2, I32)], grad=True),
    # div_no_nan
    row("div_no_nan", lambda api, x, y: [api.div_no_nan(x, y), api.math.divide_no_nan(y, x)],
        [X, WITH_ZERO], grad=True),
    row("div_no_nan-int", lambda api, x, y: api.div_no_nan(x, y),
        [np.array([3, 4, 5], I32), np.array([2, 0, -5], I32)]),
    row("div_no_nan-python", lambda api, y: [api.div_no_nan(1.0, y), api.div_no_nan(y, 2.0)],
        [WITH_ZERO]),
    # linspace
    row("linspace", lambda api: [api.linspace(0.0, 1.0, 5), api.lin_space(-2.0, 3.0, 1),
                                 api.linspace(1.0, 2.0, 0, name="l")]),
    row("linspace-tensors", lambda api, a, b, n: api.linspace(a, b, n),
        [np.array(1.0, F32), np.array(4.0, F32), np.array(7, I32)]),
    row("linspace-nd", lambda api, a, b: [api.linspace(a, b, 4), api.linspace(a, b, 3, axis=1)],
        [arr(2), arr(2)]),
    row("linspace-f64", lambda api: api.linspace(np.float64(0.5), 1.5, 3)),
    # clipping and norms
    row("clip_by_value", lambda api, x: [api.clip_by_value(x, -1.0, 1.0),
                                         api.clip_by_value(x, 0.0, 0.5, name="cv")], [X3],
        grad=True),
    row("clip_by_value-tensors", lambda api, x, lo, hi: api.clip_by_value(x, lo, hi),
        [X, arr(3, low=-1, high=0), arr(3, low=0, high=1)], grad=True),
    row("clip_by_value-int", lambda api, x: api.clip_by_value(x, 0, 3),
        [np.array([-2, 1, 5], I32)]),
    row("clip_by_norm", lambda api, x: [api.clip_by_norm(x, 1.0), api.clip_by_norm(x, 100.0),
                                        api.clip_by_norm(x, 0.5, axes=[1], name="cn")], [X3],
        grad=True),
    row("clip_by_norm-tensor", lambda api, x, c: api.clip_by_norm(x, c),
        [X, np.array(0.7, F32)], grad=True),
    row("clip_by_norm-zero", lambda api, x: api.clip_by_norm(x * 0.0, 1.0), [X], grad=True),
    row("global_norm", lambda api, x, y: [api.global_norm([x, y]),
                                          api.linalg.global_norm([x, None, y], name="gn")],
        [X, arr(4)], grad=True),
    row("clip_by_global_norm", lambda api, x, y: api.clip_by_global_norm([x, y], 1.0),
        [X, arr(4)], grad=True),
    row("clip_by_global_norm-named", lambda api, x, y: [t for t in api.clip_by_global_norm(
        [x, None, y], 50.0, name="clip")[0] if t is not None], [X, arr(4)], grad=True),
    row("clip_by_global_norm-use_norm", lambda api, x, y: api.clip_by_global_norm(
        [x, y], 0.5, use_norm=api.constant(2.0)), [X, arr(4)], grad=True),
    row("clip_by_global_norm-tensor-clip", lambda api, x, c: api.clip_by_global_norm([x], c),
        [X, np.array(0.3, F32)], grad=True),
    # reductions
    row("reduce_logsumexp", lambda api, x: [api.reduce_logsumexp(x),
                                            api.reduce_logsumexp(x, 1),
                                            api.reduce_logsumexp(x, [0, 2], keepdims=True),
                                            api.math.reduce_logsumexp(x, -1, name="lse"),
                                            api.reduce_logsumexp(x, reduction_indices=1,
                                                                 keep_dims=True)], [X3],
        grad=True),
    row("reduce_logsumexp-large", lambda api, x: api.reduce_logsumexp(x * 1000.0, 1), [X],
        grad=True),
    row("reduce_logsumexp-inf", lambda api, x: api.reduce_logsumexp(x, 1),
        [np.array([[-np.inf, -np.inf], [np.inf, 1.0]], F32)]),
    row("reduce_logsumexp-unknown", lambda api, x: [api.reduce_logsumexp(x),
                                                    api.reduce_logsumexp(x, 0)], [X], [None],
        grad=True),
    row("count_nonzero", lambda api, x: [api.count_nonzero(x), api.count_nonzero(x, 1),
                                         api.math.count_nonzero(x, keepdims=True,
                                                                dtype=api.int32, name="n"),
                                         api.count_nonzero(input=x, reduction_indices=[0])],
        [WITH_ZERO]),
    row("count_nonzero-bool-int", lambda api, b, i: [api.count_nonzero(b),
                                                     api.count_nonzero(i, axis=0)],
        [np.array([True, False, True]), np.array([[0, 3], [0, 0]], I64)]),
    # TF1 names and small wrappers
    row("arg_max-arg_min", lambda api, x: [api.arg_max(x, 1), api.arg_min(x, 0),
                                           api.arg_max(x, 0, output_type=api.int32, name="am")],
        [X]),
    row("to-casts", lambda api, x: [api.to_float(api.to_int32(x)), api.to_double(x),
                                    api.to_int64(x), api.to_bfloat16(x)], [X]),
    row("log_sigmoid", lambda api, x: [api.log_sigmoid(x), api.math.log_sigmoid(x * 50.0,
                                                                                 name="ls")],
        [X], grad=True),
    row("scalar_mul", lambda api, x: [api.scalar_mul(2.0, x), api.scalar_mul(
        api.constant(3.0), x, name="sm")], [X], grad=True),
    row("tf1-aliases", lambda api, x, y: [api.div(x, y), api.mod(x, y), api.floordiv(x, y),
                                          api.realdiv(x, y), api.squared_difference(x, y),
                                          api.negative(x), api.reciprocal(y)], [X, POS]),
]


@pytest.mark.parametrize("fn,inputs,shapes,grad,rtol", ROWS)
def test_op_matches_tensorflow(tf, fn, inputs, shapes, grad, rtol):
    check_row(tf, fn, inputs, shapes, grad, rtol)


def _ph(api, shape, dtype=F32):
    return api.placeholder(dtype, shape)


BUILD_ERRORS = [
    ("segment_sum-ids-rank", lambda api: api.segment_sum(_ph(api, [2, 3]), [[0, 1]]),
     ValueError),
    ("segment_sum-scalar", lambda api: api.segment_sum(_ph(api, []), [0]), ValueError),
    ("unsorted_segment_sum-dims", lambda api: api.unsorted_segment_sum(
        _ph(api, [2, 3]), [0, 1, 1], 4), ValueError),
    ("unsorted_segment_sum-ids-rank", lambda api: api.unsorted_segment_sum(
        _ph(api, [2, 3]), [[0, 1, 1]], 4), ValueError),
    ("unsorted_segment_sum-count", lambda api: api.unsorted_segment_sum(
        _ph(api, [2, 3]), [0, 1], [4]), ValueError),
    ("clip_by_value-broadcast", lambda api: api.clip_by_value(_ph(api, [3]), [[0.0], [1.0]],
                                                              2.0), ValueError),
    ("global_norm-not-a-list", lambda api: api.global_norm(_ph(api, [3])), TypeError),
    ("scalar_mul-vector", lambda api: api.scalar_mul([1.0, 2.0], _ph(api, [2])), ValueError),
    ("div_no_nan-dtypes", lambda api: api.div_no_nan(_ph(api, [2]), _ph(api, [2], F64)),
     TypeError),
]


@pytest.mark.parametrize("build,error", [pytest.param(b, e, id=n) for n, b, e in BUILD_ERRORS])
def test_build_errors_match_tensorflow(tf, build, error):
    check_build_error(tf, build, error)


RUN_ERRORS = [
    ("cumsum-axis", lambda api, x: api.cumsum(api.placeholder_with_default(x, None), 2)),
    ("segment_sum-unsorted", lambda api, x: api.segment_sum(
        x[0], api.placeholder_with_default([1, 0, 0], None))),
    ("segment_sum-negative", lambda api, x: api.segment_sum(
        x[0], api.placeholder_with_default([-1, 0, 0], None))),
    ("unsorted_segment_sum-range", lambda api, x: api.unsorted_segment_sum(x[0], [0, 5, 1], 3)),
    ("unsorted_segment_sum-negative-count", lambda api, x: api.unsorted_segment_sum(
        x[0], [0, 1, 1], api.placeholder_with_default(-1, []))),
]


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in RUN_ERRORS])
def test_run_errors_match_tensorflow(tf, fn):
    check_run_error(tf, fn, [X])
