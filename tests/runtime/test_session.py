"""``tf.Session`` and ``tf.InteractiveSession``: fetches, feeds, pruning, state, errors."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors

X = np.array([1.0, 2.0], np.float32)
Pair = collections.namedtuple("Pair", "first second")


@pytest.fixture()
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


@pytest.fixture()
def model(g):
    x = tf.placeholder(tf.float32, [2], name="x")
    v = tf.Variable([10.0, 20.0], name="v")
    y = tf.add(x, v, name="y")
    return x, v, y


@pytest.fixture()
def sess(g, model):
    with tf.Session() as session:
        session.run(model[1].initializer)
        yield session


# ---- fetches ----------------------------------------------------------------------------------
def test_fetch_a_tensor_gives_an_array(sess, model):
    x, v, y = model
    out = sess.run(y, {x: X})
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, [11.0, 22.0])


def test_fetch_a_scalar_gives_a_numpy_scalar(g):
    with tf.Session() as sess:
        out = sess.run(tf.constant(3, name="three"))
    assert out == 3 and isinstance(out, np.int32)


def test_fetch_an_operation_gives_none(sess, model):
    assert sess.run(model[1].initializer) is None
    assert sess.run(tf.no_op()) is None


def test_fetch_by_name(sess, model):
    x = model[0]
    np.testing.assert_array_equal(sess.run("y:0", {x: X}), [11.0, 22.0])
    assert sess.run("v/Assign") is None  # an operation's name: run it, fetch nothing


def test_fetch_a_variable_gives_its_value(sess, model):
    np.testing.assert_array_equal(sess.run(model[1]), [10.0, 20.0])


FETCH_STRUCTURES = [
    ("list", lambda y, x: [y, x], lambda a, b: [a, b]),
    ("tuple", lambda y, x: (y, x), lambda a, b: (a, b)),
    ("dict", lambda y, x: {"y": y, "x": x}, lambda a, b: {"y": a, "x": b}),
    ("namedtuple", lambda y, x: Pair(y, x), lambda a, b: Pair(a, b)),
    ("nested", lambda y, x: {"k": [y, (x, {"deep": y})]},
     lambda a, b: {"k": [a, (b, {"deep": a})]}),
    ("empty_list", lambda y, x: [], lambda a, b: []),
]


@pytest.mark.parametrize("name,make,expect", FETCH_STRUCTURES, ids=[c[0] for c in FETCH_STRUCTURES])
def test_fetch_structures_come_back_in_the_same_shape(sess, model, name, make, expect):
    x, _, y = model
    out = sess.run(make(y, x), {x: X})
    want = expect("Y", "X")
    assert type(out) is type(want)
    flat_out, flat_want = _leaves(out), _leaves(want)
    assert len(flat_out) == len(flat_want)
    for got, tag in zip(flat_out, flat_want):
        np.testing.assert_array_equal(got, [11.0, 22.0] if tag == "Y" else X)


def _leaves(value):
    if isinstance(value, dict):
        return [leaf for k in value for leaf in _leaves(value[k])]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def test_the_same_fetch_twice_runs_once(g):
    r = tf.random_normal([3], name="r")
    with tf.Session() as sess:
        a, b = sess.run([r, r])
        c = sess.run(r)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)  # a new run draws again


def test_fetched_values_are_copies_not_the_variable_storage(sess, model):
    out = sess.run(model[1])
    out[0] = -1.0
    np.testing.assert_array_equal(sess.run(model[1]), [10.0, 20.0])


# ---- feeds ------------------------------------------------------------------------------------
def test_feed_by_tensor_or_by_name(sess, model):
    x, _, y = model
    for key in (x, "x:0"):
        np.testing.assert_array_equal(sess.run(y, {key: [0.0, 1.0]}), [10.0, 21.0])


def test_feed_converts_python_values_to_the_tensor_dtype(sess, model):
    x, _, y = model
    out = sess.run(x, {x: [1, 2]})
    assert out.dtype == np.float32


def test_feeding_an_intermediate_tensor_replaces_its_computation(sess, model):
    x, _, y = model
    z = y * 2.0
    np.testing.assert_array_equal(sess.run(z, {y: [1.0, 1.0]}), [2.0, 2.0])  # x not needed


def test_a_fed_op_that_still_runs_does_not_overwrite_the_feed(g):
    x = tf.constant(1.0, name="x")
    y = tf.identity(x, name="y")
    w = tf.add(y, 0.0, name="w")
    with tf.control_dependencies([y.op]):  # y's op runs, but its value is the feed
        c = tf.constant(5.0, name="c")
    with tf.Session() as sess:
        assert sess.run([c, w, y], {y: 7.0}) == [5.0, 7.0, 7.0]


def test_feeding_a_variable_value(sess, model):
    x, v, y = model
    out = sess.run(y, {x: X, v.value(): [0.0, 0.0]})
    np.testing.assert_array_equal(out, X)


def test_only_the_needed_subgraph_runs(g, model):
    x, v, y = model
    unfed = tf.placeholder(tf.float32, name="unused")
    boom = tf.add(unfed, v)  # never fetched: neither its placeholder nor v matter
    with tf.Session() as sess:
        assert sess.run(tf.constant(5.0)) == 5.0
        np.testing.assert_array_equal(sess.run(x * 3.0, {x: X}), [3.0, 6.0])
    assert boom.op.name == "Add"


def test_a_control_dependency_on_a_fed_placeholder_is_met_by_the_feed(g, model):
    x, _, y = model
    with tf.control_dependencies([x]):
        z = tf.identity(tf.constant(1.0), name="z")
    gate = tf.group(x)
    with tf.Session() as sess:
        assert sess.run([z, gate], {x: X}) == [1.0, None]
        with pytest.raises(errors.InvalidArgumentError, match="placeholder tensor 'x'"):
            sess.run(z)


# ---- state ------------------------------------------------------------------------------------
def test_two_sessions_hold_separate_variable_values(g, model):
    v = model[1]
    inc = v.assign_add([1.0, 1.0])
    with tf.Session() as one, tf.Session() as two:
        one.run(v.initializer)
        two.run(v.initializer)
        one.run(inc)
        one.run(inc)
        np.testing.assert_array_equal(one.run(v), [12.0, 22.0])
        np.testing.assert_array_equal(two.run(v), [10.0, 20.0])
    with tf.Session() as three:  # a new session starts uninitialized
        with pytest.raises(errors.FailedPreconditionError):
            three.run(v)


def test_session_context_manager_sets_defaults_and_closes(g, model):
    with tf.Session() as sess:
        assert tf.get_default_session() is sess
        assert sess.graph is g
    assert tf.get_default_session() is None
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(model[1].initializer)


def test_session_for_another_graph_uses_that_graph(g):
    other = tf.Graph()
    with other.as_default():
        c = tf.constant(7.0, name="c")
    with tf.Session(graph=other) as sess:
        assert sess.graph is other and tf.get_default_graph() is other
        assert sess.run("c:0") == 7.0 and sess.run(c) == 7.0
    assert tf.get_default_graph() is g


def test_interactive_session_serves_eval_and_run(g, model):
    x, v, y = model
    sess = tf.InteractiveSession()
    try:
        assert tf.get_default_session() is sess
        v.initializer.run()
        np.testing.assert_array_equal(y.eval({x: X}), [11.0, 22.0])
        v.assign([0.0, 0.0]).op.run()
        np.testing.assert_array_equal(v.eval(), [0.0, 0.0])
    finally:
        sess.close()
    assert tf.get_default_session() is None
    with pytest.raises(ValueError, match="No default session"):
        y.eval({x: X})


def test_eval_with_an_explicit_session(g, model):
    x, v, y = model
    with tf.Session() as a:
        a.run(v.initializer)
    b = tf.Session()
    b.run(v.initializer)
    np.testing.assert_array_equal(y.eval({x: X}, session=b), [11.0, 22.0])
    b.close()


def test_make_callable(sess, model):
    x, _, y = model
    fn = sess.make_callable(y, [x])
    np.testing.assert_array_equal(fn(X), [11.0, 22.0])
    np.testing.assert_array_equal(fn([0.0, 0.0]), [10.0, 20.0])


# ---- errors -----------------------------------------------------------------------------------
def test_uninitialized_variable_names_the_variable(g, model):
    x, v, y = model
    with tf.Session() as sess:
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value v"):
            sess.run(y, {x: X})
        with pytest.raises(errors.FailedPreconditionError, match="v"):
            sess.run(v)


def test_unfed_placeholder_names_it(sess, model):
    with pytest.raises(errors.InvalidArgumentError, match="placeholder tensor 'x'") as info:
        sess.run(model[2])
    assert "float32" in str(info.value)
    assert isinstance(info.value, errors.OpError)


def test_wrong_feed_shape_names_the_tensor_and_both_shapes(sess, model):
    x, _, y = model
    with pytest.raises(ValueError) as info:
        sess.run(y, {x: [1.0, 2.0, 3.0]})
    message = str(info.value)
    assert "x:0" in message and "(3,)" in message and "(2,)" in message


def test_wrong_feed_dtype_is_a_type_error(sess, model):
    with pytest.raises(TypeError, match="x:0"):
        sess.run(model[2], {model[0]: "text"})


def test_closed_session_refuses_to_run(g, model):
    sess = tf.Session()
    sess.close()
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(model[1].initializer)


def test_tensor_of_another_graph_is_refused(sess, model):
    with tf.Graph().as_default():
        stranger = tf.constant(1.0)
    with pytest.raises(ValueError, match="not an element of this graph"):
        sess.run(stranger)
    with pytest.raises(TypeError, match="not an element of this graph"):
        sess.run(model[2], {stranger: 1.0})


@pytest.mark.parametrize("fetch,error", [(3, TypeError), (None, TypeError),
                                         ("nope:0", ValueError), ("nope", ValueError)])
def test_bad_fetches(sess, fetch, error):
    with pytest.raises(error):
        sess.run(fetch)


def test_bad_feed_keys(sess, model):
    with pytest.raises(TypeError, match="Cannot interpret feed_dict key"):
        sess.run(model[2], {"nope:0": 1.0})
    with pytest.raises(TypeError, match="Cannot interpret feed_dict key"):
        sess.run(model[2], {"x": X})  # an operation's name, not a tensor's


def test_a_tensor_cannot_be_a_feed_value(sess, model):
    x, _, y = model
    with pytest.raises(TypeError, match="cannot be a tf.Tensor"):
        sess.run(y, {x: y})


def test_error_in_a_kernel_names_the_node(g):
    a = tf.placeholder(tf.float32, [None, 3], name="a")
    b = tf.placeholder(tf.float32, [None, 3], name="b")
    total = tf.add(a, b, name="total")
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match="total"):
            sess.run(total, {a: np.ones([2, 3]), b: np.ones([4, 3])})


def test_fetching_indexed_slices_gives_an_indexed_slices_value():
    g = tf.Graph()
    with g.as_default():
        params = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        loss = tf.reduce_sum(tf.gather(params, [2, 0]))
        grad = tf.gradients(loss, [params])[0]
        assert isinstance(grad, tf.IndexedSlices)
        with tf.Session() as sess:
            value = sess.run(grad)
    assert isinstance(value, tf.IndexedSlicesValue)
    np.testing.assert_array_equal(value.indices, [2, 0])
    np.testing.assert_array_equal(value.values, np.ones((2, 2), np.float32))
    np.testing.assert_array_equal(value.dense_shape, [3, 2])


# ---- ops nothing reads ------------------------------------------------------------------------
# TensorFlow's dependency optimizer never runs a pure op whose outputs nobody reads and that
# only control edges wait for (tests/interop/test_unread_ops_tf.py holds the same cases
# against TensorFlow). A gradient ``tuple`` makes such ops in every training step.
def _gated(g, condition=False):
    x = tf.placeholder(tf.float32, [None], name="x")
    bad = tf.reshape(tf.square(x) + 1.0, [3], name="bad")   # fails on 4 values
    with tf.control_dependencies([bad]):
        if condition:
            flag = tf.placeholder(tf.bool, [], name="flag")
            out = tf.cond(flag, lambda: tf.identity(x), lambda: x * 2.0)
        else:
            out = tf.identity(x, name="out")
    return x, bad, out


@pytest.mark.parametrize("condition", [False, True], ids=["plain", "with_a_cond"])
def test_a_pure_op_only_control_edges_wait_for_never_runs(g, condition):
    x, bad, out = _gated(g, condition)
    feeds = {x: [1.0, 2.0, 3.0, 4.0]}
    if condition:
        feeds[g.get_tensor_by_name("flag:0")] = True
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(out, feeds), [1.0, 2.0, 3.0, 4.0])
        # fetched, or run as a target, it runs (and fails)
        for fetch in (bad, bad.op):
            with pytest.raises(errors.InvalidArgumentError, match="bad"):
                sess.run([out, fetch], feeds)


def test_stateful_ops_and_checks_behind_control_edges_still_run(g):
    x = tf.placeholder(tf.float32, [None], name="x")
    counter = tf.Variable(0.0, name="counter")
    doubled = tf.assign_add(counter, 1.0) * 2.0       # pure, but it reads a stateful op
    check = tf.check_numerics(x, "x has a NaN")       # checks run for their error
    with tf.control_dependencies([doubled, check]):
        out = tf.identity(x)
    with tf.Session() as sess:
        sess.run(counter.initializer)
        sess.run(out, {x: [1.0]})
        assert sess.run(counter) == 1.0
        with pytest.raises(errors.InvalidArgumentError, match="x has a NaN"):
            sess.run(out, {x: [np.nan]})


def test_a_training_step_never_computes_the_input_images_gradient(g):
    from flowsaver.runtime import planner
    images = tf.placeholder(tf.float32, [2, 8, 8, 1], name="images")
    filters = tf.Variable(np.ones([3, 3, 1, 4], np.float32) * 0.1, name="filters")
    features = tf.nn.relu(tf.nn.conv2d(images, filters, [1, 1, 1, 1], "SAME"))
    loss = tf.reduce_sum(tf.square(features))
    train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
    with tf.Session() as sess:
        sess.run(filters.initializer)
        plan = planner.make_plan([], [train], [images], sess._ctx)
        unread = {step.op.type for step in plan.steps if step.unread}
        assert "Conv2DBackpropInput" in unread and "Conv2DBackpropFilter" not in unread
        before = sess.run(filters)
        sess.run(train, {images: np.ones([2, 8, 8, 1], np.float32)})
        assert not np.array_equal(before, sess.run(filters))
