"""Loop frames at run time: each while loop is one plan step; what cannot run is refused at
plan time, naming its node. Hand-built graphs use the raw nodes (Enter, Merge, LoopCond,
Switch, NextIteration, Exit) as a GraphDef from TensorFlow would have them."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from flowsaver.ops.op_builder import create_op
from flowsaver.runtime import executor, frames, loops, planner


@pytest.fixture()
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


@pytest.fixture(params=["compiled", "interpreter"])
def executor_mode(request, monkeypatch):
    if request.param == "interpreter":
        monkeypatch.setenv("FLOWSAVER_EXECUTOR", "interpreter")
    return request.param


def _raw_counter(limit, frame="loop", start=0):
    """i = start; while i < limit: i += 1 -- built node by node."""
    enter = create_op("Enter", [tf.constant(start, name="start")], {"frame_name": frame},
                      name="enter")
    merge = create_op("Merge", [[enter, enter]], name="merge")[0]
    limit_in = create_op("Enter", [limit], {"frame_name": frame, "is_constant": True},
                         name="limit_in")
    pred = create_op("LoopCond", [tf.less(merge, limit_in)], name="pred")
    out_false, out_true = create_op("Switch", [merge, pred], name="switch")
    one = tf.constant(1, name="one")
    one.op._add_control_input(out_true.op)
    step = create_op("NextIteration", [tf.add(out_true, one)], name="next")
    merge.op.replace_input(1, step)
    return create_op("Exit", [out_false], name="exit")


def test_a_hand_built_loop_runs(g, executor_mode):
    limit = tf.placeholder(tf.int32, [], name="limit")
    out = _raw_counter(limit)
    with tf.Session() as sess:
        assert sess.run(out, {limit: 5}) == 5
        assert sess.run(out, {limit: -3}) == 0  # the body never runs


def test_a_loop_is_one_step_and_the_rest_stays_compiled(g, monkeypatch):
    monkeypatch.delenv("FLOWSAVER_EXECUTOR", raising=False)
    limit = tf.placeholder(tf.int32, [], name="limit")
    out = _raw_counter(limit) * 2
    ops = executor.needed_ops([out], [], {limit})
    root = frames.analyse(ops, {limit}, [out.op], [])
    loop, = [u for u in root.units if isinstance(u, frames.Frame)]
    assert loop.name == "loop" and [o.name for o in loop.outputs] == ["exit:0"]
    assert [m.name for m in loop.merges] == ["merge"] and loop.loop_cond.name == "pred"
    assert [u.name for u in loop.head] == ["Less", "pred"]
    assert [u.name for u in loop.body] == ["one", "Add"]
    run = planner.make_runner([out], [], [limit], ctx=None)
    assert "flowsaver plan" in run.__code__.co_filename  # the root plan is compiled
    assert run([np.int32(3)]) == [6]


def test_loop_free_plans_are_compiled_as_before(g, monkeypatch):
    monkeypatch.delenv("FLOWSAVER_EXECUTOR", raising=False)
    x = tf.placeholder(tf.float32, [2], name="x")
    run = planner.make_runner([x * 2.0], [], [x], ctx=None)
    assert "flowsaver plan" in run.__code__.co_filename
    np.testing.assert_array_equal(run([np.float32([1, 2])])[0], [2, 4])


def test_the_iteration_parts_run_as_their_own_plans(g):
    limit = tf.placeholder(tf.int32, [], name="limit")
    out = _raw_counter(limit)
    ops = executor.needed_ops([out], [], {limit})
    loop = frames.analyse(ops, {limit}, [out.op], []).units[-1]
    runner = loops.LoopRunner(loop, ctx=None)
    assert runner(np.int32(0), np.int32(4)) == (4,)


def test_fetching_inside_a_loop_is_refused_at_plan_time(g):
    limit = tf.placeholder(tf.int32, [], name="limit")
    _raw_counter(limit)
    inside = g.get_tensor_by_name("Add:0")
    with tf.Session() as sess, pytest.raises(errors.UnimplementedError, match="Add"):
        sess.run(inside, {limit: 3})


def test_inputs_from_two_frames_are_refused(g):
    limit = tf.placeholder(tf.int32, [], name="limit")
    _raw_counter(limit)
    merge = g.get_tensor_by_name("merge:0")
    bad = tf.add(merge, limit, name="mixed")  # an outside tensor used without an Enter
    with tf.Session() as sess, pytest.raises(errors.InvalidArgumentError,
                                             match="'mixed' has inputs from different"):
        sess.run(tf.identity(bad), {limit: 3})


def test_an_exit_without_a_loop_switch_is_refused(g):
    enter = create_op("Enter", [tf.constant(1.0)], {"frame_name": "f"}, name="e")
    merge = create_op("Merge", [[enter, enter]], name="m")[0]
    never = tf.constant(False, name="never")
    never.op._add_control_input(merge.op)
    pred = create_op("LoopCond", [never], name="c")
    _, body = create_op("Switch", [merge, pred], name="s")
    merge.op.replace_input(1, create_op("NextIteration", [body], name="n"))
    out = create_op("Exit", [merge], name="bad_exit")
    with tf.Session() as sess, pytest.raises(errors.UnimplementedError, match="bad_exit"):
        sess.run(out)


def test_a_frame_without_loop_cond_is_refused(g):
    enter = create_op("Enter", [tf.constant(1.0)], {"frame_name": "f"}, name="lonely")
    out = create_op("Exit", [tf.identity(enter)], name="out")
    with tf.Session() as sess, pytest.raises(errors.UnimplementedError, match="no LoopCond"):
        sess.run(out)


def test_a_loop_in_an_untaken_branch_is_dead(g, executor_mode):
    p = tf.placeholder(tf.bool, [], name="p")
    x = tf.placeholder(tf.float32, [], name="x")
    out = tf.cond(p, lambda: tf.while_loop(lambda v: v < 100.0, lambda v: v * 2.0, [x]),
                  lambda: x - 1.0)
    with tf.Session() as sess:
        assert sess.run(out, {p: True, x: 3.0}) == 192.0
        assert sess.run(out, {p: False, x: 3.0}) == 2.0


def test_control_trigger_is_never_dead(g):
    p = tf.placeholder(tf.bool, [], name="p")
    _, dead_when_false = create_op("Switch", [tf.constant(1.0), p], name="sw")
    trigger = create_op("ControlTrigger", [], name="trigger")
    trigger._add_control_input(dead_when_false.op)
    after = tf.constant(5.0, name="after")
    after.op._add_control_input(trigger)
    with tf.Session() as sess:
        assert sess.run(after, {p: False}) == 5.0


def test_an_infinite_body_error_names_the_node(g, executor_mode):
    x = tf.placeholder(tf.float32, [None], name="x")
    out = tf.while_loop(lambda v: tf.size(v) < 4,
                        lambda v: tf.reshape(v, [2, -1])[0] * 1.0, [x],
                        shape_invariants=[tf.TensorShape([None])])
    with tf.Session() as sess, pytest.raises(errors.InvalidArgumentError,
                                             match="while/Reshape"):
        sess.run(out, {x: np.ones(3, np.float32)})
