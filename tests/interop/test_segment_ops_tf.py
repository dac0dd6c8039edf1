"""Segment means, extremes and products (sorted and unsorted) and the unsorted mean and
sqrt-n composites against real TensorFlow: GraphDefs node for node, static shapes,
outputs, gradients, and the errors at build and at run time."""
from __future__ import annotations

import numpy as np
import pytest

from rows import arr, check_build_error, check_row, check_run_error, row

F32, F64, I32, I64 = np.float32, np.float64, np.int32, np.int64
SORTED = ["segment_mean", "segment_max", "segment_min", "segment_prod"]
UNSORTED = ["unsorted_segment_max", "unsorted_segment_min", "unsorted_segment_prod",
            "unsorted_segment_mean", "unsorted_segment_sqrt_n"]
# ties inside a segment, so that the extremes' gradients share between equal rows
TIES = np.array([[1.0, -2.0], [3.0, -2.0], [3.0, 0.5], [-1.0, 4.0], [2.0, 2.0]], F32)
# one zero in segment 0, two in segment 1 (the product gradient's three cases)
ZEROS = np.array([1.5, 0.0, 0.0, 2.0, 0.0, -0.5, 3.0], F32)
ZERO_IDS = [0, 0, 1, 1, 1, 2, 2]
NANS = np.array([[np.nan, 1.0], [1.0, np.nan], [2.0, 5.0], [np.nan, np.nan], [3.0, 4.0]], F32)


def _sorted_all(ids, **kw):
    return lambda api, x: [getattr(api.math, n)(x, ids, **kw) for n in SORTED]


def _unsorted_all(ids, count):
    return lambda api, x: [getattr(api.math, n)(x, ids, count) for n in UNSORTED]


def _extremes_and_prod(ids, count):
    return lambda api, x: [getattr(api.math, n)(x, ids, count) for n in UNSORTED[:3]]


