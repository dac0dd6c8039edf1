"""The array op family against real TensorFlow: same GraphDef, same static shapes, same outputs.

Each row is a program over placeholders ``in0, in1, ...`` (shapes from the row's arrays
unless the row gives others: ``None`` is unknown rank, ``[None, 3]`` a partly known shape),
built and run once with ``flowsaver`` and once with TensorFlow's ``tf.compat.v1`` in TF1
mode. Rows cover several dtypes (strings where TensorFlow allows them), Python list
arguments, partially known shapes, default and explicit names, and many slicing forms.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, run_both

F32, F64, I32, I64, B = np.float32, np.float64, np.int32, np.int64, np.bool_
X = np.arange(6).reshape(2, 3)
X3 = np.arange(24).reshape(2, 3, 4)
S = np.array([[b"a", b"bc", b""], [b"d", b"e", b"fg"]], dtype=object)
MASK = np.array([True, False])
CASES = []


def case(name, fn, inputs=(), shapes=None):
    CASES.append(pytest.param(fn, list(inputs), shapes, id=name))


def x(dtype=F32, values=X):
    return np.array(values, dtype)


# ---- reshape, shape, size, rank -------------------------------------------------------------
for _dt in (F32, I64, object):
    case(f"reshape-flat-{np.dtype(_dt).name}", lambda api, t: api.reshape(t, [-1]),
         [S if _dt is object else x(_dt)])
case("reshape-partial", lambda api, t: api.reshape(t, [-1, 3, 1]), [x()], [[None, 3]])
case("reshape-unknown-rank", lambda api, t: api.reshape(t, [3, -1]), [x()], [None])
case("reshape-named", lambda api, t: api.reshape(t, [3, 2], name="r"), [x(I32)])
case("reshape-dynamic", lambda api, t: api.reshape(t, [api.shape(t)[0], -1]), [x()],
     [[None, 3]])
case("reshape-shape-slice", lambda api, t: api.reshape(t, api.shape(t)[1:]), [x(values=[X[0]])],
     [[None, 3]])
case("reshape-known-elem", lambda api, t: api.reshape(t, [api.shape(t)[1], -1]), [x()],
     [[None, 3]])
case("reshape-fed-shape", lambda api, t, s: api.reshape(t, s), [x(), np.array([3, 2], I32)])
case("reshape-stack-tensor", lambda api, t, n: api.reshape(t, api.stack([n, 3])),
     [x(), np.array(2, I32)])
# a concat whose first part is a new-axis slice: read part by part it says nothing, so the
# refiner takes the whole shape tensor's value ([2, 3]), or else one unknown dim per element
case("reshape-concat-newaxis", lambda api, t: api.reshape(t, api.concat(
    [api.constant(2)[api.newaxis], api.constant([3])], 0)), [x()], [[None, 3]])
case("reshape-concat-newaxis-fed", lambda api, t, n: api.reshape(t, api.concat(
    [n[api.newaxis], api.constant([3])], 0)), [x(), np.array(2, I32)], [[None, 3], []])
case("shape", lambda api, t: api.shape(t), [x()])
case("shape-partial", lambda api, t: api.shape(t, name="s"), [x()], [[None, 3]])
case("shape-int64", lambda api, t: [api.shape(t, out_type=api.int64), api.shape(t[0])],
     [x()], [[None, None]])
case("shape-list", lambda api: api.shape([[1, 2, 3]]))
case("shape_n", lambda api, t, u: api.shape_n([t, u]), [x(), x(values=[1, 2])], [[2, 3], [None]])
case("shape_n-named", lambda api, t: api.shape_n([t], out_type=api.int64, name="sn"), [S])
case("size", lambda api, t: [api.size(t), api.size(t, out_type=api.int64, name="n")], [x()])
case("size-partial", lambda api, t: api.size(t), [x()], [[None, 3]])
case("size-zero-dim", lambda api, t: api.size(t), [np.zeros((2, 0), F32)], [[None, 0]])
case("rank", lambda api, t: [api.rank(t), api.rank(t, name="rk")], [x()])
case("rank-unknown", lambda api, t: api.rank(t), [x()], [None])

# ---- fill, zeros, ones and their _like forms ------------------------------------------------
case("fill", lambda api: [api.fill([2, 3], 7), api.fill([2], "s"), api.fill([1], 1.5, name="f")])
case("fill-dynamic", lambda api, t: api.fill(api.shape(t), 1.5), [x()], [[None, 3]])
case("fill-stack", lambda api, n: api.fill(api.stack([n, 2]), True), [np.array(3, I32)])
case("zeros", lambda api: [api.zeros([2, 3]), api.zeros([2], api.int32), api.zeros(4),
                           api.zeros([2], api.bool), api.zeros([2], api.string)])
case("zeros-large", lambda api: [api.zeros([100, 20]), api.ones([2000], api.bool, name="o")])
case("zeros-tensor", lambda api, t: api.zeros(api.shape(t), dtype=api.int32), [x()], [[None, 3]])
case("zeros-list-tensor", lambda api, n: api.zeros([n, 3]), [np.array(2, I32)])
case("ones", lambda api: [api.ones([2, 3]), api.ones([3], api.int64), api.ones([], name="one")])
case("ones-scalar-tensor", lambda api, n: api.ones(n), [np.array(3, I32)])
case("ones-int64-shape", lambda api, s: api.ones(s, api.float64), [np.array([2, 2], I64)])
case("zeros_like", lambda api, t: [api.zeros_like(t), api.zeros_like(t, dtype=api.int32)], [x()])
case("zeros_like-partial", lambda api, t: [api.zeros_like(t), api.zeros_like(t, api.int64)],
     [x()], [[None, 3]])
case("zeros_like-string", lambda api, t: api.zeros_like(t, name="z"), [S], [[None, 3]])
case("zeros_like-list", lambda api: api.zeros_like([[1, 2]]))
case("ones_like", lambda api, t: [api.ones_like(t), api.ones_like(t, dtype=api.float64)], [x()])
case("ones_like-partial", lambda api, t: api.ones_like(t), [x(B, [[True], [False]])],
     [[None, 1]])

# ---- stack, unstack, concat -----------------------------------------------------------------
case("stack", lambda api, t, u: [api.stack([t, u]), api.stack([t, u], axis=1, name="s1")],
     [x(), x(values=X + 6)])
case("stack-neg-axis", lambda api, t, u: api.stack([t, u], axis=-1), [x(I64), x(I64, X + 6)])
case("stack-python", lambda api, s: [api.stack([s, 2.0]), api.stack([[1, 2], [3, 4]])],
     [np.array(1.5, F32)])
case("stack-nested", lambda api, s: api.stack([[1, 2], [s, 3]]), [np.array(9, I32)])
case("stack-axis1-list-first", lambda api, t: api.stack([[1.0, 2.0], t], axis=1),
     [x(values=[5, 6])])
case("stack-strings", lambda api, t: api.stack([t, t]), [S])
case("autopack", lambda api, s: api.reshape([s, s], [2, 1]), [np.array(4.0, F32)])
case("unstack", lambda api, t: api.unstack(t), [x()])
case("unstack-axis", lambda api, t: api.unstack(t, axis=1, name="u"), [S])
case("unstack-num", lambda api, t: api.unstack(t, num=2, axis=-2), [x()], [[None, 3]])
case("concat", lambda api, t, u: [api.concat([t, u], 0), api.concat([t, u], 1, name="c")],
     [x(), x(values=X + 6)])
case("concat-single", lambda api, t: [api.concat([t], 1), api.concat(t, 0, name="cc")], [x()])
case("concat-python", lambda api, t: api.concat([t, [[1.0, 2.0, 3.0]]], 0), [x()])
case("concat-partial", lambda api, t, u: api.concat([t, u], -1), [x(), x()],
     [[None, 3], [2, None]])
case("concat-unknown-axis", lambda api, t, u, a: api.concat([t, u], a),
     [x(), x(), np.array(0, I32)])
case("concat-strings", lambda api, t: api.concat([t, t], 0), [S])

# ---- transpose, expand_dims, squeeze, tile, pad ---------------------------------------------
case("transpose", lambda api, t: [api.transpose(t), api.transpose(t, [1, 0], name="tp")], [x()])
case("transpose-3d", lambda api, t: [api.transpose(t, [2, 0, 1]), api.transpose(t, [-1, 0, 1])],
     [x(I32, X3)])
case("transpose-unknown-rank", lambda api, t: api.transpose(t), [x(I64, X3)], [None])
case("transpose-list", lambda api: api.transpose([[1, 2]]))
case("transpose-fed-perm", lambda api, t, p: api.transpose(t, p), [x(), np.array([1, 0], I32)])
case("expand_dims", lambda api, t: [api.expand_dims(t, 1), api.expand_dims(t, -1, name="e"),
                                    api.expand_dims(t, dim=0)], [x()])
case("expand_dims-unknown", lambda api, t: api.expand_dims(t, 0), [S], [None])
case("squeeze", lambda api, t: [api.squeeze(t), api.squeeze(t, [2]), api.squeeze(t, 0),
                                api.squeeze(t, axis=[-1], name="sq")],
     [np.ones((1, 3, 1), F32)])
case("squeeze-partial", lambda api, t: [api.squeeze(t), api.squeeze(t, [0])],
     [np.ones((1, 3, 1), I32)], [[None, 3, 1]])
case("tile", lambda api, t: [api.tile(t, [1, 2]), api.tile(t, [2, 1], name="tl")], [x()])
case("tile-partial", lambda api, t, m: [api.tile(t, [2, 3]), api.tile(t, m)],
     [x(), np.array([1, 2], I32)], [[None, 3], [2]])
case("pad", lambda api, t: [api.pad(t, [[1, 0], [0, 2]]), api.pad(t, [[1, 1], [2, 0]], name="p")],
     [x()])
case("pad-constant", lambda api, t: api.pad(t, [[1, 0], [0, 2]], constant_values=3), [x(I32)])
case("pad-mirror", lambda api, t: [api.pad(t, [[1, 1], [0, 2]], mode="reflect"),
                                   api.pad(t, [[2, 1], [3, 0]], mode="SYMMETRIC")], [x()])
case("pad-partial", lambda api, t: api.pad(t, [[1, 0], [0, 2]]), [x()], [[None, 3]])
case("pad-tensor-padding", lambda api, t, p: api.pad(t, [[1, 0], [p, 2]]),
     [x(), np.array(1, I32)])
case("pad-strings", lambda api, t: api.pad(t, [[0, 1], [1, 0]]), [S])

# ---- slice, strided_slice, t[...] -----------------------------------------------------------
case("slice", lambda api, t: [api.slice(t, [0, 1], [-1, 2]), api.slice(t, [1, 0], [1, 3], "sl")],
     [x()])
case("slice-fed", lambda api, t, b: api.slice(t, b, [1, -1]), [x(), np.array([1, 1], I32)])
case("strided_slice", lambda api, t: [api.strided_slice(t, [0, 1], [2, 3]),
                                      api.strided_slice(t, [0, 1], [2, 3], [1, 2],
                                                        shrink_axis_mask=1, name="ss")], [x()])
SLICES = {
    "int": lambda t: t[1], "neg-int": lambda t: t[-1], "cols": lambda t: t[:, 1:3],
    "reverse": lambda t: t[::-1], "reverse-both": lambda t: t[::-1, ::-2],
    "ellipsis": lambda t: t[..., 0], "newaxis": lambda t: t[None, 1],
    "newaxis-end": lambda t: t[..., None], "step": lambda t: t[:, ::2],
    "neg-range": lambda t: t[-2:, -3:-1], "clamped": lambda t: t[5:, -9:9],
    "empty": lambda t: t[()], "empty-range": lambda t: t[1:1], "two-ints": lambda t: t[1, 2],
    "rev-open-end": lambda t: t[:, 2:0:-1], "scalar-np": lambda t: t[np.int64(1)],
}
for _name, _fn in SLICES.items():
    case(f"getitem-{_name}", lambda api, t, f=_fn: f(t), [x()])
case("getitem-3d", lambda api, t: [t[1, ..., 2], t[:, None, 1:, ::-1], t[..., 1:3, None]],
     [x(I32, X3)])
case("getitem-partial", lambda api, t: [t[0], t[:, 1], t[1:, :2], t[::-1, None]], [x()],
     [[None, 3]])
case("getitem-unknown-rank", lambda api, t: [t[1:, 2], t[..., 0]], [x()], [None])
case("getitem-strings", lambda api, t: [t[0], t[:, ::-1]], [S])
case("getitem-tensor", lambda api, t, i: [t[i], t[:, i:], t[i, i]], [x(), np.array(1, I32)])
case("getitem-tensor-int64", lambda api, t, i: [t[i], t[i:, 1]], [x(), np.array(1, I64)])
case("getitem-tensor-stop", lambda api, t, i: t[:i], [x(), np.array(1, I32)])
case("getitem-tensor-int64-cast", lambda api, t, i: t[i:2], [x(), np.array(0, I64)])
case("getitem-newaxis-const", lambda api, t: t[api.newaxis, :, api.newaxis], [x()])
case("getitem-bool-mask", lambda api, t, m: t[m], [x(), MASK])
case("getitem-shape", lambda api, t: [api.shape(t)[0], api.shape(t)[-1]], [x()], [[None, 3]])

# ---- gather, where, boolean_mask, one_hot ---------------------------------------------------
case("gather", lambda api, t: [api.gather(t, [1, 0]), api.gather(t, [[2], [0]], axis=1)], [x()])
case("gather-named", lambda api, t: api.gather(t, 1, name="g", axis=-1), [S])
case("gather-axis-tensor", lambda api, t: api.gather(t, [[1, 0]], axis=api.constant(1)), [x()])
case("gather-batch-dims", lambda api, t: api.gather(t, [[1, 0], [0, 0]], axis=1, batch_dims=1),
     [x()])
case("gather-fed", lambda api, t, i: api.gather(t, i), [x(F64), np.array([[1], [1]], I64)],
     [[None, 3], [None, 1]])
case("where-indices", lambda api, c: [api.where(c), api.where(c, name="w")],
     [np.array([[True, False, True], [False, False, True]])])
case("where-float", lambda api, t: api.where(t), [x(values=[[0, 1], [2, 0]])], [None])
case("where-list", lambda api: api.where([True, False]))
case("where-select", lambda api, c, t, u: api.where(c, t, u), [MASK[:, None] & (X > 1), x(),
                                                                x(values=-X)])
case("where-select-rows", lambda api, c, t, u: api.where(c, t, u, name="sel"),
     [MASK, x(I32), x(I32, -X)])
case("where-select-python", lambda api, c: api.where(c, [1, 2], [3, 4]), [MASK])
case("where_v2", lambda api, c, t: [api.where_v2(c, t, 0.0), api.where_v2(c)],
     [np.array([True, False, True]), x()])
case("boolean_mask", lambda api, t, m: api.boolean_mask(t, m), [x(), MASK])
case("boolean_mask-2d", lambda api, t, m: api.boolean_mask(t, m), [x(I64), X > 2])
case("boolean_mask-axis", lambda api, t: api.boolean_mask(t, [True, False, True], axis=1), [x()])
case("boolean_mask-partial", lambda api, t, m: api.boolean_mask(t, m, name="bm"), [x(), MASK],
     [[None, 3], [None]])
case("boolean_mask-strings", lambda api, t, m: api.boolean_mask(t, m), [S, MASK])
case("one_hot", lambda api, i: api.one_hot(i, 4), [np.array([0, 3, -1], I32)])
case("band_part", lambda api, t: [api.linalg.band_part(t, 0, -1), api.matrix_band_part(
    t, 1, 0, name="lower"), api.linalg.band_part(t, -1, -1)], [x(I32, X3)])
case("band_part-fed-counts", lambda api, t, lo, up: api.linalg.band_part(t, lo, up),
     [x(values=np.arange(20.0).reshape(4, 5)), np.array(1, I64), np.array(2, I64)],
     [[None, 5], [], []])
case("one_hot-values", lambda api: api.one_hot([1, 2], 3, on_value=5, off_value=-1, axis=0))
case("one_hot-dtype", lambda api, i: api.one_hot(i, 3, dtype=api.int64, name="oh"),
     [np.array([[1], [2]], I64)])
case("one_hot-off-only", lambda api, i: api.one_hot(i, 2, off_value=0.5, axis=1),
     [np.array([0, 1], I32)], [[None]])

# ---- range, placeholder_with_default, identity ----------------------------------------------
case("range", lambda api: [api.range(5), api.range(1, 5, 2), api.range(10, 2, -3, name="r")])
case("range-float", lambda api: [api.range(1, 5.5), api.range(0, 1, 0.1),
                                 api.range(3, dtype=api.float64)])
case("range-tensor", lambda api, n: api.range(n), [np.array(4, I64)])
case("placeholder_with_default", lambda api: api.placeholder_with_default([1, 2], [None]))
case("identity", lambda api, t: [api.identity([1, 2]), api.identity(t, name="id")], [S])


# ---- static shapes TensorFlow finds by evaluating constant subgraphs and shape tensors -------
case("static-const-arithmetic", lambda api, t: api.reshape(t, api.constant([3, 1]) * [1, 2]), [x()])
case("static-shape-element", lambda api, t: [api.reshape(t, [api.shape(t)[1] * 2, -1]),
                                             api.zeros([api.shape(t)[1], 2])], [x()], [[None, 3]])
case("static-concat-shapes", lambda api, t: [api.fill(api.concat([[2], api.shape(t)], 0), 1.0),
                                             api.fill(api.concat([[2], api.shape(t)[1:2]], 0), 1)],
     [x()], [[None, 3]])
case("static-cast-shape", lambda api, t: api.reshape(t, api.cast(api.shape(t), api.int64)), [x()],
     [[None, 3]])
case("static-shape-arith-unknown", lambda api, t: api.fill(api.shape(t)[1:2] + 1, 0.0), [x()],
     [[None, 3]])
case("static-getitem-const-index", lambda api, t: [t[api.constant(1) + 0:], t[api.constant(0)]],
     [x()])
case("static-fill-pwd", lambda api: api.fill(api.placeholder_with_default([2, 3], [2]), 1.0))
case("static-range-shape", lambda api, t: api.reshape(t, api.range(2, 4)), [x()])
case("masks-ellipsis-newaxis", lambda api, t: [t[:, None, ..., 1], t[..., None, 1, None],
                                               t[None, ..., None], t[1, None, ..., ::-2]],
     [x(I32, X3)])
case("masks-partial-3d", lambda api, t: [t[1:, None, ..., 0], t[..., ::-1]], [x(I32, X3)],
     [[None, 3, None]])
case("slice-partial", lambda api, t, b: [api.slice(t, [0, 1], [-1, 2]), api.slice(t, b, [1, -1])],
     [x(), np.array([1, 1], I32)], [[None, 3], [2]])
case("tile-zero", lambda api, t: api.tile(t, [0, 2]), [x()], [[None, 3]])
case("transpose-partial", lambda api, t: api.transpose(t, [1, 0]), [x()], [[None, 3]])
case("expand_dims-tensor-axis", lambda api, t, a: api.expand_dims(t, a), [x(), np.array(1, I32)])
case("squeeze-unknown-rank", lambda api, t: api.squeeze(t, [0]), [x(values=[[1, 2]])], [None])
case("size-unknown-rank", lambda api, t: api.size(t), [x()], [None])
case("concat-unknown-ranks", lambda api, t, u: api.concat([t, u], 1), [x(), x()], [None, None])
case("concat-mixed-ranks", lambda api, t, u: api.concat([t, u], 0), [x(), x()], [None, [None, 3]])
case("one_hot-fed-depth", lambda api, i, d: api.one_hot(i, d), [np.array([1, 0], I64),
                                                            np.array(3, I32)])
case("gather-fed-axis", lambda api, t, a: api.gather(t, [0], axis=a), [x(), np.array(1, I32)])
# empty slices or no outer rows: TensorFlow checks no index, even one out of range
for _shape, _axis in (((0, 0), 0), ((2, 0), 0), ((0, 3), 1), ((2, 3, 0), 1)):
    case(f"gather-empty-{_shape}-{_axis}", lambda api, t, i, a=_axis: api.gather(t, i, axis=a),
         [np.zeros(_shape, F32), np.array([5, 0, -1], I32)], [None, [3]])
case("pad-symmetric-partial", lambda api, t: api.pad(t, [[1, 1], [2, 0]], "SYMMETRIC"), [x()],
     [[None, 3]])
case("where-select-scalar", lambda api, c, t: api.where(c, t, t * 2), [np.array(False), x()])
case("unstack-strings-partial", lambda api, t: api.unstack(t, axis=1), [S], [[None, 3]])

UNKNOWN_RANK_ARGS = {
    "slices": (lambda api, t, b: [api.strided_slice(t, b, b + 1, b), api.slice(t, b, b)], [1, 1]),
    "reshape-fill": (lambda api, t, b: [api.reshape(t, b), api.fill(b, 1.0)], [3, 2]),
    "tile-transpose": (lambda api, t, b: [api.tile(t, b + 1), api.transpose(t, b)], [1, 0]),
    "pad": (lambda api, t, b: api.pad(t, api.reshape(b, [-1, 2])), [1, 0, 0, 2]),
    "axes": (lambda api, t, b: [api.gather(t, b, axis=b[0]), api.one_hot(b, 3),
                                api.expand_dims(t, b[0]), api.concat([t, t], b[0])], [1, 0]),
}
for _name, (_fn, _b) in UNKNOWN_RANK_ARGS.items():
    case(f"unknown-rank-args-{_name}", _fn, [x(), np.array(_b, I32)], [[2, 3], None])


def _flat(fetches):
    return fetches if isinstance(fetches, (list, tuple)) else [fetches]


def _static(t):
    return None if t.shape.ndims is None else t.shape.as_list()


@pytest.mark.parametrize("fn,inputs,shapes", CASES)
def test_op_matches_tensorflow(tf, fn, inputs, shapes):
    def build(api):
        dims = shapes or [v.shape for v in inputs]
        phs = [api.placeholder("string" if v.dtype == object else v.dtype, d, name=f"in{i}")
               for i, (v, d) in enumerate(zip(inputs, dims))]
        return fn(api, *phs)
    (g1, ours), (g2, theirs) = build_both(tf, build)
    assert_same_graph_def(g1, g2)
    assert [_static(t) for t in _flat(ours)] == [_static(t) for t in _flat(theirs)]
    got, want = run_both(tf, build, {f"in{i}": v for i, v in enumerate(inputs)})
    assert_close(got, want)


def _variables(api):
    v = api.Variable([[1.0, 2.0], [3.0, 4.0]], name="v")
    return [v[0], v[:, 1], api.gather(v, [1]), api.reshape(v, [-1]), api.zeros_like(v),
            api.ones_like(v), api.stack([v, v]), api.concat([v], 0), api.transpose(v),
            api.shape(v), api.expand_dims(v, 0), api.boolean_mask(v, [True, False]),
            api.identity(v), v[api.constant(1)], api.stack([v[0, 0], 5.0], name=None)]


def _report(api):
    api.Variable(1.0, name="a")
    api.Variable([2], name="b")
    return api.report_uninitialized_variables()


@pytest.mark.parametrize("build,init", [(_variables, True), (_report, False)],
                         ids=["variables", "report_uninitialized"])
def test_programs_match_tensorflow(tf, build, init):
    (g1, _), (g2, _) = build_both(tf, build)
    assert_same_graph_def(g1, g2)
    got, want = run_both(tf, build, init=init)
    assert_close(got, want)


def _ph(api, shape=(2, 3), dtype="float32"):
    return api.placeholder(dtype, shape)


BUILD_ERRORS = [
    ("reshape-size", lambda api: api.reshape(_ph(api), [4, -1]), ValueError),
    ("reshape-count", lambda api: api.reshape(_ph(api), [4, 2]), ValueError),
    ("getitem-out-of-range", lambda api: _ph(api)[5], ValueError),
    ("getitem-too-many", lambda api: _ph(api)[0, 0, 0], ValueError),
    ("getitem-two-ellipses", lambda api: _ph(api)[..., 1, ...], ValueError),
    ("getitem-zero-step", lambda api: _ph(api)[::0], ValueError),
    ("getitem-float", lambda api: _ph(api)[1.5], TypeError),
    ("getitem-vector-index", lambda api: _ph(api)[_ph(api, [2], "int32")], TypeError),
    ("getitem-float-tensor", lambda api: _ph(api)[_ph(api, [], "float32")], TypeError),
    ("unstack-unknown-num", lambda api: api.unstack(_ph(api, [None])), ValueError),
    ("unstack-wrong-num", lambda api: api.unstack(_ph(api, [2]), num=3), ValueError),
    ("stack-axis", lambda api: api.stack([_ph(api)], axis=3), ValueError),
    ("stack-shapes", lambda api: api.stack([_ph(api, [2]), _ph(api, [3])]), ValueError),
    ("concat-rank", lambda api: api.concat([_ph(api), _ph(api, [3])], 0), ValueError),
    ("concat-dims", lambda api: api.concat([_ph(api), _ph(api, [3, 2])], 0), ValueError),
    ("concat-axis", lambda api: api.concat([_ph(api), _ph(api)], 2), ValueError),
    ("concat-scalars", lambda api: api.concat([_ph(api, []), _ph(api, [])], 0), ValueError),
    ("squeeze-not-one", lambda api: api.squeeze(_ph(api), [0]), ValueError),
    ("squeeze-range", lambda api: api.squeeze(_ph(api), [3]), ValueError),
    ("expand_dims-range", lambda api: api.expand_dims(_ph(api), 4), ValueError),
    ("expand_dims-no-axis", lambda api: api.expand_dims(_ph(api)), ValueError),
    ("transpose-perm-length", lambda api: api.transpose(_ph(api), [0]), ValueError),
    ("transpose-perm-range", lambda api: api.transpose(_ph(api), [0, 3]), ValueError),
    ("tile-length", lambda api: api.tile(_ph(api), [1]), ValueError),
    ("pad-negative", lambda api: api.pad(_ph(api), [[1, 2], [-1, 0]]), ValueError),
    ("pad-mode", lambda api: api.pad(_ph(api), [[1, 1], [0, 0]], mode="wrap"), ValueError),
    ("slice-lengths", lambda api: api.slice(_ph(api), [0, 0], [1]), ValueError),
    ("slice-negative", lambda api: api.slice(_ph(api), [0, 4], [1, -1]), ValueError),
    ("gather-axis", lambda api: api.gather(_ph(api), [0], axis=-3), ValueError),
    ("fill-negative", lambda api: api.fill([-1, 2], 1), ValueError),
    ("fill-value-rank", lambda api: api.fill([2], [1, 2]), ValueError),
    ("boolean_mask-scalar", lambda api: api.boolean_mask(_ph(api), True), ValueError),
    ("boolean_mask-rank", lambda api: api.boolean_mask(_ph(api), _ph(api, None, "bool")),
     ValueError),
    ("boolean_mask-shape", lambda api: api.boolean_mask(_ph(api), [True, False, True]),
     ValueError),
    ("one_hot-dtype", lambda api: api.one_hot([1], 2, on_value=1.0, dtype=api.int32), TypeError),
    ("one_hot-depth", lambda api: api.one_hot([1], -2), ValueError),
    ("where-one-branch", lambda api: api.where(_ph(api, [2], "bool"), _ph(api, [2])),
     ValueError),
    ("select-shapes", lambda api: api.where(_ph(api, [2], "bool"), _ph(api, [3]), _ph(api, [3])),
     ValueError),
]


def _core(message: str) -> str:
    """TensorFlow's message without the node description it appends."""
    return message.split(" for '{{node")[0]


