"""``tf.cond`` (TF1 Switch/Merge): only the taken branch runs; dead tensors; errors.

GraphDef parity with TensorFlow is in ``tests/interop/test_graph_def_tf.py``.
"""
from __future__ import annotations

import collections

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors


@pytest.fixture()
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


@pytest.fixture()
def xp(g):
    return tf.placeholder(tf.float32, [2], name="x"), tf.placeholder(tf.bool, [], name="p")


X = np.array([1.0, 2.0], np.float32)


def _run(fetch, x, p, pred, value=X):
    with tf.Session() as sess:
        return sess.run(fetch, {x: value, p: pred})


def test_cond_builds_tensorflows_nodes(g, xp):
    x, p = xp
    out = tf.cond(p, lambda: x * 2.0, lambda: x + 1.0)
    assert out.name == "cond/Merge:0" and out.shape.as_list() == [2]
    names = [(op.name, op.type) for op in g.get_operations()[2:]]
    assert names == [
        ("cond/Switch", "Switch"), ("cond/switch_t", "Identity"),
        ("cond/switch_f", "Identity"), ("cond/pred_id", "Identity"),
        ("cond/mul/y", "Const"), ("cond/mul", "Mul"), ("cond/mul/Switch", "Switch"),
        ("cond/add/y", "Const"), ("cond/add", "AddV2"), ("cond/add/Switch", "Switch"),
        ("cond/Merge", "Merge")]
    assert [t.name for t in out.op.inputs] == ["cond/add:0", "cond/mul:0"]  # false first
    assert g.get_operation_by_name("cond/mul/y").control_inputs == \
        [g.get_operation_by_name("cond/switch_t")]


@pytest.mark.parametrize("pred,expected", [(True, [2.0, 4.0]), (False, [2.0, 3.0])])
def test_the_taken_branch_gives_the_value(g, xp, pred, expected):
    x, p = xp
    out = tf.cond(p, lambda: x * 2.0, lambda: x + 1.0)
    np.testing.assert_array_equal(_run(out, x, p, pred), expected)


def test_the_untaken_branch_does_not_run(g, xp):
    x, p = xp
    v = tf.Variable(0.0, name="counter")
    out = tf.cond(p, lambda: v.assign_add(1.0), lambda: tf.identity(v))
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(out, {p: False}) == 0.0
        assert sess.run(out, {p: True}) == 1.0
        assert sess.run(out, {p: True}) == 2.0
        assert sess.run(v) == 2.0


def test_an_uninitialized_variable_on_the_untaken_branch_is_not_read(g, xp):
    x, p = xp
    v = tf.Variable([5.0, 5.0], name="late")
    inside = tf.cond(p, lambda: x + v.read_value(), lambda: x)  # read in the branch
    np.testing.assert_array_equal(_run(inside, x, p, False), X)
    with pytest.raises(errors.FailedPreconditionError, match="late"):
        _run(inside, x, p, True)
    # as in TensorFlow, ``x + v`` reads ``late/read``, made outside the cond: always runs
    outside = tf.cond(p, lambda: x + v, lambda: x)
    with pytest.raises(errors.FailedPreconditionError, match="late"):
        _run(outside, x, p, False)


def test_the_inside_of_a_cond_is_not_fetchable(g, xp):
    x, p = xp
    inside = []

    def true_fn():
        inside.append(x * 3.0)
        return inside[0]
    tf.cond(p, true_fn, lambda: x)
    for name in ("cond/mul:0", "cond/Switch:0", "cond/pred_id:0", "cond/switch_t:0",
                 "cond/mul/Switch:1", "cond/Switch_1:0"):
        with tf.Session() as sess:
            with pytest.raises(ValueError, match="not fetchable"):
                sess.run(name, {x: X, p: True})
    with tf.Session() as sess:
        with pytest.raises(ValueError, match="cond/mul has been marked as not fetchable"):
            sess.run(inside[0].op, {x: X, p: True})
        assert sess.run("cond/Merge:1", {x: X, p: True}) == 1


def test_a_dead_tensor_fetched_outside_the_cond_is_an_error(g, xp):
    x, p = xp
    inside = []

    def true_fn():
        inside.append(x * 3.0)
        return inside[0]
    tf.cond(p, true_fn, lambda: x)
    after = tf.add(inside[0], 1.0, name="after")  # outside the cond: fetchable, maybe dead
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(after, {x: X, p: True}), [4.0, 7.0])
        with pytest.raises(errors.InvalidArgumentError, match="after:0"):
            sess.run(after, {x: X, p: False})


def test_merge_value_index_says_which_branch_ran(g, xp):
    x, p = xp
    out = tf.cond(p, lambda: x, lambda: -x)
    index = out.op.outputs[1]
    assert index.dtype == tf.int32
    assert _run(index, x, p, True) == 1 and _run(index, x, p, False) == 0


def test_branches_of_constants_and_python_values(g, xp):
    x, p = xp
    out = tf.cond(p, lambda: tf.constant(1.0), lambda: 2.0)
    assert _run(out, x, p, True) == 1.0 and _run(out, x, p, False) == 2.0


