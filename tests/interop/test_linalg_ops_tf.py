"""Batched matmul (``BatchMatMulV2``), ``einsum`` and ``tensordot`` against real TensorFlow:
same GraphDef node for node, same static shapes and outputs, and for rows marked so the
same gradient graph and gradient values."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from rows import arr, check_build_error, check_row, check_run_error, row

F32, F64, I32, I64 = np.float32, np.float64, np.int32, np.int64
A234, A243, A45, A245 = arr(2, 3, 4), arr(2, 4, 3), arr(4, 5), arr(2, 4, 5)
A4D = arr(2, 2, 3, 4)

ROWS = [
    # tf.matmul of rank > 2: BatchMatMulV2, broadcasting, adjoints and transposes
    row("matmul-3d-2d", lambda api, x, w: [x @ w, api.matmul(x, w, name="mm")], [A234, A45],
        grad=True),
    row("matmul-3d-3d", lambda api, x, y: api.matmul(x, y), [A234, A245]),
    row("matmul-2d-3d", lambda api, x, y: api.matmul(x, y), [arr(3, 4), A245], grad=True),
    row("matmul-4d-broadcast", lambda api, x, y: api.matmul(x, y), [A4D, arr(2, 1, 4, 5)],
        grad=True),
    row("matmul-4d-attention", lambda api, q, k: api.matmul(q, k, transpose_b=True),
        [A4D, arr(2, 2, 3, 4)], grad=True),
    row("matmul-transpose-a", lambda api, x, y: api.matmul(x, y, transpose_a=True),
        [A243, A245], grad=True),
    row("matmul-adjoints", lambda api, x, y: [api.matmul(x, y, adjoint_a=True, adjoint_b=True),
                                              api.matmul(x, y, adjoint_a=True, transpose_b=True)],
        [A243, arr(2, 5, 4)], grad=True),
    row("matmul-grad-flags", lambda api, x, y: api.matmul(x, y, grad_a=True, grad_b=True),
        [A234, A245]),
    row("matmul-unknown-rank", lambda api, x, y: [api.matmul(x, y), api.matmul(y, x)],
        [arr(3, 4), arr(4, 3)], [[3, 4], None], grad=True),
    row("matmul-partial-batch", lambda api, x, y: api.matmul(x, y), [A234, A245],
        [[None, 3, 4], [None, 4, 5]], grad=True),
    row("matmul-batch-one-side-unknown", lambda api, x, y: api.matmul(x, y), [A234, A45],
        [[None, 3, 4], [4, 5]], grad=True),
    row("matmul-int", lambda api, x, y: api.matmul(x, y),
        [np.arange(24).reshape(2, 3, 4).astype(I32), np.ones((4, 2), I32)]),
    row("matmul-f64", lambda api, x, y: x @ y, [A234.astype(F64), A45.astype(F64)]),
    row("matmul-2d-still-matmul", lambda api, x, y: api.matmul(x, y, adjoint_b=True),
        [arr(3, 4), arr(5, 4)], grad=True),
    row("matmul-variable-3d", lambda api, x: x @ api.constant(np.ones((4, 2), F32)), [A234]),
    # einsum: one Einsum op holding the resolved equation
    row("einsum-matmul", lambda api, x, w: api.einsum("bij,jk->bik", x, w), [A234, A45],
        grad=True),
    row("einsum-batched", lambda api, x, y: api.einsum("bij,bjk->bik", x, y, name="e"),
        [A234, A245], grad=True),
    row("einsum-implicit", lambda api, x, w: api.einsum("bij,jk", x, w), [A234, A45]),
    row("einsum-spaces", lambda api, x, y: api.einsum("ij, jk -> ik", x, y),
        [arr(3, 4), A45]),
    row("einsum-ellipsis", lambda api, x, w: api.einsum("...ij,jk->...ik", x, w), [A4D, A45],
        grad=True),
    row("einsum-ellipsis-implicit", lambda api, x, w: api.einsum("...ij,jk", x, w), [A234, A45]),
    row("einsum-ellipsis-broadcast", lambda api, x, y: api.einsum("...ij,...jk->...ik", x, y),
        [A4D, arr(2, 1, 4, 5)], grad=True),
    row("einsum-transpose", lambda api, x: api.einsum("ijk->kji", x), [A234], grad=True),
    row("einsum-reduce-one", lambda api, x: api.einsum("ijk->ik", x), [A234], grad=True),
    row("einsum-reduce-unordered", lambda api, x: api.einsum("ijk->ki", x), [A234], grad=True),
    row("einsum-trace", lambda api, x: [api.einsum("ii", x), api.einsum("ii->i", x)],
        [arr(3, 3)], grad=True),
    row("einsum-outer", lambda api, x, y: api.einsum("i,j->ij", x, y), [arr(3), arr(4)]),
    row("einsum-dot", lambda api, x, y: api.einsum("i,i->", x, y), [arr(3), arr(3)]),
    row("einsum-contract-with-reduction", lambda api, x, y: api.einsum("bij,bkj->bk", x, y),
        [A234, arr(2, 5, 4)], grad=True),
    row("einsum-attention", lambda api, q, k: api.einsum("bhqd,bhkd->bhqk", q, k),
        [A4D, arr(2, 2, 5, 4)], grad=True),
    row("einsum-partial-shapes", lambda api, x, w: api.einsum("bij,jk->bik", x, w),
        [A234, A45], [[None, 3, 4], [4, None]], grad=True),
    row("einsum-unknown-ranks", lambda api, x, w: [api.einsum("ij,jk->ik", x, w),
                                                   api.einsum("...j,jk->...k", x, w),
                                                   api.einsum("ab...,b->...", x, x[0])],
        [arr(3, 4), A45], [None, [4, 5]]),
    row("einsum-int", lambda api, x, y: api.einsum("ij,jk->ik", x, y),
        [np.arange(6).reshape(2, 3).astype(I64), np.ones((3, 2), I64)]),
    # tensordot
    row("tensordot-int-axes", lambda api, x, w: [api.tensordot(x, w, 1),
                                                 api.tensordot(x, w, [[2], [0]])],
        [A234, A45], grad=True),
    row("tensordot-two-axes", lambda api, x, y: api.tensordot(x, y, [[1, 2], [0, 1]]),
        [A234, arr(3, 4, 5)], grad=True),
    row("tensordot-transposed", lambda api, x, y: api.tensordot(x, y, [[0], [1]], name="td"),
        [A234, arr(5, 2)], grad=True),
    row("tensordot-negative-axes", lambda api, x, y: api.tensordot(x, y, [[-1], [0]]),
        [A234, A45]),
    row("tensordot-zero-axes", lambda api, x, y: api.tensordot(x, y, 0), [arr(2), arr(3)],
        grad=True),
    row("tensordot-pair-of-ints", lambda api, x, y: api.tensordot(x, y, (2, 0)), [A234, A45]),
    row("tensordot-partial", lambda api, x, w: api.tensordot(x, w, 1), [A234, A45],
        [[None, 3, 4], [4, 5]], grad=True),
    row("tensordot-unknown-rank", lambda api, x, w: api.tensordot(x, w, [[2], [0]]),
        [A234, A45], [None, [4, 5]], grad=True),
    row("tensordot-unknown-rank-int", lambda api, x, w: api.tensordot(x, w, 1),
        [A234, A45], [None, [4, 5]]),
    row("tensordot-axes-tensor", lambda api, x, w: api.tensordot(x, w, api.constant([[2], [0]])),
        [A234, A45]),
]


@pytest.mark.parametrize("fn,inputs,shapes,grad,rtol", ROWS)
def test_op_matches_tensorflow(tf, fn, inputs, shapes, grad, rtol):
    check_row(tf, fn, inputs, shapes, grad, rtol)


def _ph(api, shape, dtype=F32):
    return api.placeholder(dtype, shape)


BUILD_ERRORS = [
    ("matmul-inner", lambda api: api.matmul(_ph(api, [2, 3, 4]), _ph(api, [5, 6])), ValueError),
    ("matmul-batch", lambda api: api.matmul(_ph(api, [2, 3, 4]), _ph(api, [3, 4, 6])),
     ValueError),
    ("matmul-rank-1", lambda api: api.matmul(_ph(api, [2, 3, 4]), _ph(api, [4])), ValueError),
    ("matmul-transpose-and-adjoint", lambda api: api.matmul(
        _ph(api, [2, 3, 4]), _ph(api, [4, 6]), transpose_a=True, adjoint_a=True), ValueError),
    ("matmul-bool", lambda api: api.matmul(_ph(api, [2, 2, 2], "bool"),
                                           _ph(api, [2, 2], "bool")), TypeError),
    ("einsum-format", lambda api: api.einsum("ij;jk", _ph(api, [2, 3]), _ph(api, [3, 4])),
     ValueError),
    ("einsum-count", lambda api: api.einsum("ij,jk->ik", _ph(api, [2, 3])), ValueError),
    ("einsum-output-repeated", lambda api: api.einsum("ij->ii", _ph(api, [2, 3])), ValueError),
    ("einsum-output-unknown-label", lambda api: api.einsum("ij->k", _ph(api, [2, 3])),
     ValueError),
    ("einsum-dims", lambda api: api.einsum("ij,jk->ik", _ph(api, [3, 2]), _ph(api, [3, 2])),
     ValueError),
    ("einsum-no-size-one-broadcast", lambda api: api.einsum("ij,jk->ik", _ph(api, [1, 2]),
                                                            _ph(api, [1, 2])), ValueError),
    ("einsum-diagonal", lambda api: api.einsum("ii->i", _ph(api, [3, 2])), ValueError),
    ("einsum-rank", lambda api: api.einsum("ij,jk->ik", _ph(api, [3, 2, 1]), _ph(api, [2, 2])),
     ValueError),
    ("einsum-rank-ellipsis", lambda api: api.einsum("...ijk,jk->...i", _ph(api, [3, 2]),
                                                    _ph(api, [3, 2])), ValueError),
    ("einsum-batch", lambda api: api.einsum("...ij,...jk->...ik", _ph(api, [2, 3, 2]),
                                            _ph(api, [3, 2, 1])), ValueError),
    ("tensordot-negative", lambda api: api.tensordot(_ph(api, [2, 3]), _ph(api, [3]), -1),
     ValueError),
    ("tensordot-too-many", lambda api: api.tensordot(_ph(api, [2, 3]), _ph(api, [3]), 3),
     ValueError),
    ("tensordot-lengths", lambda api: api.tensordot(_ph(api, [2, 3]), _ph(api, [3]),
                                                    [[0, 1], [0]]), ValueError),
    ("tensordot-axes-form", lambda api: api.tensordot(_ph(api, [2, 3]), _ph(api, [3]),
                                                      [[1], [0], [0]]), ValueError),
]


@pytest.mark.parametrize("build,error", [pytest.param(b, e, id=n) for n, b, e in BUILD_ERRORS])
def test_build_errors_match_tensorflow(tf, build, error):
    check_build_error(tf, build, error)


RUN_ERRORS = [
    ("matmul-inner", lambda api, x, y: api.matmul(x, y), [A234, arr(3, 5)]),
    ("matmul-batch", lambda api, x, y: api.matmul(x, y), [A234, arr(3, 4, 5)]),
    ("matmul-unsigned", lambda api, x: api.matmul(x, x), [np.ones((2, 2, 2), np.uint8)]),
]


@pytest.mark.parametrize("fn,inputs", [pytest.param(f, i, id=n) for n, f, i in RUN_ERRORS])
def test_run_errors_match_tensorflow(tf, fn, inputs):
    if len(inputs) == 2 and inputs[1].ndim != 1:
        # shapes only known at run time: build over unknown-rank placeholders
        def fn_unknown(api, x, y, f=fn):
            return f(api, api.placeholder_with_default(x, None), y)
        check_run_error(tf, fn_unknown, inputs)
    else:
        check_run_error(tf, fn, inputs)


def test_einsum_of_three_operands_is_refused():
    with flowsaver.Graph().as_default():
        x = flowsaver.placeholder(F32, [2, 2])
        with pytest.raises(NotImplementedError, match="opt_einsum"):
            flowsaver.einsum("ij,jk,kl->il", x, x, x)
