"""The math op family against real TensorFlow: same GraphDef, node for node, same outputs.

Each row is a program over placeholders ``in0, in1, ...`` (shapes from the row's arrays
unless the row gives others, ``None`` meaning unknown rank), run once with ``flowsaver`` and
once with TensorFlow's ``tf.compat.v1`` in TF1 mode. Rows cover each dtype TensorFlow
supports among float32/float64/int32/int64, broadcasting, Python scalars on either side of
an operator, explicit names, keepdims and negative axes.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, run_both

F32, F64, I32, I64 = np.float32, np.float64, np.int32, np.int64
FLOATS, INTS = (F32, F64), (I32, I64)
A = [[-3, -1, 0], [1, 2, 5]]
B = [[2, -3, 1], [4, 1, -2]]        # no zeros: a divisor
EXPONENTS = [[2, 0, 1], [3, 1, 2]]
POSITIVE = [[0.25, 1.0, 2.5], [4.0, 9.0, 100.0]]
WIDE = [[-30.0, -2.5, 0.0], [0.5, 3.0, 40.0]]  # sigmoid/tanh saturate at both ends


def a(dtype, values=A):
    return np.array(values, dtype)


CASES = []


def case(name, fn, inputs, shapes=None):
    CASES.append((name, fn, inputs, shapes))


def tag(dtype) -> str:
    return np.dtype(dtype).name


# ---- binary functions: every dtype, broadcasting, Python scalars, names -----------------------
BINARY = [
    ("add", lambda api: api.add, FLOATS + INTS, B),
    ("subtract", lambda api: api.subtract, FLOATS + INTS, B),
    ("multiply", lambda api: api.multiply, FLOATS + INTS, B),
    ("maximum", lambda api: api.maximum, FLOATS + INTS, B),
    ("minimum", lambda api: api.minimum, FLOATS + INTS, B),
    ("squared_difference", lambda api: api.squared_difference, FLOATS + INTS, B),
    ("truediv", lambda api: api.truediv, FLOATS + INTS, B),
    ("divide", lambda api: api.divide, FLOATS + INTS, B),
    ("div", lambda api: api.div, FLOATS + INTS, B),
    ("floordiv", lambda api: api.floordiv, FLOATS + INTS, B),
    ("floormod", lambda api: api.floormod, FLOATS + INTS, B),
    ("mod", lambda api: api.mod, FLOATS + INTS, B),
    ("pow", lambda api: api.pow, FLOATS + INTS, EXPONENTS),
    ("equal", lambda api: api.equal, FLOATS + INTS, B),
    ("not_equal", lambda api: api.not_equal, FLOATS + INTS, B),
    ("less", lambda api: api.less, FLOATS + INTS, B),
    ("less_equal", lambda api: api.less_equal, FLOATS + INTS, B),
    ("greater", lambda api: api.greater, FLOATS + INTS, B),
    ("greater_equal", lambda api: api.greater_equal, FLOATS + INTS, B),
]
for _name, _get, _dtypes, _y in BINARY:
    for _dt in _dtypes:
        case(f"{_name}-{tag(_dt)}", lambda api, x, y, g=_get: g(api)(x, y), [a(_dt), a(_dt, _y)])
    case(f"{_name}-bcast-row", lambda api, x, y, g=_get: g(api)(x, y),
         [a(F32), a(F32, _y[0])])
    case(f"{_name}-bcast-col", lambda api, x, y, g=_get: g(api)(y, x),
         [a(F32), a(F32, [[2.0], [4.0]])])
    case(f"{_name}-py-right", lambda api, x, g=_get: g(api)(x, 2.0), [a(F32)])
    case(f"{_name}-py-left", lambda api, x, g=_get: g(api)(2.0, x), [a(F32, _y)])
    case(f"{_name}-int-py-right", lambda api, x, g=_get: g(api)(x, 2), [a(I32)])
    case(f"{_name}-named", lambda api, x, y, g=_get: g(api)(x, y, name="named_op"),
         [a(F64), a(F64, _y)])
case("divide-named-int", lambda api, x: api.divide(x, 3, name="d"), [a(I64)])
case("divide-py-both", lambda api: [api.divide(7, 2), api.truediv(7, 2)], [])
case("truediv-py-left-int", lambda api, x: api.truediv(7, x), [a(I32, B)])
case("floor_div", lambda api, x: api.floor_div(x, -4), [a(I32)])
case("realdiv", lambda api, x: api.realdiv(x, 4.0), [a(F32)])
# Empty operands: nothing is divided, so a zero divisor is no error (as in TensorFlow)
case("int-division-empty", lambda api, x, y, s: [api.floormod(x, y), api.floordiv(x, y), x % 0,
                                                 api.floordiv(s, x), api.floormod(x, s),
                                                 api.floordiv(s, api.zeros([0, 3], I32))],
     [np.zeros((0,), I32), np.zeros((0,), I32), np.array(0, I32)])
case("float-division-empty", lambda api, x: [api.floormod(x, 0.0), api.floordiv(x, 0.0)],
     [np.zeros((2, 0), F32)])
case("bcast-3d", lambda api, x, y: [api.add(x, y), x * y], [a(F32), np.ones((4, 1, 3), F32)])
case("bcast-unknown", lambda api, x, y: api.maximum(x, y), [a(F32), a(F32, B)],
     [[None, 3], [2, None]])

# ---- Python operators ---------------------------------------------------------------------------
OPERATORS = [
    ("add", lambda x, y: x + y), ("sub", lambda x, y: x - y), ("mul", lambda x, y: x * y),
    ("truediv", lambda x, y: x / y), ("floordiv", lambda x, y: x // y),
    ("mod", lambda x, y: x % y), ("pow", lambda x, y: x ** y), ("lt", lambda x, y: x < y),
    ("le", lambda x, y: x <= y), ("gt", lambda x, y: x > y), ("ge", lambda x, y: x >= y),
]
for _name, _op in OPERATORS:
    _y = EXPONENTS if _name == "pow" else B
    for _dt in (F32, F64, I32, I64):
        case(f"op-{_name}-{tag(_dt)}", lambda api, x, y, o=_op: o(x, y), [a(_dt), a(_dt, _y)])
    case(f"op-{_name}-py-right", lambda api, x, o=_op: o(x, 2), [a(F32)])
    case(f"op-{_name}-py-left", lambda api, x, o=_op: o(2, x), [a(F32, _y)])
    case(f"op-{_name}-int-py-left", lambda api, x, o=_op: o(3, x), [a(I32, _y)])
    case(f"op-{_name}-numpy", lambda api, x, o=_op: o(x, np.array([1.0, 2.0, 3.0], F32)),
         [a(F32)])
case("op-unary", lambda api, x: [-x, abs(x), -(x * 2), abs(-x)], [a(F32)])
case("op-unary-int", lambda api, x: [-x, abs(x)], [a(I64)])
case("op-matmul", lambda api, x, y: [x @ y, x @ [[1.0], [2.0], [3.0]], [[1.0, 2.0]] @ x],
     [a(F32), np.ones((3, 4), F32)])
case("op-chain", lambda api, x, y: (x + y) * (x - y) / (abs(y) + 1) - x ** 2 // 3,
     [a(F32), a(F32, B)])
BOOLS = [np.array([[True, False, True], [False, False, True]]), np.array([True, False, True])]
case("op-logical", lambda api, b, c: [b & c, b | c, b ^ c, ~b, True & b, c | False,
                                      b ^ True, False ^ c, ~(b & c)], BOOLS)

# ---- unary functions -----------------------------------------------------------------------------
UNARY = [
    ("negative", FLOATS + INTS, A), ("abs", FLOATS + INTS, A), ("square", FLOATS + INTS, A),
    ("sign", FLOATS + INTS, A), ("sqrt", FLOATS, POSITIVE), ("rsqrt", FLOATS, POSITIVE),
    ("exp", FLOATS, A), ("log", FLOATS, POSITIVE), ("sigmoid", FLOATS, WIDE),
    ("tanh", FLOATS, WIDE), ("reciprocal", FLOATS, B),
]
for _name, _dtypes, _values in UNARY:
    for _dt in _dtypes:
        case(f"{_name}-{tag(_dt)}", lambda api, x, n=_name: getattr(api, n)(x),
             [a(_dt, _values)])
    case(f"{_name}-named", lambda api, x, n=_name: getattr(api, n)(x, name="u"),
         [a(F32, _values)])
    case(f"{_name}-py", lambda api, n=_name: getattr(api, n)(2.5), [])
case("sigmoid-extreme", lambda api, x: api.sigmoid(x),
     [np.array([-1000.0, -100.0, -20.0, 0.0, 20.0, 100.0, 1000.0], F32)])
case("sigmoid-extreme-f64", lambda api, x: api.sigmoid(x),
     [np.array([-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0], F64)])

# ---- comparisons, logic, casts, add_n ----------------------------------------------------------
case("logical", lambda api, b, c: [api.logical_and(b, c), api.logical_or(b, c),
                                   api.logical_not(b), api.logical_xor(b, c),
                                   api.logical_and(b, True, name="la")], BOOLS)
case("equal-bool", lambda api, b, c: [api.equal(b, c), api.not_equal(c, b)], BOOLS)
case("equal-string", lambda api, s: [api.equal(s, "b"), api.not_equal(s, s)],
     [np.array([b"a", b"b", b"c"], dtype=object)])
for _src, _dst in [(F32, I32), (F32, I64), (F64, F32), (I32, F32), (I64, F64), (I32, I64),
                   (F32, np.bool_)]:
    case(f"cast-{tag(_src)}-{tag(_dst)}", lambda api, x, d=_dst: api.cast(x, d),
         [a(_src, [[-2.7, -1.0, 0.0], [0.4, 1.5, 3.9]])])
case("cast-bool-float", lambda api, b: api.cast(b, "float32"), BOOLS[:1])
case("cast-same-dtype", lambda api, x: [api.cast(x, np.float32), api.cast(x, "int32")], [a(F32)])
case("cast-python", lambda api: [api.cast(3, "float32"), api.cast(1.0, "float32"),
                                 api.cast([1, 2], "int64"), api.cast(2.5, "int32", name="c")], [])
case("cast-names", lambda api, x: [api.cast(x, "int32", name="c"), api.to_float(api.cast(x, "int32")),
                                   api.to_int64(x), api.to_double(x), api.to_int32(x)], [a(F32)])
case("add_n", lambda api, x, y: [api.add_n([x, y, x]), api.add_n([x, y], name="s"),
                                 api.add_n([x]), api.add_n([x], name="one")],
     [a(F32), a(F32, B)])
case("add_n-int", lambda api, x, y: api.add_n((x, y)), [a(I32), a(I32, B)])
case("add_n-partial-shape", lambda api, x, y: api.add_n([x, y]), [a(F32), a(F32, B)],
     [[None, 3], [2, None]])

# ---- reductions ----------------------------------------------------------------------------------
REDUCTIONS = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod"]
X3 = np.arange(-11, 13).reshape(2, 3, 4)
for _r in REDUCTIONS:
    for _dt in FLOATS + INTS:
        case(f"{_r}-{tag(_dt)}", lambda api, x, r=_r: [getattr(api, r)(x),
                                                       getattr(api, r)(x, 1),
                                                       getattr(api, r)(x, [0, 2])],
             [(X3 * 0.5 if _dt in FLOATS else X3 // 3).astype(_dt)])
    case(f"{_r}-keepdims", lambda api, x, r=_r: [getattr(api, r)(x, -1, keepdims=True),
                                                  getattr(api, r)(x, keepdims=True),
                                                  getattr(api, r)(x, [-1, 0], keep_dims=True)],
         [X3.astype(F32)])
    case(f"{_r}-aliases", lambda api, x, r=_r: [getattr(api, r)(x, reduction_indices=[1]),
                                                 getattr(api, r)(x, axis=(0,), name="red"),
                                                 getattr(api, r)(x, np.int64(-2))],
         [X3.astype(F64)])
    case(f"{_r}-unknown-rank", lambda api, x, r=_r: [getattr(api, r)(x),
                                                      getattr(api, r)(x, 0)],
         [a(F32)], [None])
    case(f"{_r}-partial-shape", lambda api, x, r=_r: [getattr(api, r)(x),
                                                       getattr(api, r)(x, 1, keepdims=True)],
         [a(F32)], [[None, 3]])
    case(f"{_r}-scalar", lambda api, x, r=_r: getattr(api, r)(x), [np.array(2.5, F32)])
    case(f"{_r}-python", lambda api, r=_r: getattr(api, r)([[1.0, 2.0], [3.0, 4.0]], 0), [])
    case(f"{_r}-axis-tensor", lambda api, x, ax, r=_r: getattr(api, r)(x, ax),
         [X3.astype(F32), np.array([0, -1], I32)])
case("reduce_mean-int-truncates", lambda api, x: [api.reduce_mean(x, 1), api.reduce_mean(x)],
     [np.array([[-7, 0, 0], [7, 1, 0], [-1, -1, 1]], I32)])
case("reduce_mean-int-wide", lambda api, x: api.reduce_mean(x),
     [np.array([2**30, 2**30, 2**30], I32)])
case("reduce_sum-empty", lambda api, x: [api.reduce_sum(x, 0), api.reduce_max(x, 0),
                                         api.reduce_min(x, 0), api.reduce_prod(x, 0),
                                         api.reduce_mean(x, 0)], [np.zeros((0, 3), F32)])
case("reduce_max-nan", lambda api, x: [api.reduce_max(x, 1), api.reduce_min(x, 1)],
     [np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]], F32)])
for _r in ("reduce_any", "reduce_all"):
    case(f"{_r}", lambda api, b, r=_r: [getattr(api, r)(b), getattr(api, r)(b, 1),
                                        getattr(api, r)(b, -1, keepdims=True)], BOOLS[:1])

# ---- argmax / argmin -----------------------------------------------------------------------------
for _fn in ("argmax", "argmin"):
    for _dt in FLOATS + INTS:
        case(f"{_fn}-{tag(_dt)}", lambda api, x, f=_fn: [getattr(api, f)(x, 1),
                                                         getattr(api, f)(x)],
             [a(_dt, [[3, 1, 3], [-2, 5, 5]])])
    case(f"{_fn}-variants", lambda api, x, f=_fn: [
        getattr(api, f)(x, -1), getattr(api, f)(x, dimension=1),
        getattr(api, f)(x, 0, output_type="int32"), getattr(api, f)(x, 1, name="am")],
        [X3.astype(F32)])
    case(f"{_fn}-nan", lambda api, x, f=_fn: getattr(api, f)(x, 1),
         [np.array([[np.nan, 1.0, 3.0], [1.0, 3.0, np.nan], [np.nan, np.nan, np.nan]], F32)])
    case(f"{_fn}-unknown", lambda api, x, f=_fn: getattr(api, f)(x, 1), [a(F32)], [None])
    case(f"{_fn}-bool", lambda api, b, f=_fn: getattr(api, f)(b, 1), BOOLS[:1])

# ---- range, and ops on variables and inside name scopes -----------------------------------------
case("range", lambda api: [api.range(5), api.range(1, 9, 3), api.range(5, 1, -2),
                           api.range(0.0, 1.0, 0.25), api.range(3, dtype="int64"),
                           api.range(2, 7.5, name="r")], [])
case("range-tensor", lambda api, n: [api.range(n), api.range(n, 10, dtype="int64"),
                                     api.range(n, 10.0)], [np.array(3, I32)])


def _on_variables(api):
    v = api.Variable(np.array(A, F32), name="v")
    w = api.Variable(2.0, name="w")
    return [v + 1, 2 * v, -v, v / w, api.add(v, w), api.reduce_sum(v), api.reduce_mean(w),
            api.argmax(v, 1), api.cast(v, "float32"), api.cast(w, "int32"), v < w,
            api.add_n([v, v]), v @ [[1.0], [2.0], [3.0]]]


def _in_scopes(api):
    x = api.placeholder(F32, [2, 3], name="x")
    with api.name_scope("outer"):
        y = api.reduce_sum(x * 2.0, 1)
        with api.name_scope("inner"):
            z = api.maximum(x, 0.0, name="relu") / 3
    return [y, z, api.add(x, 1.0, name="outer/inner/explicit"), x + 1, api.add(x, 1)]


def _classifier(api):
    x = api.placeholder(F32, [None, 3], name="x")
    labels = api.placeholder(F32, [None, 2], name="labels")
    w = api.Variable(np.array([[0.5, -1.0], [1.5, 0.25], [-0.5, 2.0]], F32), name="w")
    b = api.Variable(np.array([0.1, -0.1], F32), name="b")
    logits = api.matmul(x, w) + b
    probs = api.sigmoid(logits)
    loss = api.reduce_mean(api.square(labels - probs), name="loss")
    hits = api.equal(api.argmax(logits, 1), api.argmax(labels, 1))
    accuracy = api.reduce_mean(api.cast(hits, api.float32), name="accuracy")
    clipped = api.minimum(api.maximum(logits, -1.0), 1.0)
    return [loss, accuracy, clipped, api.reduce_sum(probs, axis=1, keepdims=True) / 2]


@pytest.mark.parametrize("name,fn,inputs,shapes", CASES, ids=[c[0] for c in CASES])
def test_op_matches_tensorflow(tf, name, fn, inputs, shapes):
    def build(api):
        dims = shapes or [x.shape for x in inputs]
        phs = [api.placeholder(x.dtype if x.dtype != object else "string", d, name=f"in{i}")
               for i, (x, d) in enumerate(zip(inputs, dims))]
        return fn(api, *phs)
    (g1, _), (g2, _) = build_both(tf, build)
    assert_same_graph_def(g1, g2)
    ours, theirs = run_both(tf, build, {f"in{i}": x for i, x in enumerate(inputs)})
    assert_close(ours, theirs, what=name)


PROGRAMS = [
    (_on_variables, {}),
    (_in_scopes, {"x": np.array(B, F32)}),
    (_classifier, {"x": np.array(B + A, F32), "labels": np.array([[1, 0], [0, 1]] * 2, F32)}),
]


@pytest.mark.parametrize("build,feeds", PROGRAMS, ids=[p[0].__name__[1:] for p in PROGRAMS])
def test_programs_match_tensorflow(tf, build, feeds):
    (g1, _), (g2, _) = build_both(tf, build)
    assert_same_graph_def(g1, g2)
    ours, theirs = run_both(tf, build, feeds, init=build is not _in_scopes)
    assert_close(ours, theirs)


ERRORS = [
    ("bcast", lambda api: api.add(api.placeholder(F32, [2, 3]), api.placeholder(F32, [4])),
     ValueError),
    ("matmul-bool", lambda api: api.matmul(api.placeholder("bool", [2, 2]),
                                           api.placeholder("bool", [2, 2])), TypeError),
    ("reduce-axis", lambda api: api.reduce_sum(api.placeholder(F32, [2, 3]), 2), ValueError),
    ("argmax-axis", lambda api: api.argmax(api.placeholder(F32, [2, 3]), -3), ValueError),
    ("dtype-mismatch", lambda api: api.add(api.placeholder(F32, [2]),
                                           api.placeholder(I32, [2])), TypeError),
    ("truediv-bool", lambda api: api.placeholder("bool", [2]) / api.placeholder("bool", [2]),
     TypeError),
    ("sqrt-int", lambda api: api.sqrt(api.placeholder(I32, [2])), TypeError),
    ("add_n-empty", lambda api: api.add_n([]), ValueError),
    ("both-axes", lambda api: api.reduce_sum(api.placeholder(F32, [2]), 0,
                                             reduction_indices=0), ValueError),
    ("both-keepdims", lambda api: api.reduce_max(api.placeholder(F32, [2]), keepdims=True,
                                                 keep_dims=True), ValueError),
    ("argmax-both", lambda api: api.argmax(api.placeholder(F32, [2]), 0, dimension=0),
     ValueError),
    ("range-backwards", lambda api: api.range(5, 1), ValueError),
]


@pytest.mark.parametrize("name,build,error", ERRORS, ids=[e[0] for e in ERRORS])
def test_build_errors_match_tensorflow(tf, name, build, error):
    with pytest.raises(error):
        build_both(tf, lambda api: build(api) if api is flowsaver else None)
    with pytest.raises(error):
        build_both(tf, lambda api: None if api is flowsaver else build(api))


RUN_ERRORS = [
    ("floordiv-by-zero", lambda api, x: api.floordiv(x, 0), a(I32)),
    ("floormod-by-zero", lambda api, x: x % 0, a(I64)),
    ("pow-negative-int", lambda api, x: api.pow(x, -1), a(I32)),
    ("realdiv-int", lambda api, x: api.realdiv(x, 2), a(I32)),
    ("reciprocal-int", lambda api, x: api.reciprocal(x), a(I32, B)),
    ("argmax-empty", lambda api, x: api.argmax(x, 0), np.zeros((0, 3), F32)),
    ("sum-duplicate-axes", lambda api, x: api.reduce_sum(x, [1, -1]), a(F32)),
]


@pytest.mark.parametrize("name,fn,value", RUN_ERRORS, ids=[e[0] for e in RUN_ERRORS])
def test_run_errors_match_tensorflow(tf, name, fn, value):
    """Each system fails at Session.run with InvalidArgumentError (one side at a time)."""
    def build(api, failing):
        x = api.placeholder(value.dtype, value.shape, name="in0")
        return fn(api, x) if failing(api) else api.identity(x)
    with pytest.raises(flowsaver.errors.InvalidArgumentError):
        run_both(tf, lambda api: build(api, lambda m: m is flowsaver), {"in0": value})
    with pytest.raises(tf.errors.InvalidArgumentError):
        run_both(tf, lambda api: build(api, lambda m: m is not flowsaver), {"in0": value})