Point = collections.namedtuple("Point", "a b")
STRUCTURES = [
    ("tuple", lambda x: (x, x * 2.0), lambda x: (x, x * 3.0), (2.0, 6.0)),
    ("list", lambda x: [x, x + 1.0], lambda x: [x, x - 1.0], [2.0, 1.0]),
    ("dict", lambda x: {"b": x, "a": x * 2.0}, lambda x: {"b": x, "a": x * 0.0},
     {"a": 0.0, "b": 2.0}),
    ("namedtuple", lambda x: Point(x, x), lambda x: Point(-x, x), Point(-2.0, 2.0)),
    ("nested", lambda x: {"k": (x, [x])}, lambda x: {"k": (x + 1.0, [x])},
     {"k": (3.0, [2.0])}),
    ("singleton", lambda x: [x], lambda x: [x * 5.0], 10.0),
]


@pytest.mark.parametrize("name,t,f,expected", STRUCTURES, ids=[c[0] for c in STRUCTURES])
def test_branch_results_keep_their_structure(g, name, t, f, expected):
    x = tf.placeholder(tf.float32, [], name="x")
    p = tf.placeholder(tf.bool, [], name="p")
    out = tf.cond(p, lambda: t(x), lambda: f(x))
    with tf.Session() as sess:
        got = sess.run(out, {x: 2.0, p: False})
    assert type(got) is type(expected) or isinstance(expected, float)
    assert got == expected


def test_strict_keeps_singletons(g, xp):
    x, p = xp
    out = tf.cond(p, lambda: [x], lambda: [x], strict=True)
    assert isinstance(out, list) and len(out) == 1


def test_nested_conds(g, xp):
    x, p = xp
    q = tf.placeholder(tf.bool, [], name="q")
    out = tf.cond(p, lambda: tf.cond(q, lambda: x + 1.0, lambda: x * 2.0), lambda: x - 1.0)
    with tf.Session() as sess:
        for pv, qv, want in [(True, True, [2.0, 3.0]), (True, False, [2.0, 4.0]),
                             (False, True, [0.0, 1.0]), (False, False, [0.0, 1.0])]:
            np.testing.assert_array_equal(sess.run(out, {x: X, p: pv, q: qv}), want)


def test_an_operation_as_a_branch_result(g, xp):
    x, p = xp
    v = tf.Variable(0.0, name="v")
    out = tf.cond(p, lambda: v.assign(1.0).op, lambda: tf.no_op())
    assert out.dtype == tf.bool
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(out, {p: False}) == False  # noqa: E712
        assert sess.run(v) == 0.0
        assert sess.run(out, {p: True}) == True  # noqa: E712
        assert sess.run(v) == 1.0


def test_a_variable_predicate(g):
    flag = tf.Variable(True, name="flag")
    out = tf.cond(flag, lambda: tf.constant(1), lambda: tf.constant(0))
    with tf.Session() as sess:
        sess.run(flag.initializer)
        assert sess.run(out) == 1
        sess.run(flag.assign(False))
        assert sess.run(out) == 0


def test_control_dependencies_inside_a_branch(g, xp):
    x, p = xp
    v = tf.Variable(0.0, name="v")

    def true_fn():
        with tf.control_dependencies([v.assign(7.0)]):
            return tf.identity(x)
    out = tf.cond(p, true_fn, lambda: x)
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(out, {x: X, p: False})
        assert sess.run(v) == 0.0
        sess.run(out, {x: X, p: True})
        assert sess.run(v) == 7.0


def test_plans_without_conditionals_do_not_track_dead_tensors(g, xp):
    from flowsaver.runtime import executor
    x, p = xp
    y = x * 2.0
    out = tf.cond(p, lambda: y, lambda: x)
    plain = executor.build_plan([y], [], [x], ctx=None)
    assert not plain.dead_aware
    with tf.Session() as sess:
        sess.run(out, {x: X, p: True})
    cond_plan = executor.build_plan([out], [], [x, p], ctx=None)
    assert cond_plan.dead_aware


ERRORS = [
    ("python_bool", lambda x, p: tf.cond(True, lambda: x, lambda: x), TypeError,
     "must not be a Python bool"),
    ("not_callable", lambda x, p: tf.cond(p, 3, lambda: x), TypeError, "callable"),
    ("no_result", lambda x, p: tf.cond(p, lambda: None, lambda: x), ValueError,
     "must have a return value"),
    ("dtypes", lambda x, p: tf.cond(p, lambda: x, lambda: tf.constant([1, 2])), ValueError,
     "same type"),
    ("structures", lambda x, p: tf.cond(p, lambda: (x, x), lambda: x), ValueError,
     "same nested structure"),
]


@pytest.mark.parametrize("name,build,error,fragment", ERRORS, ids=[c[0] for c in ERRORS])
def test_cond_errors(g, xp, name, build, error, fragment):
    with pytest.raises(error, match=fragment):
        build(*xp)


def test_ops_made_after_a_cond_are_ordinary(g, xp):
    x, p = xp
    tf.cond(p, lambda: x, lambda: x)
    after = tf.constant(1.0, name="after")
    assert after.op.control_inputs == []
    assert "_add_op" not in vars(g)  # the branch hook is gone