ROWS = [
    # sorted: every op, gaps between ids (0, or 1 for the product), 1-D and N-D data
    row("sorted-1d", _sorted_all([0, 0, 2, 2, 4]), [arr(5)], grad=True),
    row("sorted-2d-ties", _sorted_all([0, 0, 0, 3, 3]), [TIES], grad=True),
    row("sorted-3d", _sorted_all([1, 1, 2]), [arr(3, 2, 2)], grad=True),
    row("sorted-f64", _sorted_all([0, 1, 1, 1]), [arr(4, 3, dtype=F64)], grad=True),
    row("sorted-int32", _sorted_all([0, 0, 2, 2, 2]),
        [np.array([[-3, 4], [-4, 5], [7, -1], [2, 8], [1, 0]], I32)]),
    row("sorted-int64-ids", lambda api, x: [api.segment_mean(x, np.array([0, 2, 2], I64)),
                                            api.segment_max(x, np.array([1, 1, 1], I64))],
        [arr(3, 2)], grad=True),
    row("sorted-product-zeros", lambda api, x: api.segment_prod(x, ZERO_IDS), [ZEROS],
        grad=True),
    row("sorted-empty", _sorted_all(np.zeros([0], I32)), [np.zeros([0, 2], F32)]),
    row("sorted-nan", lambda api, x: [api.segment_max(x, [0, 0, 1, 1, 2]),
                                      api.segment_min(x, [0, 0, 1, 1, 2])], [NANS]),
    row("sorted-inf", lambda api, x: [api.segment_max(x, [1]), api.segment_min(x, [0])],
        [np.array([-np.inf], F32)]),
    # TF1 top-level names and explicit names
    row("sorted-top-level", lambda api, x: [
        api.segment_mean(x, [0, 0, 1], name="m"), api.segment_max(x, [0, 1, 1], name="mx"),
        api.segment_min(x, [0, 0, 0]), api.segment_prod(x, [0, 1, 2], name="p")],
        [arr(3, 2)], grad=True),
    # fed ids and unknown shapes
    row("sorted-fed-ids", lambda api, x, i: [getattr(api, n)(x, i) for n in SORTED],
        [arr(6, 2), np.array([0, 0, 1, 3, 3, 3], I32)], grad=True),
    row("sorted-unknown-rank", lambda api, x, i: [getattr(api, n)(x, i) for n in SORTED],
        [arr(4, 3), np.array([0, 0, 2, 2], I64)], [None, None], grad=True),
    row("sorted-unknown-dims", lambda api, x, i: [getattr(api, n)(x, i) for n in SORTED],
        [arr(4, 3), np.array([1, 1, 1, 2], I32)], [[None, 3], [None]], grad=True),
    # unsorted: every op and composite, negative ids, empty segments, N-D ids
    row("unsorted-1d", _unsorted_all([2, 0, -1, 2, 0], 4), [arr(5)], grad=True),
    row("unsorted-2d-ties", _unsorted_all([3, 0, 3, 3, -1], 5), [TIES], grad=True),
    row("unsorted-2d-ids", _unsorted_all([[1, 0, 1], [-1, 0, 2]], 4), [arr(2, 3, 2)],
        grad=True),
    row("unsorted-ids-all-dims", _unsorted_all([[1, 0], [-1, 1]], 3), [arr(2, 2)],
        grad=True),
    row("unsorted-f64", _unsorted_all([1, 1, 0, -1], 3), [arr(4, 2, dtype=F64)], grad=True),
    row("unsorted-int32", _extremes_and_prod([1, 1, 0, -1, 3], 5),
        [np.array([4, -7, 2, 9, 1], I32)]),
    row("unsorted-int-mean", lambda api, x: api.unsorted_segment_mean(x, [1, 1, 0, 3], 4),
        [np.array([4, -7, 2, 9], I32)]),
    row("unsorted-int64", lambda api, x: [api.unsorted_segment_max(x, [0, 0], 2),
                                          api.unsorted_segment_min(x, [1, 1], 3)],
        [np.array([5, -9], I64)]),
    row("unsorted-product-zeros", lambda api, x: api.unsorted_segment_prod(
        x, [0, 0, 1, 1, 1, -1, 2], 4), [ZEROS], grad=True),
    row("unsorted-nan", _extremes_and_prod([0, 0, 1, 1, 2], 4), [NANS]),
    row("unsorted-empty", _unsorted_all(np.zeros([0], I32), 2), [np.zeros([0, 3], F32)]),
    row("unsorted-no-segments", _unsorted_all([-1, -1], 0), [arr(2, 3)]),
    row("unsorted-names", lambda api, x: [
        api.unsorted_segment_max(x, [0, 1, 0], 2, name="mx"),
        api.unsorted_segment_min(x, [0, 1, 0], 2, name="mn"),
        api.unsorted_segment_prod(x, [0, 1, 0], 2, name="p"),
        api.math.unsorted_segment_mean(x, [0, 1, 0], 2, name="mean"),
        api.unsorted_segment_sqrt_n(x, [0, 1, 0], 2, name="sq")], [arr(3, 2)], grad=True),
    row("unsorted-python-data", lambda api: [
        api.unsorted_segment_mean([[1.0, 2.0], [3.0, 4.0]], [1, 1], 2),
        api.unsorted_segment_sqrt_n([[1.0, 2.0], [3.0, 4.0]], [0, 1], 3),
        api.unsorted_segment_max([1.0, 3.0, 2.0], [0, 0, 1], 2)]),
    # fed ids and counts (int32 and int64), unknown shapes
    row("unsorted-fed", lambda api, x, i, n: [getattr(api, n_)(x, i, n) for n_ in UNSORTED],
        [arr(5, 2), np.array([1, 1, 0, -1, 3], I32), np.array(4, I32)], grad=True),
    row("unsorted-fed-int64", lambda api, x, i, n: [getattr(api.math, n_)(x, i, n)
                                                    for n_ in UNSORTED],
        [arr(2, 2, 3), np.array([[0, 2], [2, -1]], I64), np.array(3, I64)], grad=True),
    row("unsorted-unknown-rank", lambda api, x, i: [getattr(api, n)(x, i, 3) for n in UNSORTED],
        [arr(4, 2), np.array([2, 0, 2, -1], I32)], [None, None], grad=True),
    row("unsorted-unknown-dims", lambda api, x, i: [getattr(api, n)(x, i, 3) for n in UNSORTED],
        [arr(4, 2), np.array([2, 0, 2, 1], I32)], [[None, 2], [None]], grad=True),
    row("unsorted-unknown-data", lambda api, x, i: [getattr(api, n)(x, i, 3) for n in UNSORTED],
        [arr(4, 2), np.array([2, 0, 2, 1], I32)], [None, [4]], grad=True),
]


