"""``split``, ``reverse``, ``gather_nd``, ``scatter_nd``, ``broadcast_to``, ``sequence_mask``
and ``meshgrid`` against real TensorFlow: GraphDefs node for node, static shapes (TF's
shape-function quirks included), outputs, gradients, and build and run errors."""
from __future__ import annotations

import numpy as np
import pytest

from rows import arr, check_build_error, check_row, check_run_error, row

F32, F64, I32, I64 = np.float32, np.float64, np.int32, np.int64
X = arr(2, 6)
X3 = arr(2, 3, 4)
S = np.array([[b"a", b"b", b"c", b"d"], [b"e", b"f", b"g", b"h"]], dtype=object)

ROWS = [
    # tf.split: Split for a count, SplitV for sizes
    row("split-count", lambda api, x: api.split(x, 3, axis=1), [X], grad=True),
    row("split-axis0-named", lambda api, x: api.split(x, 2, name="halves"), [X], grad=True),
    row("split-negative-axis", lambda api, x: api.split(x, 2, -1), [X3], grad=True),
    row("split-sizes", lambda api, x: api.split(x, [1, 2, 3], 1), [X], grad=True),
    row("split-sizes-minus-one", lambda api, x: api.split(x, [1, -1], 1), [X], grad=True),
    row("split-sizes-int64", lambda api, x: api.split(x, np.array([2, 4], I64), axis=1), [X]),
    row("split-sizes-tensor", lambda api, x, s: api.split(x, s, 1), [X, np.array([4, 2], I32)],
        grad=True),
    row("split-one-used", lambda api, x: api.split(x, 3, 1)[1] * 2.0, [X], grad=True),
    row("split-partial", lambda api, x: [api.split(x, 3, 1), api.split(x, [1, -1], 1)], [X],
        [[None, 6]], grad=True),
    row("split-unknown-dim", lambda api, x: [api.split(x, 2, 1), api.split(x, [1, -1], 1)], [X],
        [[2, None]]),
    row("split-unknown-rank", lambda api, x: [api.split(x, 2, 1), api.split(x, [1, 5], 1)], [X],
        [None], grad=True),
    row("split-unknown-axis", lambda api, x, a: [api.split(x, 2, a), api.split(x, [5, 1], a)],
        [X, np.array(1, I32)]),
    row("split-strings", lambda api, s: api.split(s, 2, 1), [S]),
    row("split-int", lambda api, x: api.split(x, [1, 1], 0), [np.arange(6).reshape(2, 3)]),
    # reverse
    row("reverse", lambda api, x: [api.reverse(x, [1]), api.reverse_v2(x, [0, -1], name="r")],
        [X3], grad=True),
    row("reverse-none", lambda api, x: api.reverse(x, []), [X]),
    row("reverse-tensor-axis", lambda api, x, a: api.reverse(x, a), [X, np.array([0], I64)],
        grad=True),
    row("reverse-strings", lambda api, s: api.reverse(s, [1]), [S]),
    row("reverse-unknown-rank", lambda api, x: api.reverse(x, [1]), [X], [None], grad=True),
    # gather_nd / scatter_nd
    row("gather_nd-elements", lambda api, x: api.gather_nd(x, [[0, 1], [1, 5], [1, 0]]), [X],
        grad=True),
    row("gather_nd-rows", lambda api, x: api.gather_nd(x, [[1], [0], [1]]), [X], grad=True),
    row("gather_nd-slices", lambda api, x: api.gather_nd(x, [[[0, 2]], [[1, 1]]], name="g"),
        [X3], grad=True),
    row("gather_nd-fed", lambda api, x, i: api.gather_nd(x, i),
        [X3, np.array([[1, 0], [0, 2]], I64)], grad=True),
    row("gather_nd-unknown", lambda api, x, i: api.gather_nd(x, i),
        [X3, np.array([[1], [0]], I32)], [None, [None, 1]], grad=True),
    row("gather_nd-partial-indices", lambda api, x, i: api.gather_nd(x, i),
        [X3, np.array([[1, 2]], I32)], [[2, 3, 4], [None, None]], grad=True),
    row("gather_nd-strings", lambda api, s: api.gather_nd(s, [[1, 2], [0, 0]]), [S]),
    row("scatter_nd", lambda api, u: api.scatter_nd([[1], [3], [1]], u, [5, 3]), [arr(3, 3)],
        grad=True),
    row("scatter_nd-elements", lambda api, u: api.scatter_nd([[0, 1], [2, 2]], u, [3, 4],
                                                             name="s"), [arr(2)], grad=True),
    row("scatter_nd-fed-shape", lambda api, u, s: api.scatter_nd([[1], [0]], u, s),
        [arr(2, 3), np.array([4, 3], I32)], grad=True),
    row("scatter_nd-int", lambda api, u: api.scatter_nd(np.array([[2], [0]], I64), u,
                                                       np.array([3], I64)),
        [np.array([5, 7], I32)]),
    # broadcast_to
    row("broadcast_to", lambda api, x: [api.broadcast_to(x, [2, 3]),
                                        api.broadcast_to(x, [4, 2, 3], name="b")],
        [arr(1, 3)], grad=True),
    row("broadcast_to-tensor", lambda api, x, s: api.broadcast_to(x, s),
        [arr(3), np.array([2, 3], I32)], grad=True),
    row("broadcast_to-partial", lambda api, x, n: api.broadcast_to(x, api.stack([n, 3])),
        [arr(3), np.array(2, I32)], grad=True),
    # sequence_mask / meshgrid
    row("sequence_mask", lambda api, n: [api.sequence_mask(n, 4), api.sequence_mask(n),
                                         api.sequence_mask(n, 5, dtype=api.float32, name="m")],
        [np.array([1, 3, 0], I32)]),
    row("sequence_mask-python", lambda api: [api.sequence_mask([1, 2], 3, dtype=api.float32),
                                             api.sequence_mask([[1], [2]])]),
    row("sequence_mask-int64", lambda api, n, m: api.sequence_mask(n, m),
        [np.array([[2, 0], [1, 3]], I64), np.array(3, I64)]),
    row("sequence_mask-unknown", lambda api, n: api.sequence_mask(n), [np.array([2, 1], I32)],
        [None]),
    row("meshgrid", lambda api: [api.meshgrid([1, 2, 3], [4, 5]),
                                 api.meshgrid([1.0, 2.0], [3.0], indexing="ij", name="mg")]),
    row("meshgrid-tensors", lambda api, x, y, z: api.meshgrid(x, y, z), [arr(2), arr(3), arr(4)],
        grad=True),
    row("meshgrid-ij", lambda api, x, y: api.meshgrid(x, y, indexing="ij"), [arr(2), arr(3)],
        grad=True),
    row("meshgrid-one", lambda api, x: api.meshgrid(x), [arr(3)]),
    row("meshgrid-partial", lambda api, x, y: api.meshgrid(x, y), [arr(2), arr(3)],
        [[None], [3]]),
]


