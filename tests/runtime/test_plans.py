"""Plans: the reference interpreter loop and the compiled straight-line plans agree, and a
compiled plan's traceback shows its generated lines, naming each step's node."""
import traceback

import numpy as np
import pytest

import flowsaver as tf
from flowsaver.runtime import compiled, executor, fetches as fetch_util


def _both(sess, fetch, feeds):
    """The fetched values from the interpreter and from the compiled plan."""
    mapper = fetch_util.FetchMapper(sess.graph, [fetch])
    plan = sess._plan(mapper, list(feeds))
    values = list(feeds.values())
    return executor.execute(plan, values), compiled.compile_plan(plan, mapper.targets)(values)


GRAPHS = {
    "mlp": lambda x: tf.nn.softmax(tf.matmul(tf.nn.relu(tf.matmul(x, tf.ones([3, 4]))),
                                             tf.ones([4, 2]) * 0.5)),
    "folded shapes": lambda x: tf.reshape(x, tf.stack([tf.shape(x)[0], -1])) * tf.cast(
        tf.size(tf.zeros([2, 5])), tf.float32),
    "gradients": lambda x: tf.gradients(tf.reduce_sum(tf.tanh(x) * tf.exp(x)), x)[0],
    "identity chain": lambda x: tf.identity(tf.stop_gradient(tf.identity(x))) + 1.0,
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_interpreter_and_compiled_plans_agree(name):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        y = GRAPHS[name](x)
        with tf.Session() as sess:
            feed = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
            interpreted, compiled_values = _both(sess, y, {x: feed})
            np.testing.assert_array_equal(interpreted[0], compiled_values[0])
            assert interpreted[0].dtype == compiled_values[0].dtype


def test_the_interpreter_switch_selects_the_reference_loop(monkeypatch):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2])
        y = x * 2.0
        with tf.Session() as sess:
            monkeypatch.setenv("FLOWSAVER_EXECUTOR", "interpreter")
            runner = sess._runner(fetch_util.FetchMapper(sess.graph, [y]), [x])
            assert runner.__name__ == "<lambda>"  # executor.execute, not generated code
            monkeypatch.delenv("FLOWSAVER_EXECUTOR")
            runner = sess._runner(fetch_util.FetchMapper(sess.graph, [y]), [x])
            assert runner.__name__ == "run"
            np.testing.assert_array_equal(runner([np.ones(2, np.float32)])[0], [2.0, 2.0])


def test_compiled_plan_tracebacks_show_generated_lines(monkeypatch):
    monkeypatch.delenv("FLOWSAVER_EXECUTOR", raising=False)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None])
        y = tf.reshape(x, [2, 2], name="into_two_by_two")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError) as info:
                sess.run(y, {x: np.ones(3, np.float32)})
    text = "".join(traceback.format_exception(info.value.__cause__ or info.value))
    text += "".join(traceback.format_tb(info.value.__traceback__))
    assert "# into_two_by_two (Reshape)" in text


def _source(run) -> str:
    import linecache
    return "".join(linecache.getlines(run.__code__.co_filename))


def test_no_ops_are_not_called_and_constants_behind_control_edges_are_folded():
    """A NoOp (``tf.group``) or ControlTrigger gets no line of a compiled plan, and a
    constant with control inputs is bound once like any constant; what their control
    edges wait for still runs, in order."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2])
        v = tf.Variable(tf.zeros([2]))
        count = tf.Variable(0.0)
        bump = tf.assign_add(count, 1.0)
        store = tf.assign(v, x * 2.0)
        with tf.control_dependencies([store, bump]):
            step = tf.constant(5.0, name="after_store")
        both = tf.group(store, bump, name="both")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            mapper = fetch_util.FetchMapper(sess.graph, [step, both])
            plan = sess._plan(mapper, [x])
            run = compiled.compile_plan(plan, mapper.targets)
            assert run([np.ones(2, np.float32)])[0] == 5.0
            source = _source(run)
            assert "(NoOp)" not in source and "(Const)" not in source, source
            assert "(Assign)" in source and "(AssignAdd)" in source
            np.testing.assert_array_equal(sess.run(v), [2.0, 2.0])
            assert sess.run(count) == 1.0
            assert sess.run(step, {x: np.zeros(2, np.float32)}) == 5.0
            assert sess.run(count) == 2.0          # the constant's control input ran again
            sess.run(both, {x: np.full(2, 3.0, np.float32)})
            assert sess.run(count) == 3.0
            np.testing.assert_array_equal(sess.run(v), [6.0, 6.0])
