"""Sparse segment reductions (``tf.sparse.segment_sum``/``mean``/``sqrt_n``, the TF1
``tf.sparse_segment_*`` names, their gradient ops) and ``tf.nn.embedding_lookup_sparse``
against real TensorFlow: GraphDefs node for node, static shapes, outputs, gradients, and
the errors of the CPU kernels, message included."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, run_both
from rows import arr, check_build_error, check_row, row

F16, F32, F64, I32, I64 = np.float16, np.float32, np.float64, np.int32, np.int64

DATA = arr(6, 3)
IDX = np.array([0, 2, 2, 5, 1, 3], I32)
SEG = np.array([0, 0, 1, 3, 3, 3], I32)          # segment 2 is empty
# ids of a 4 x 3 SparseTensor whose row 1 is empty, and weights at the same places
SP_INDICES = np.array([[0, 0], [0, 1], [2, 0], [3, 0], [3, 1], [3, 2]], I64)
SP_IDS = np.array([1, 3, 5, 3, 9, 1], I64)
SP_SHAPE = np.array([4, 3], I64)
SP_WEIGHTS = arr(6, low=0.5, high=2.0)
TABLE = arr(10, 3)


def _reductions(api):
    return [api.sparse.segment_sum, api.sparse.segment_mean, api.sparse.segment_sqrt_n]


def _all_three(api, *args, **kwargs):
    return [f(*args, **kwargs) for f in _reductions(api)]


def _sp(api, indices, values, shape):
    return api.SparseTensor(indices, values, shape)


def _lookup(combiner, weighted=False, **kwargs):
    def build(api, params, indices, ids, shape, *weights):
        sp_weights = _sp(api, indices, weights[0], shape) if weighted else None
        return api.nn.embedding_lookup_sparse(params, _sp(api, indices, ids, shape), sp_weights,
                                              combiner=combiner, **kwargs)
    return build


def _partitioned_lookup(combiner, strategy, weighted=False):
    def build(api, p0, p1, p2, indices, ids, shape, *weights):
        sp_weights = _sp(api, indices, weights[0], shape) if weighted else None
        return api.nn.embedding_lookup_sparse([p0, p1, p2], _sp(api, indices, ids, shape),
                                              sp_weights, combiner=combiner,
                                              partition_strategy=strategy)
    return build


SPARSE = [SP_INDICES, SP_IDS, SP_SHAPE]
PARTS = [TABLE[:4], TABLE[4:7], TABLE[7:]]       # 4 + 3 + 3 rows: uneven "div" partitions
MOD_PARTS = [TABLE[0::3], TABLE[1::3], TABLE[2::3]]

ROWS = [
    # the three reductions, constant and fed ids, both index dtypes
    row("sparse-segment", lambda api, x: _all_three(api, x, [0, 2, 2, 5], [0, 0, 1, 3]),
        [DATA], grad=True),
    row("sparse-segment-fed", lambda api, x, i, s: _all_three(api, x, i, s), [DATA, IDX, SEG],
        grad=True),
    row("sparse-segment-int64", lambda api, x, i, s: _all_three(api, x, i, s),
        [DATA, IDX.astype(I64), SEG.astype(I64)], grad=True),
    row("sparse-segment-mixed-dtypes", lambda api, x, i, s: _all_three(api, x, i, s),
        [DATA, IDX.astype(I64), SEG], grad=True),
    row("sparse-segment-f64", lambda api, x, i, s: _all_three(api, x, i, s),
        [DATA.astype(F64), IDX, SEG.astype(I64)], grad=True),
    row("sparse-segment-f16", lambda api, x, i, s: _all_three(api, x, i, s),
        [DATA.astype(F16), IDX, SEG], rtol=2e-3),
    row("sparse-segment-3d", lambda api, x, i, s: _all_three(api, x, i, s),
        [arr(4, 2, 3), np.array([3, 0, 3], I32), np.array([1, 1, 2], I32)], grad=True),
    row("sparse-segment-unknown", lambda api, x, i, s: _all_three(api, x, i, s),
        [DATA, IDX, SEG], [None, None, None], grad=True),
    row("sparse-segment-partly-known", lambda api, x, i, s: _all_three(api, x, i, s),
        [DATA, IDX, SEG], [[None, 3], [None], [6]], grad=True),
    row("sparse-segment-empty", lambda api, x, i, s: _all_three(api, x, i, s),
        [DATA, np.zeros(0, I32), np.zeros(0, I32)]),
    row("sparse-segment-int", lambda api, x, i, s: api.sparse_segment_sum(x, i, s),
        [np.arange(12, dtype=I32).reshape(6, 2), IDX, SEG]),
    row("sparse-segment-names", lambda api, x: [
        api.sparse_segment_sum(x, [1], [0], name="s"),
        api.sparse_segment_mean(x, [1, 2], [0, 1], name="m"),
        api.sparse_segment_sqrt_n(x, [1], [0], name="q", num_segments=2),
        api.sparse.segment_sum(x, [1], [0], "s2", 3)], [DATA], grad=True),
    # with a segment count: trailing empty segments, a fed count, an int64 count
    row("sparse-segment-num-segments", lambda api, x, i, s: _all_three(api, x, i, s,
                                                                       num_segments=6),
        [DATA, IDX, SEG], grad=True),
    row("sparse-segment-num-segments-fed", lambda api, x, i, s, n: _all_three(
        api, x, i, s, num_segments=n), [DATA, IDX, SEG, np.array(5, I64)], grad=True),
    row("sparse-segment-num-segments-unknown", lambda api, x, i, s, n: _all_three(
        api, x, i, s, num_segments=n), [DATA, IDX, SEG, np.array(4, I32)],
        [None, None, None, None], grad=True),
    row("sparse-segment-num-segments-empty", lambda api, x, i, s: _all_three(
        api, x, i, s, num_segments=3), [DATA, np.zeros(0, I64), np.zeros(0, I32)]),
    # the sparse gradient (IndexedSlices from the V2 gradient ops), densified
    row("sparse-segment-sparse-gradient", lambda api, x, i, s: _all_three(
        api, x, i, s, sparse_gradient=True), [DATA, IDX, SEG], grad=True),
    row("sparse-segment-sparse-gradient-num-segments", lambda api, x, i, s: _all_three(
        api, x, i, s, num_segments=5, sparse_gradient=True),
        [DATA.astype(F64), IDX.astype(I64), SEG], grad=True),
    row("sparse-segment-sparse-gradient-unknown", lambda api, x, i, s: _all_three(
        api, x, i, s, sparse_gradient=True), [DATA, IDX, SEG], [None, None, None], grad=True),
    # the gradient ops on their own
    row("sparse-segment-grad-ops", lambda api, g, i, s: [
        api.raw_ops.SparseSegmentSumGrad(grad=g, indices=i, segment_ids=s, output_dim0=7),
        api.raw_ops.SparseSegmentMeanGrad(grad=g, indices=i, segment_ids=s, output_dim0=6),
        api.raw_ops.SparseSegmentSqrtNGrad(grad=g, indices=i, segment_ids=s, output_dim0=6)],
        [arr(4, 3), IDX, SEG]),
    row("sparse-segment-grad-v2-ops", lambda api, g, i, s, n: [
        list(api.raw_ops.SparseSegmentSumGradV2(grad=g, indices=i, segment_ids=s,
                                                dense_output_dim0=n)),
        list(api.raw_ops.SparseSegmentMeanGradV2(grad=g, indices=i, segment_ids=s,
                                                 dense_output_dim0=n)),
        list(api.raw_ops.SparseSegmentSqrtNGradV2(grad=g, indices=i, segment_ids=s,
                                                  dense_output_dim0=n))],
        [arr(4, 3, dtype=F64), IDX.astype(I64), np.array([3, 3, 0, 1, 2, 2], I32),
         np.array(6, I32)]),
    row("sparse-segment-grad-ops-unsorted", lambda api, g, i, s: api.raw_ops.
        SparseSegmentMeanGrad(grad=g, indices=i, segment_ids=s, output_dim0=6),
        [arr(4, 3), IDX, np.array([2, 0, 3, 0, 1, 3], I32)]),
    # embedding_lookup_sparse: one table, each combiner, without and with weights
    *[row(f"embedding_lookup_sparse-{c}", _lookup(c), [TABLE, *SPARSE], grad=True)
      for c in ("mean", "sqrtn", "sum")],
    *[row(f"embedding_lookup_sparse-{c}-weighted", _lookup(c, True),
          [TABLE, *SPARSE, SP_WEIGHTS], grad=True) for c in ("mean", "sqrtn", "sum")],
    row("embedding_lookup_sparse-default-combiner", lambda api, p, i, v, s: api.nn.
        embedding_lookup_sparse(p, _sp(api, i, v, s), None, name="emb"), [TABLE, *SPARSE],
        grad=True),
    row("embedding_lookup_sparse-fast", _lookup("sqrtn", True, allow_fast_lookup=True),
        [TABLE, *SPARSE, SP_WEIGHTS], grad=True),
    row("embedding_lookup_sparse-fast-unweighted", _lookup("mean", allow_fast_lookup=True),
        [TABLE, *SPARSE], grad=True),
    row("embedding_lookup_sparse-f64-weights-f32", _lookup("mean", True),
        [TABLE.astype(F64), *SPARSE, SP_WEIGHTS], grad=True),
    row("embedding_lookup_sparse-3d-table", _lookup("sqrtn", True),
        [arr(10, 2, 2), *SPARSE, SP_WEIGHTS], grad=True),
    row("embedding_lookup_sparse-unknown", _lookup("sum", True),
        [TABLE, *SPARSE, SP_WEIGHTS], [None] * 5, grad=True),
    row("embedding_lookup_sparse-unknown-unweighted", _lookup("mean"),
        [TABLE, *SPARSE], [None] * 4, grad=True),
    row("embedding_lookup_sparse-numpy-table", lambda api, i, v, s: [
        api.nn.embedding_lookup_sparse(TABLE, _sp(api, i, v, s), None),
        api.nn.embedding_lookup_sparse([TABLE], _sp(api, i, v, s), None, combiner="sum")],
        SPARSE),
    row("embedding_lookup_sparse-numpy-partitions", lambda api, i, v, s: api.nn.
        embedding_lookup_sparse(PARTS, _sp(api, i, v, s), None, partition_strategy="div"),
        SPARSE),
    # partitioned tables, both strategies
    *[row(f"embedding_lookup_sparse-div-{c}", _partitioned_lookup(c, "div"),
          [*PARTS, *SPARSE], grad=True) for c in ("mean", "sqrtn", "sum")],
    *[row(f"embedding_lookup_sparse-mod-{c}-weighted", _partitioned_lookup(c, "mod", True),
          [*MOD_PARTS, *SPARSE, SP_WEIGHTS], grad=True) for c in ("mean", "sqrtn", "sum")],
    row("embedding_lookup_sparse-div-weighted", _partitioned_lookup("sqrtn", "div", True),
        [*PARTS, *SPARSE, SP_WEIGHTS], grad=True),
    row("embedding_lookup_sparse-mod-unknown", _partitioned_lookup("mean", "mod"),
        [*MOD_PARTS, *SPARSE], [None] * 6, grad=True),
]


@pytest.mark.parametrize("fn,inputs,shapes,grad,rtol", ROWS)
def test_op_matches_tensorflow(tf, fn, inputs, shapes, grad, rtol):
    check_row(tf, fn, inputs, shapes, grad, rtol)


_FED = [SP_INDICES, SP_IDS, SP_SHAPE, SP_WEIGHTS]


def _variable_lookup(kind, combiner, weighted):
    """A lookup in a ref variable or a partitioned one, its gradients densified. The ids
    are fed: TensorFlow's shape refiner would fold ``Unique`` over constant ids, which
    flowsaver's does not (a static shape the partitioned lookup's gradient reads)."""
    def build(api):
        indices, ids, shape, weights = [api.placeholder(v.dtype, v.shape, name=f"in{i}")
                                        for i, v in enumerate(_FED)]
        sp_ids = _sp(api, indices, ids, shape)
        sp_weights = _sp(api, indices, weights, shape) if weighted else None
        if kind == "partitioned":
            params = api.get_variable("table", [10, 3], initializer=api.ones_initializer(),
                                      partitioner=api.fixed_size_partitioner(3))
        else:
            params = api.get_variable("table", initializer=TABLE)
        out = api.nn.embedding_lookup_sparse(params, sp_ids, sp_weights, combiner=combiner)
        grads = api.gradients(api.reduce_sum(out * out), api.trainable_variables())
        return [out] + [api.convert_to_tensor(g) for g in grads]
    return build


@pytest.mark.parametrize("kind", ["ref", "partitioned"])
@pytest.mark.parametrize("combiner,weighted", [("mean", False), ("sqrtn", True), ("sum", False)])
def test_embedding_lookup_sparse_on_variables(tf, kind, combiner, weighted):
    build = _variable_lookup(kind, combiner, weighted)
    (ours, _), (theirs, _) = build_both(tf, build)
    assert_same_graph_def(ours, theirs)
    got, want = run_both(tf, build, {f"in{i}": v for i, v in enumerate(_FED)}, init=True)
    assert_close(got, want)


def test_gradient_with_no_indices(tf):
    """With no indices TensorFlow's gradient kernels return their output unwritten
    (whatever the memory held); flowsaver builds the same graph and returns zeros."""
    def build(api):
        x = api.placeholder(F32, [6, 3], name="in0")
        empty = api.placeholder(I32, [0], name="in1")
        outs = _all_three(api, x, empty, empty) + _all_three(api, x, empty, empty,
                                                              num_segments=2)
        return api.gradients(api.add_n([api.reduce_sum(o) for o in outs]), x)
    (ours, our_grads), (theirs, _) = build_both(tf, build)
    assert_same_graph_def(ours, theirs)
    with flowsaver.Session(graph=ours) as sess:
        got = sess.run(our_grads, {"in0:0": DATA, "in1:0": np.zeros(0, I32)})
    np.testing.assert_array_equal(got[0], np.zeros_like(DATA))


def _ph(api, shape, dtype=F32):
    return api.placeholder(dtype, shape)


def _sp_ph(api, values_shape, dtype=I64):
    return api.SparseTensor(_ph(api, [None, 2], I64), _ph(api, values_shape, dtype),
                            _ph(api, [2], I64))


BUILD_ERRORS = [
    ("sizes", lambda api: api.sparse_segment_sum(_ph(api, [5, 3]), _ph(api, [4], I32),
                                                 _ph(api, [3], I32)), ValueError),
    ("scalar-data", lambda api: api.sparse_segment_mean(_ph(api, []), [0], [0]), ValueError),
    ("indices-rank", lambda api: api.sparse_segment_sqrt_n(_ph(api, [5]), [[0, 1]], [0, 0]),
     ValueError),
    ("ids-rank", lambda api: api.sparse.segment_sum(_ph(api, [5]), [0, 1], [[0, 0]]),
     ValueError),
    ("negative-count", lambda api: api.sparse_segment_sum(_ph(api, [5]), [0], [0],
                                                          num_segments=-1), ValueError),
    ("count-rank", lambda api: api.sparse.segment_mean(_ph(api, [5]), [0], [0],
                                                       num_segments=[3]), ValueError),
    ("mean-of-ints", lambda api: api.sparse_segment_mean(_ph(api, [5], I32), [0], [0]),
     TypeError),
    ("float-indices", lambda api: api.sparse_segment_sum(_ph(api, [5]), [0.0], [0]),
     TypeError),
    ("grad-negative-dim0", lambda api: api.raw_ops.SparseSegmentSumGrad(
        grad=_ph(api, [5, 3]), indices=[0], segment_ids=[0], output_dim0=-2), ValueError),
    ("grad-sizes", lambda api: api.raw_ops.SparseSegmentMeanGrad(
        grad=_ph(api, [5, 3]), indices=[0, 1], segment_ids=[0], output_dim0=2), ValueError),
    ("grad-v2-scalar", lambda api: api.raw_ops.SparseSegmentSqrtNGradV2(
        grad=_ph(api, []), indices=[0], segment_ids=[0], dense_output_dim0=2), ValueError),
    ("lookup-combiner", lambda api: api.nn.embedding_lookup_sparse(
        _ph(api, [4, 2]), _sp_ph(api, [None]), None, combiner="max"), ValueError),
    ("lookup-dense-ids", lambda api: api.nn.embedding_lookup_sparse(
        _ph(api, [4, 2]), _ph(api, [3], I64), None), TypeError),
    ("lookup-dense-weights", lambda api: api.nn.embedding_lookup_sparse(
        _ph(api, [4, 2]), _sp_ph(api, [None]), _ph(api, [3])), TypeError),
    ("lookup-weights-shape", lambda api: api.nn.embedding_lookup_sparse(
        _ph(api, [4, 2]), _sp_ph(api, [3]), _sp_ph(api, [4], F32)), ValueError),
]


@pytest.mark.parametrize("build,error", [pytest.param(b, e, id=n) for n, b, e in BUILD_ERRORS])
def test_build_errors_match_tensorflow(tf, build, error):
    check_build_error(tf, build, error)


def _forward(kind="SparseSegmentSum", count=None):
    def build(api, data, indices, ids):
        inputs = {"data": data, "indices": indices, "segment_ids": ids}
        if count is not None:  # fed, so that the shape function cannot catch it first
            inputs["num_segments"] = api.placeholder_with_default(np.int32(count), None)
            kind_ = kind + "WithNumSegments"
        else:
            kind_ = kind
        return getattr(api.raw_ops, kind_)(**inputs)
    return build


def _backward(kind, dim0=6):
    def build(api, grad, indices, ids):
        name = "dense_output_dim0" if kind.endswith("V2") else "output_dim0"
        dim0_ = api.placeholder_with_default(np.int32(dim0), None)
        out = getattr(api.raw_ops, kind)(grad=grad, indices=indices, segment_ids=ids,
                                         **{name: dim0_})
        return list(out) if kind.endswith("V2") else out
    return build


G = arr(3, 2)
RUN_ERRORS = [
    # forward: runs of ids in order, then their range, then the indices of each run
    ("unsorted", _forward(), [DATA, IDX[:3], np.array([1, 0, 2], I32)]),
    ("unsorted-before-bad-index", _forward(), [DATA, np.array([0, 9, 2], I32),
                                               np.array([0, 1, 0], I32)]),
    ("negative-first-id", _forward("SparseSegmentMean"), [DATA, IDX[:3],
                                                          np.array([-1, 0, 2], I32)]),
    ("negative-last-id", _forward(), [DATA, IDX[:3], np.array([0, 0, -2], I32)]),
    ("index-too-large", _forward("SparseSegmentSqrtN"), [DATA, np.array([0, 6, 3], I64),
                                                         np.array([0, 0, 2], I32)]),
    ("index-negative", _forward(), [DATA, np.array([0, 1, -1], I32),
                                    np.array([0, 0, 2], I64)]),
    ("sizes", _forward(), [DATA, IDX[:3], SEG[:2]]),
    ("indices-not-vector", _forward(), [DATA, IDX[None, :3], SEG[:3]]),
    ("ids-not-vector", _forward(), [DATA, IDX[:3], SEG[None, :3]]),
    ("scalar-data", _forward(), [np.float32(2), np.array([0], I32), np.array([0], I32)]),
    ("count-too-small", _forward(count=2), [DATA, IDX[:3], np.array([0, 1, 2], I32)]),
    ("count-negative", _forward("SparseSegmentMean", count=-1), [DATA, IDX[:3], SEG[:3]]),
    ("count-not-scalar", _forward(count=[4]), [DATA, IDX[:3], SEG[:3]]),
    ("count-with-negative-ids", _forward(count=2), [DATA, IDX[:2], np.array([-3, -1], I32)]),
    ("count-zero-negative-ids", _forward(count=0), [DATA, IDX[:2], np.array([-3, -1], I32)]),
    # gradient ops: the last id against grad's rows, ids, then element by element
    *[(f"{k}-too-many-segments", _backward(k), [G, IDX[:2], np.array([0, 5], I32)])
      for k in ("SparseSegmentSumGrad", "SparseSegmentMeanGradV2")],
    *[(f"{k}-bad-index-first", _backward(k), [G, np.array([0, 9], I32),
                                              np.array([0, -1], I32)])
      for k in ("SparseSegmentSumGrad", "SparseSegmentSqrtNGradV2")],
    ("mean-grad-bad-id-first", _backward("SparseSegmentMeanGrad"),
     [G, np.array([0, 9], I32), np.array([0, -1], I32)]),
    ("sqrtn-grad-id", _backward("SparseSegmentSqrtNGrad"), [G, np.array([0, 1, 1], I32),
                                                            np.array([0, 4, 1], I32)]),
    ("v2-grad-id-then-index", _backward("SparseSegmentSumGradV2"),
     [G, np.array([0, 9], I32), np.array([-1, 1], I32)]),
    ("grad-negative-dim0", _backward("SparseSegmentMeanGrad", dim0=-2), [G, IDX[:2], SEG[:2]]),
    ("grad-v2-negative-dim0", _backward("SparseSegmentSumGradV2", dim0=-2),
     [G, IDX[:0], SEG[:0]]),
    ("grad-dim0-not-scalar", _backward("SparseSegmentMeanGrad", dim0=[2]),
     [G, IDX[:2], SEG[:2]]),
    ("grad-v2-sizes", _backward("SparseSegmentMeanGradV2"), [G, IDX[:3], SEG[:2]]),
    ("grad-indices-not-vector", _backward("SparseSegmentSumGrad"), [G, IDX[None, :2],
                                                                    SEG[:2]]),
    ("grad-scalar", _backward("SparseSegmentMeanGrad"), [np.float32(1), IDX[:1], SEG[:1]]),
]


@pytest.mark.parametrize("fn,inputs", [pytest.param(f, i, id=n) for n, f, i in RUN_ERRORS])
def test_run_errors_match_tensorflow(tf, fn, inputs):
    """Both fail at run time with InvalidArgumentError and TensorFlow's message."""
    def build(api, failing):
        phs = [api.placeholder(np.asarray(v).dtype, None, name=f"in{i}")
               for i, v in enumerate(inputs)]
        return fn(api, *phs) if failing(api) else phs[0]
    feeds = {f"in{i}": v for i, v in enumerate(inputs)}
    with pytest.raises(tf.errors.InvalidArgumentError) as theirs:
        run_both(tf, lambda api: build(api, lambda m: m is not flowsaver), feeds)
    with pytest.raises(flowsaver.errors.InvalidArgumentError) as ours:
        run_both(tf, lambda api: build(api, lambda m: m is flowsaver), feeds)
    core = [line for line in theirs.value.message.splitlines() if line.strip()][-2]
    assert core in str(ours.value)


def test_gradient_of_a_gradient_op_is_a_lookup_error(tf):
    """TensorFlow registers no gradient for the gradient ops; neither does flowsaver."""
    for api in (flowsaver, tf.compat.v1):
        with api.Graph().as_default():
            g = api.placeholder(F32, [3, 2])
            out = api.raw_ops.SparseSegmentMeanGrad(grad=g, indices=[0, 1], segment_ids=[0, 2],
                                                    output_dim0=4)
            with pytest.raises(LookupError, match="No gradient defined"):
                api.gradients(out, g)