@pytest.mark.parametrize("fn,inputs,shapes,grad,rtol", ROWS)
def test_op_matches_tensorflow(tf, fn, inputs, shapes, grad, rtol):
    check_row(tf, fn, inputs, shapes, grad, rtol)


def _ph(api, shape, dtype=F32):
    return api.placeholder(dtype, shape)


BUILD_ERRORS = [
    ("split-uneven", lambda api: api.split(_ph(api, [2, 4]), 3, 1), ValueError),
    ("split-axis", lambda api: api.split(_ph(api, [2, 4]), 2, 2), ValueError),
    ("split-axis-negative", lambda api: api.split(_ph(api, [2, 4]), 2, -3), ValueError),
    ("split-scalar-axis-0", lambda api: api.split(_ph(api, []), 1), ValueError),
    ("splitv-sizes", lambda api: api.split(_ph(api, [2, 4]), [1, 2], 1), ValueError),
    ("splitv-two-minus-one", lambda api: api.split(_ph(api, [2, 4]), [-1, -1], 1), ValueError),
    ("splitv-negative", lambda api: api.split(_ph(api, [2, 4]), [5, -1], 1), ValueError),
    ("splitv-negative-size", lambda api: api.split(_ph(api, [2, None]), [1, -2], 1), ValueError),
    ("splitv-axis", lambda api: api.split(_ph(api, [2, 4]), [1, 3], 2), ValueError),
    ("splitv-unknown-axis-last", lambda api: api.split(_ph(api, [3, 5]), [1, 3],
                                                       _ph(api, [], I32)), ValueError),
    ("splitv-num", lambda api: api.split(_ph(api, [2, 4]), _ph(api, [None], I32), 1),
     ValueError),
    ("splitv-scalar-sizes", lambda api: api.split(_ph(api, [2, 4]), _ph(api, [], I32), 1),
     ValueError),
    ("reverse-axis", lambda api: api.reverse(_ph(api, [2, 3]), [2]), ValueError),
    ("reverse-twice", lambda api: api.reverse(_ph(api, [2, 3]), [1, -1]), ValueError),
    ("reverse-rank", lambda api: api.reverse(_ph(api, [2, 3]), [[1]]), ValueError),
    ("gather_nd-depth", lambda api: api.gather_nd(_ph(api, [2, 3]), _ph(api, [5, 3], I32)),
     ValueError),
    ("gather_nd-scalar-indices", lambda api: api.gather_nd(_ph(api, [2, 3]), _ph(api, [], I32)),
     ValueError),
    ("scatter_nd-suffix", lambda api: api.scatter_nd(_ph(api, [4, 1], I32), _ph(api, [4, 2]),
                                                     [5, 3]), ValueError),
    ("scatter_nd-prefix", lambda api: api.scatter_nd(_ph(api, [4, 1], I32), _ph(api, [3, 3]),
                                                     [5, 3]), ValueError),
    ("broadcast_to", lambda api: api.broadcast_to(_ph(api, [2, 3]), [3, 3]), ValueError),
    ("sequence_mask-maxlen", lambda api: api.sequence_mask([1, 2], [3, 4]), ValueError),
    ("meshgrid-indexing", lambda api: api.meshgrid([1, 2], indexing="xx"), ValueError),
    ("meshgrid-keyword", lambda api: api.meshgrid([1, 2], sparse=True), TypeError),
]


