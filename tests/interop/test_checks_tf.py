"""``tf.Assert``, the ``tf.assert_*`` checks, ``tf.check_numerics``, ``tf.Print`` and
``tf.print`` against real TensorFlow: the same GraphDefs, the same failures (error class and
message) when a check fails, and the same text printed."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import flowsaver
from parity import assert_same_graph_def, build_both, run_both, tf1_mode
from rows import arr, check_build_error, check_gradient, check_row, row

F32, F64, I32, I64 = np.float32, np.float64, np.int32, np.int64
X = np.array([1.5, 2.0, 3.0], F32)
NEG = np.array([1.5, -2.0, 3.0], F32)
M = np.arange(6, dtype=F32).reshape(2, 3)


def _checked(check):
    """A program whose output depends on ``check`` passing."""
    def build(api, x, *rest):
        with api.control_dependencies([check(api, x, *rest)]):
            return api.identity(x)
    return build


CHECKS = {
    "Assert-int": lambda api, x, i: api.Assert(api.reduce_all(i > 0), ["i must be positive", i]),
    "Assert-float-guarded": lambda api, x, i: api.Assert(api.reduce_all(x > 0.0),
                                                         ["x:", x, "i:", i], summarize=2,
                                                         name="pos"),
    "Assert-python-bool": lambda api, x, i: api.Assert(True, [x]),
    "assert_equal": lambda api, x, i: api.assert_equal(x, x * 1.0),
    "assert_equal-same": lambda api, x, i: api.assert_equal(x, x),
    "assert_none_equal": lambda api, x, i: api.assert_none_equal(x, x + 1.0, message="m"),
    "assert_less": lambda api, x, i: api.assert_less(x, 10.0, name="lt"),
    "assert_less_equal": lambda api, x, i: api.debugging.assert_less_equal(i, 5),
    "assert_greater": lambda api, x, i: api.assert_greater(x, -1.0, summarize=1),
    "assert_greater_equal": lambda api, x, i: api.assert_greater_equal(x, x),
    "assert_positive": lambda api, x, i: api.assert_positive(x, message="positive please"),
    "assert_negative": lambda api, x, i: api.assert_negative(-x),
    "assert_non_negative": lambda api, x, i: api.assert_non_negative(i),
    "assert_non_positive": lambda api, x, i: api.assert_non_positive(-x),
    "assert_near": lambda api, x, i: api.assert_near(x, x + 1e-7, rtol=1e-3),
    "assert_rank-static": lambda api, x, i: api.assert_rank(x, 1),
    "assert_rank-dynamic": lambda api, x, i: api.assert_rank(
        api.placeholder_with_default(x, None), 1, message="r"),
    "assert_rank_at_least": lambda api, x, i: api.assert_rank_at_least(
        api.placeholder_with_default(x, None), 1),
    "assert_integer-type": lambda api, x, i: api.group(api.assert_integer(i),
                                                       api.assert_type(x, api.float32)),
    "check_numerics": lambda api, x, i: api.check_numerics(x, "x is bad"),
    "verify_tensor_all_finite": lambda api, x, i: api.verify_tensor_all_finite(x, "vx"),
    "debugging-assert_all_finite": lambda api, x, i: api.debugging.assert_all_finite(x, "f"),
}


@pytest.mark.parametrize("check", CHECKS.values(), ids=list(CHECKS))
def test_checks_match_tensorflow(tf, check):
    check_row(tf, _checked(check), [X, np.array([1, 2, 3], I32)], None, False)


FAILING = {
    "Assert": (lambda api, x, i: api.Assert(api.reduce_all(x > 0.0),
                                            ["x must be positive", x, i], summarize=2), NEG),
    "Assert-int-data": (lambda api, x, i: api.Assert(api.reduce_all(x > 0.0),
                                                     ["positive", i]), NEG),
    "assert_equal": (lambda api, x, i: api.assert_equal(x, api.abs(x)), NEG),
    "assert_positive": (lambda api, x, i: api.assert_positive(x, message="m"), NEG),
    "assert_non_positive": (lambda api, x, i: api.assert_non_positive(x), NEG),
    "assert_less": (lambda api, x, i: api.assert_less(i, 2, summarize=5), NEG),
    "assert_near": (lambda api, x, i: api.assert_near(x, x + 1.0), NEG),
    "assert_rank": (lambda api, x, i: api.assert_rank(api.placeholder_with_default(x, None),
                                                      2), NEG),
    "check_numerics-nan": (lambda api, x, i: api.check_numerics(x / 0.0 * 0.0, "nan here"), X),
    "check_numerics-inf": (lambda api, x, i: api.check_numerics(x / 0.0, "inf here"), X),
    "check_numerics-both": (lambda api, x, i: api.check_numerics(
        api.log(x) / (x - 2.0), "both"), np.array([0.0, 2.0, -1.0], F32)),
}


def _message(error) -> str:
    """The kernel's own message in TensorFlow's (the line after ``Node: '...'``)."""
    lines = error.message.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Node: "):
            return lines[i + 1]
    return lines[0]


@pytest.mark.parametrize("check,value", FAILING.values(), ids=list(FAILING))
def test_failing_checks_raise_as_in_tensorflow(tf, check, value):
    feeds = {"in0": value, "in1": np.array([1, 2, 3], I32)}

    def build(api, failing):
        x = api.placeholder(F32, [3], name="in0")
        i = api.placeholder(I32, [3], name="in1")
        return _checked(check)(api, x, i) if failing(api) else x
    with pytest.raises(tf.errors.InvalidArgumentError) as theirs:
        run_both(tf, lambda api: build(api, lambda m: m is not flowsaver), feeds)
    with pytest.raises(flowsaver.errors.InvalidArgumentError) as ours:
        run_both(tf, lambda api: build(api, lambda m: m is flowsaver), feeds)
    assert _message(theirs.value) == ours.value.message.splitlines()[0]


STATIC_ERRORS = [
    ("assert_equal-constants", lambda api: api.assert_equal([1, 2], [1, 3]),
     "InvalidArgumentError"),
    ("assert_less-constants", lambda api: api.assert_less(3.0, 2.0, message="m"),
     "InvalidArgumentError"),
    ("assert_rank-static", lambda api: api.assert_rank(api.placeholder(F32, [2, 3]), 1,
                                                       message="mm"), ValueError),
    ("assert_rank_at_least-static", lambda api: api.assert_rank_at_least(
        api.placeholder(F32, [2]), 2), ValueError),
    ("assert_integer", lambda api: api.assert_integer(api.placeholder(F32, [2])), TypeError),
    ("assert_type", lambda api: api.assert_type(api.placeholder(F32, [2]), api.int32),
     TypeError),
    ("assert_scalar", lambda api: api.assert_scalar(api.placeholder(F32, [2])), ValueError),
]


@pytest.mark.parametrize("build,error", [pytest.param(b, e, id=n)
                                         for n, b, e in STATIC_ERRORS])
def test_static_check_failures_match_tensorflow(tf, build, error):
    if isinstance(error, str):
        with pytest.raises(getattr(tf.errors, error)) as theirs:
            build_both(tf, lambda api: None if api is flowsaver else build(api))
        with pytest.raises(getattr(flowsaver.errors, error)) as ours:
            build_both(tf, lambda api: build(api) if api is flowsaver else None)
        assert ours.value.message == theirs.value.message
    else:
        check_build_error(tf, build, error)
        with pytest.raises(error) as theirs:
            build_both(tf, lambda api: None if api is flowsaver else build(api))
        with pytest.raises(error) as ours:
            build_both(tf, lambda api: build(api) if api is flowsaver else None)
        assert str(ours.value) == str(theirs.value)


# ---- sparse cross entropy of rank > 2 with unknown shapes: a runtime shape assertion ---------
LOGITS, LABELS = arr(2, 3, 4), np.array([[0, 3, 1], [2, 2, 0]], I32)
SPARSE_ROWS = [
    row("sparse-xent-rank3-unknown-batch", lambda api, x, y: api.nn.
        sparse_softmax_cross_entropy_with_logits(labels=y, logits=x), [LOGITS, LABELS],
        [[None, 3, 4], [None, 3]], grad=True),
    row("sparse-xent-rank3-unknown-rank", lambda api, x, y: api.reduce_mean(
        api.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)),
        [LOGITS, LABELS], [[2, 3, 4], None], grad=True),
]


@pytest.mark.parametrize("fn,inputs,shapes,grad,rtol", SPARSE_ROWS)
def test_sparse_xent_with_unknown_shapes_matches_tensorflow(tf, fn, inputs, shapes, grad, rtol):
    check_row(tf, fn, inputs, shapes, grad, rtol)


def test_sparse_xent_shape_mismatch_fails_at_run_as_in_tensorflow(tf):
    def build(api):
        x = api.placeholder(F32, [None, 3, 4], name="in0")
        y = api.placeholder(I32, [None, 2], name="in1")
        return api.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)
    feeds = {"in0": LOGITS, "in1": LABELS[:, :2]}
    with tf1_mode(tf) as v1:
        g = v1.Graph()
        with g.as_default():
            out = build(v1)
        with v1.Session(graph=g) as sess, pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(out, {"in0:0": LOGITS, "in1:0": LABELS[:, :2]})
    g = flowsaver.Graph()
    with g.as_default():
        out = build(flowsaver)
    with flowsaver.Session(graph=g) as sess:
        with pytest.raises(flowsaver.errors.InvalidArgumentError, match="assertion failed"):
            sess.run(out, {k + ":0": v for k, v in feeds.items()})


# ---- printing --------------------------------------------------------------------------------
VALUES = {
    "vector": np.arange(10, dtype=F32) / 4,
    "matrix": M,
    "cube": np.arange(60, dtype=I64).reshape(3, 4, 5),
    "scalar": np.array(1 / 3, F64),
    "bools": np.array([True, False, True]),
    "strings": np.array([b"a\nb", b"quote\"", b"\x01"], dtype=object),
    "specials": np.array([np.nan, np.inf, -np.inf, -0.0, 1e20, 123456789.0], F32),
    "empty": np.zeros((2, 0), F32),
}
PRINTS = {
    "Print": lambda api, x: api.Print(x, [x, "text", x], message="msg: "),
    "Print-summarize": lambda api, x: api.Print(x, [x], summarize=2, first_n=5),
    "Print-all": lambda api, x: api.Print(x, [x], summarize=-1),
    "print": lambda api, x: api.print(x),
    "print-mixed": lambda api, x: api.print("value:", x, {"k": [x, 2]}, 3.5, sep="|",
                                            end="!\n", summarize=2),
    "print-all": lambda api, x: api.print(x, summarize=-1, name="p"),
    "print-stdout": lambda api, x: api.print("out", x, output_stream=sys.stdout),
}


def _print_program(print_fn, value):
    def build(api):
        x = api.placeholder(value.dtype if value.dtype != object else "string", value.shape,
                            name="in0")
        out = print_fn(api, x)
        if isinstance(out, (flowsaver.Operation, )) or type(out).__name__ == "Operation":
            with api.control_dependencies([out]):
                return api.identity(x)
        return out
    return build


# every print function with every value, but strings once less: summarize on strings is
# what the other string rows already cover
PRINT_CASES = [pytest.param(fn, value, id=f"{fn_id}-{value_id}")
               for fn_id, fn in PRINTS.items() for value_id, value in VALUES.items()
               if not (value.dtype == object and fn_id == "Print-summarize")]


@pytest.mark.parametrize("print_fn, value", PRINT_CASES)
def test_printed_text_matches_tensorflow(tf, capfd, print_fn, value):
    build = _print_program(print_fn, value)
    (g1, _), (g2, _) = build_both(tf, build)
    assert_same_graph_def(g1, g2)
    capfd.readouterr()
    with tf1_mode(tf) as v1, v1.Session(graph=g2) as sess:
        sess.run(g2.get_tensor_by_name(g2.get_operations()[-1].outputs[0].name),
                 {"in0:0": value})
    theirs = capfd.readouterr()
    with flowsaver.Session(graph=g1) as sess:
        sess.run(g1.get_operations()[-1].outputs[0], {"in0:0": value})
    ours = capfd.readouterr()
    assert (ours.out, ours.err) == (theirs.out, theirs.err)
    assert theirs.out or theirs.err


def test_print_first_n_counts_runs_of_a_session(capfd):
    g = flowsaver.Graph()
    with g.as_default():
        x = flowsaver.placeholder(F32, [2])
        y = flowsaver.Print(x, [x], message="seen ", first_n=2)
        with flowsaver.Session() as sess:
            for _ in range(4):
                sess.run(y, {x: [1.0, 2.0]})
            sess.run([y, x * 2], {x: [1.0, 2.0]})
    assert capfd.readouterr().err == "seen [1 2]\nseen [1 2]\n"


def test_check_numerics_gradient_matches_tensorflow(tf):
    check_gradient(tf, lambda api, x: api.check_numerics(x * 2.0, "fwd"), [X], None)