@pytest.mark.parametrize("build,error", [pytest.param(b, e, id=n) for n, b, e in BUILD_ERRORS])
def test_build_errors_match_tensorflow(tf, build, error):
    with pytest.raises(error) as theirs:
        build_both(tf, lambda api: None if api is flowsaver else build(api))
    with pytest.raises(error) as ours:
        build_both(tf, lambda api: build(api) if api is flowsaver else None)
    assert _core(str(theirs.value)) in str(ours.value)


RUN_ERRORS = [
    ("reshape", lambda api, t: api.reshape(t, [2, 2]), X[0]),
    ("reshape-multiple", lambda api, t: api.reshape(t, [-1, 4]), X[0]),
    ("reshape-two-unknown", lambda api, t: api.reshape(t, api.placeholder_with_default(
        [-1, -1], [None])), X[0]),
    ("gather", lambda api, t: api.gather(t, [0, 5]), X[0]),
    ("getitem", lambda api, t: t[5], X[0]),
    ("getitem-too-many", lambda api, t: t[1:2, 0], X[0]),
    ("concat", lambda api, t: api.concat([t, api.zeros([1, 2], t.dtype)], 0), X[:1]),
    ("squeeze", lambda api, t: api.squeeze(t, [0]), X[0]),
    ("unstack", lambda api, t: api.unstack(t, num=2), X[0]),
    ("transpose", lambda api, t: api.transpose(t, [0, 0]), X),
    ("tile", lambda api, t: api.tile(t, [2, 1]), X[0]),
    ("mirror_pad", lambda api, t: api.pad(t, [[3, 1]], mode="REFLECT"), X[0]),
    ("expand_dims", lambda api, t: api.expand_dims(t, 3), X[0]),
    ("slice", lambda api, t: api.slice(t, [1], [5]), X[0]),
    ("where-scalar", lambda api, t: api.where(t), np.array(3.0)),
    ("select", lambda api, t: api.where(api.cast(t, api.bool), [1.0, 2.0], [3.0, 4.0]), X[0]),
]


@pytest.mark.parametrize("fn,value", [pytest.param(f, v, id=n) for n, f, v in RUN_ERRORS])
def test_run_errors_match_tensorflow(tf, fn, value):
    value = np.asarray(value, F32)

    def build(api, failing):
        t = api.placeholder(F32, None, name="in0")
        return fn(api, t) if failing(api) else t
    with pytest.raises(tf.errors.InvalidArgumentError) as theirs:
        run_both(tf, lambda api: build(api, lambda m: m is not flowsaver), {"in0": value})
    with pytest.raises(flowsaver.errors.InvalidArgumentError) as ours:
        run_both(tf, lambda api: build(api, lambda m: m is flowsaver), {"in0": value})
    node = theirs.value.op.name
    assert node in str(ours.value)
    core = [line for line in theirs.value.message.splitlines() if line.strip()][-2]
    assert core in str(ours.value)