@pytest.mark.parametrize("build,error", [pytest.param(b, e, id=n) for n, b, e in BUILD_ERRORS])
def test_build_errors_match_tensorflow(tf, build, error):
    check_build_error(tf, build, error)


def _unknown(api, x):
    return api.placeholder_with_default(x, None)


RUN_ERRORS = [
    ("split-uneven", lambda api, x: api.split(_unknown(api, x), 4, 1)),
    ("split-axis", lambda api, x: api.split(_unknown(api, x), 2, 3)),
    ("splitv-sum", lambda api, x: api.split(_unknown(api, x), api.placeholder_with_default(
        [1, 1], [2]), 1)),
    ("splitv-minus-ones", lambda api, x: api.split(_unknown(api, x), api.placeholder_with_default(
        [1, -1, -1], [3]), 1)),
    ("reverse-axis", lambda api, x: api.reverse(_unknown(api, x), [2])),
    ("reverse-twice", lambda api, x: api.reverse(_unknown(api, x), [1, 1])),
    ("gather_nd-range", lambda api, x: api.gather_nd(_unknown(api, x), [[0, 7]])),
    ("scatter_nd-range", lambda api, x: api.scatter_nd([[5]], [1.0], [3]) + x[0, 0]),
    ("broadcast_to", lambda api, x: api.broadcast_to(_unknown(api, x), [3, 6])),
]


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in RUN_ERRORS])
def test_run_errors_match_tensorflow(tf, fn):
    check_run_error(tf, fn, [X])
