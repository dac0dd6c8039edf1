"""``tf.Variable`` (TF1 ref variables): its ops, values, assignments and collections."""
from __future__ import annotations

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
def sess(g):
    with tf.Session() as session:
        yield session


def test_variable_tensors_and_ops(g):
    v = tf.Variable([1.0, 2.0], name="v")
    assert (v.name, v.op.name, v.op.type) == ("v:0", "v", "VariableV2")
    assert v.dtype._is_ref_dtype and v.dtype.name == "float32_ref"
    assert v.dtype.base_dtype == tf.float32
    assert v.shape.as_list() == [2] and v.get_shape().as_list() == [2]
    assert v.graph is g and v.device == ""
    assert v.initializer.name == "v/Assign" and v.initializer.type == "Assign"
    assert v.initial_value.name == "v/initial_value:0"
    assert v.value().name == "v/read:0" and v.value().dtype == tf.float32
    assert v.trainable
    assert repr(v) == "<tf.Variable 'v:0' shape=(2,) dtype=float32_ref>"


def test_read_value_makes_a_new_read(g):
    v = tf.Variable(1.0, name="v")
    first, second = v.read_value(), v.read_value()
    assert (first.name, second.name) == ("read:0", "read_1:0")
    assert first.op.type == "Identity" and first.op.inputs[0] is v._ref()


def test_values_in_a_session(g, sess):
    v = tf.Variable([1.0, 2.0], name="v")
    sess.run(v.initializer)
    for read in (v, v.value(), v.read_value(), v.initialized_value()):
        np.testing.assert_array_equal(sess.run(read), [1.0, 2.0])
    np.testing.assert_array_equal(v.eval(sess), [1.0, 2.0])
    np.testing.assert_array_equal(sess.run(v.initial_value), [1.0, 2.0])


def test_initialized_value_before_and_after_initialization(g, sess):
    v = tf.Variable([1.0, 2.0], name="v")
    iv = v.initialized_value()
    assert iv.op.type == "Merge" and iv.name == "cond/Merge:0"
    np.testing.assert_array_equal(sess.run(iv), [1.0, 2.0])  # not initialized: initial value
    with pytest.raises(errors.FailedPreconditionError):
        sess.run(v)  # ... and evaluating it did not initialize v
    sess.run(v.assign([5.0, 6.0]))
    np.testing.assert_array_equal(sess.run(iv), [5.0, 6.0])  # initialized: the value


def test_initialized_value_ignores_control_dependencies(g):
    v = tf.Variable(1.0, name="v")
    gate = tf.no_op(name="gate")
    with tf.control_dependencies([gate]):
        iv = v.initialized_value()
        after = tf.identity(v, name="after")
    for name in ("IsVariableInitialized", "cond/Switch", "cond/pred_id", "cond/Merge"):
        assert g.get_operation_by_name(name).control_inputs == []
    assert iv.op.control_inputs == [] and after.op.control_inputs == [gate]


def test_a_variable_initialized_from_another(g, sess):
    w = tf.Variable(tf.random_normal([3, 4]), name="w")
    copy = tf.Variable(w.initialized_value(), name="copy")
    scaled = tf.Variable(w.initialized_value() * 2.0, name="scaled")
    # the copies take w's initialized_value() again, so they work in any order
    names = [op.name for op in g.get_operations()]
    assert "copy/IsVariableInitialized" in names and "cond/read/Switch_copy" in names
    assert copy.initializer.inputs[1].name == "cond/Merge_copy:0"
    assert scaled.initializer.inputs[1].name == "mul_scaled:0"
    sess.run(tf.global_variables_initializer())
    w_value, copy_value, scaled_value = sess.run([w, copy, scaled])
    np.testing.assert_array_equal(copy_value, w_value)
    np.testing.assert_allclose(scaled_value, 2.0 * w_value, rtol=1e-6)


def test_initial_values_that_read_no_variable_are_not_copied(g):
    w = tf.Variable([1.0, 2.0], name="w")
    plain = tf.Variable(w.initial_value * 3.0, name="plain")
    assert plain.initializer.inputs[1].name == "mul:0"
    assert [op.name for op in g.get_operations()][4:] == \
        ["mul/y", "mul", "plain", "plain/Assign", "plain/read"]


def test_assign_and_friends(g, sess):
    v = tf.Variable([1.0, 2.0], name="v")
    sess.run(v.initializer)
    steps = [
        (v.assign([3.0, 4.0]), [3.0, 4.0]),
        (v.assign_add([1.0, 1.0]), [4.0, 5.0]),
        (v.assign_sub([2.0, 2.0]), [2.0, 3.0]),
        (tf.assign(v, [0.0, 0.0]), [0.0, 0.0]),
        (tf.assign_add(v, [5.0, 5.0]), [5.0, 5.0]),
        (tf.assign_sub(v, [1.0, 2.0]), [4.0, 3.0]),
    ]
    for op, expected in steps:
        assert op.dtype._is_ref_dtype
        np.testing.assert_array_equal(sess.run(op), expected)
        np.testing.assert_array_equal(sess.run(v), expected)
    no_read = v.assign([9.0, 9.0], read_value=False)
    assert isinstance(no_read, tf.Operation) and sess.run(no_read) is None
    np.testing.assert_array_equal(sess.run(v), [9.0, 9.0])


def test_assign_op_attrs(g):
    v = tf.Variable(1.0, name="v")
    a = v.assign(2.0, use_locking=True, name="set")
    assert a.op.name == "set" and a.op.get_attr("use_locking") is True
    assert v.assign(3.0).op.get_attr("use_locking") is False
    assert tf.assign(v, 3.0).op.get_attr("use_locking") is True  # the op's default, as in TF
    assert v.initializer.get_attr("use_locking") is True
    assert v.initializer.get_attr("validate_shape") is True