@pytest.mark.parametrize("fn,inputs,shapes,grad,rtol", ROWS)
def test_op_matches_tensorflow(tf, fn, inputs, shapes, grad, rtol):
    check_row(tf, fn, inputs, shapes, grad, rtol)


def _ph(api, shape, dtype=F32):
    return api.placeholder(dtype, shape)


BUILD_ERRORS = [
    *[(f"{n}-ids-rank", lambda api, n=n: getattr(api, n)(_ph(api, [2, 3]), [[0, 1]]),
       ValueError) for n in SORTED],
    *[(f"{n}-scalar", lambda api, n=n: getattr(api, n)(_ph(api, []), [0]), ValueError)
      for n in SORTED],
    *[(f"{n}-dims", lambda api, n=n: getattr(api.math, n)(_ph(api, [2, 3]), [0, 1, 1], 4),
       ValueError) for n in UNSORTED],
    *[(f"{n}-ids-rank", lambda api, n=n: getattr(api.math, n)(_ph(api, [2, 3]), [[0, 1, 1]],
                                                             4), ValueError)
      for n in UNSORTED],
    *[(f"{n}-count-rank", lambda api, n=n: getattr(api, n)(_ph(api, [2, 3]), [0, 1], [4]),
       ValueError) for n in UNSORTED[:3]],
    *[(f"{n}-count-negative", lambda api, n=n: getattr(api, n)(_ph(api, [2]), [0, 1], -1),
       ValueError) for n in UNSORTED[:3]],
    ("unsorted_segment_sqrt_n-int", lambda api: api.unsorted_segment_sqrt_n(
        _ph(api, [2], I32), [0, 1], 2), TypeError),
    ("segment_max-complex", lambda api: api.segment_max(_ph(api, [2], np.complex64), [0, 1]),
     TypeError),
    ("unsorted_segment_min-int16-ids", lambda api: api.unsorted_segment_min(
        _ph(api, [2]), np.array([0, 1], np.int16), 2), TypeError),
]


@pytest.mark.parametrize("build,error", [pytest.param(b, e, id=n) for n, b, e in BUILD_ERRORS])
def test_build_errors_match_tensorflow(tf, build, error):
    check_build_error(tf, build, error)


def _fed(api, value):
    return api.placeholder_with_default(value, None)


RUN_ERRORS = [
    *[(f"{n}-not-increasing", lambda api, x, n=n: getattr(api, n)(x[0], _fed(api, [1, 0, 0])))
      for n in SORTED],
    *[(f"{n}-negative", lambda api, x, n=n: getattr(api, n)(x[0], _fed(api, [-1, 0, 0])))
      for n in SORTED],
    *[(f"{n}-all-negative", lambda api, x, n=n: getattr(api, n)(x[0], _fed(api, [-3, -2, -2])))
      for n in SORTED],
    *[(f"{n}-size", lambda api, x, n=n: getattr(api, n)(x, _fed(api, [0, 0, 1])))
      for n in SORTED],
    *[(f"{n}-ids-rank", lambda api, x, n=n: getattr(api, n)(x, _fed(api, [[0, 1]])))
      for n in SORTED],
    *[(f"{n}-scalar", lambda api, x, n=n: getattr(api, n)(_fed(api, 1.0), _fed(api, [0])))
      for n in SORTED],
    *[(f"{n}-range", lambda api, x, n=n: getattr(api, n)(x[0], [0, 5, 1], 3))
      for n in UNSORTED],
    *[(f"{n}-range-2d", lambda api, x, n=n: getattr(api, n)(x, _fed(api, [[0, 1, 0],
                                                                         [2, -1, 3]]), 3))
      for n in UNSORTED],
    *[(f"{n}-prefix", lambda api, x, n=n: getattr(api, n)(x, _fed(api, [0, 1, 1]), 3))
      for n in UNSORTED[:3]],
    *[(f"{n}-count-negative", lambda api, x, n=n: getattr(api, n)(x, [0, 1], _fed(api, -1)))
      for n in UNSORTED[:3]],
    *[(f"{n}-count-vector", lambda api, x, n=n: getattr(api, n)(x, [0, 1], _fed(api, [3])))
      for n in UNSORTED[:3]],
]


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in RUN_ERRORS])
def test_run_errors_match_tensorflow(tf, fn):
    check_run_error(tf, fn, [arr(2, 3)])