def test_assign_with_a_wrong_shape_is_refused(g):
    v = tf.Variable([1.0, 2.0], name="v")
    with pytest.raises(ValueError):
        v.assign([1.0, 2.0, 3.0])
    grow = tf.assign(v, [1.0, 2.0, 3.0], validate_shape=False)
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(grow), [1.0, 2.0, 3.0])


def test_assign_add_to_an_uninitialized_variable_fails(g, sess):
    v = tf.Variable(1.0, name="counter")
    with pytest.raises(errors.FailedPreconditionError, match="counter"):
        sess.run(v.assign_add(1.0))


def test_load_sets_the_value_through_the_initializer(g, sess):
    v = tf.Variable([1.0, 2.0], name="v")
    v.load([7.0, 8.0], sess)
    np.testing.assert_array_equal(sess.run(v), [7.0, 8.0])
    with sess.as_default():
        v.load([0.0, 1.0])
        np.testing.assert_array_equal(v.eval(), [0.0, 1.0])
    with pytest.raises(ValueError, match="v/initial_value:0"):
        v.load([1.0, 2.0, 3.0], sess)


def test_is_variable_initialized(g, sess):
    v = tf.Variable(1.0, name="v")
    flag = tf.is_variable_initialized(v)
    assert flag.op.type == "IsVariableInitialized" and flag.dtype == tf.bool
    assert sess.run(flag) == False  # noqa: E712
    sess.run(v.initializer)
    assert sess.run(flag) == True  # noqa: E712


def test_collections_and_trainable(g):
    a = tf.Variable(1.0, name="a")
    b = tf.Variable(2.0, name="b", trainable=False)
    c = tf.Variable(3.0, name="c", collections=[tf.GraphKeys.LOCAL_VARIABLES])
    d = tf.Variable(4.0, name="d", collections=["mine"])
    assert tf.global_variables() == [a, b] == tf.all_variables()
    assert tf.trainable_variables() == [a, c, d]  # trainable unless told otherwise
    assert tf.local_variables() == [c]
    assert g.get_collection("mine") == [d]
    assert not b.trainable
    with tf.variable_scope("scope"):
        e = tf.get_variable("e", [], initializer=tf.zeros_initializer())
    assert tf.global_variables("scope") == [e]


def test_initializer_ops(g, sess):
    a = tf.Variable(1.0, name="a")
    b = tf.Variable(2.0, name="b")
    some = tf.variables_initializer([a], name="some")
    assert some.type == "NoOp" and some.name == "some"
    assert [op.name for op in some.control_inputs] == ["a/Assign"]
    everything = tf.global_variables_initializer()
    assert everything.name == "init"
    assert sorted(op.name for op in everything.control_inputs) == ["a/Assign", "b/Assign"]
    assert tf.variables_initializer([]).type == "NoOp"
    sess.run(some)
    assert sess.run(a) == 1.0
    with pytest.raises(errors.FailedPreconditionError):
        sess.run(b)
    sess.run(tf.initialize_all_variables())
    assert sess.run(b) == 2.0


def test_variable_from_a_callable(g, sess):
    v = tf.Variable(lambda: tf.ones([2]), dtype=tf.float32, name="u")
    assert v.initial_value.name == "u/Initializer/ones:0"
    sess.run(v.initializer)
    np.testing.assert_array_equal(sess.run(v), [1.0, 1.0])


@pytest.mark.parametrize("make,error", [
    (lambda: tf.Variable(), ValueError),
    (lambda: tf.Variable(lambda: 1.0), ValueError),  # a callable needs a dtype
    (lambda: tf.Variable(tf.placeholder(tf.float32)), ValueError),  # shape unknown
], ids=["nothing", "callable_without_dtype", "unknown_shape"])
def test_bad_variables(g, make, error):
    with pytest.raises(error):
        make()


def test_unknown_shape_allowed_without_validation(g, sess):
    p = tf.placeholder(tf.float32, name="p")
    w = tf.Variable(p, validate_shape=False, name="w")
    assert w.shape.ndims is None
    sess.run(w.initializer, {p: np.ones([2, 2])})
    np.testing.assert_array_equal(sess.run(w), np.ones([2, 2]))


def test_variables_in_expressions(g, sess):
    v = tf.Variable([1.0, 2.0], name="v")
    doubled = v * 2.0
    assert doubled.op.inputs[0].name == "v/read:0"
    total = tf.add(v, v)
    sess.run(v.initializer)
    np.testing.assert_array_equal(sess.run([doubled, total]), [[2.0, 4.0], [2.0, 4.0]])


def test_variable_values_are_per_session(g):
    v = tf.Variable(1.0, name="v")
    with tf.Session() as one:
        one.run(v.initializer)
        one.run(v.assign(5.0))
        with tf.Session() as two:
            two.run(v.initializer)
            assert (one.run(v), two.run(v)) == (5.0, 1.0)


def test_disable_copy_on_read_leaves_the_variable_as_it_is(g, sess):
    """TF2 save functions call DisableCopyOnRead on each handle before reading it."""
    v = tf.Variable([1.0, 2.0], name="v", use_resource=True)
    op = tf.raw_ops.DisableCopyOnRead(resource=v.handle)
    assert op.type == "DisableCopyOnRead" and op.outputs == []
    sess.run(v.initializer)
    assert sess.run(op) is None
    np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])
