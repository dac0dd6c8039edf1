"""Which ops a run computes when only control edges wait for them, against TensorFlow.

TensorFlow's dependency optimizer turns a pure op whose outputs nobody reads into a NoOp:
it waits for its inputs but never computes (and so never fails). flowsaver plans the same
(``runtime/executor.unread_ops``). Each case builds one small TF1 program with a node that
fails when it runs and compares what each system does: the values, or the error class.
"""
from __future__ import annotations

import numpy as np
import pytest
from parity import tf1_mode

import flowsaver

FOUR = np.array([1.0, 2.0, 3.0, 4.0], np.float32)


def _gate(api, deps, x):
    with api.control_dependencies(deps):
        return api.identity(x, name="out")


def control_only(api):
    x = api.placeholder(api.float32, [None], name="x")
    bad = api.reshape(x, [3], name="bad")
    return [_gate(api, [bad], x)], {x: FOUR}


def fetched_too(api):
    x = api.placeholder(api.float32, [None], name="x")
    bad = api.reshape(x, [3], name="bad")
    return [_gate(api, [bad], x), bad], {x: FOUR}


def a_target(api):
    x = api.placeholder(api.float32, [None], name="x")
    bad = api.reshape(x, [3], name="bad")
    return [_gate(api, [bad], x), bad.op], {x: FOUR}


def a_pure_chain(api):
    x = api.placeholder(api.float32, [None], name="x")
    bad = api.reshape(api.square(x) + 1.0, [3], name="bad")
    return [_gate(api, [bad], x)], {x: FOUR}


def read_by_a_fetched_op(api):
    x = api.placeholder(api.float32, [None], name="x")
    bad = api.reshape(x, [3], name="bad")
    return [_gate(api, [bad], x), api.reduce_sum(bad)], {x: FOUR}


def only_its_static_shape_read(api):
    x = api.placeholder(api.float32, [None], name="x")
    bad = api.reshape(x, [3], name="bad")   # its shape is known without running it
    return [_gate(api, [api.reduce_sum(bad)], x), api.shape(bad)], {x: FOUR}


def inside_a_cond_graph(api):
    x = api.placeholder(api.float32, [None], name="x")
    flag = api.placeholder(api.bool, [], name="flag")
    bad = api.reshape(x, [3], name="bad")
    with api.control_dependencies([bad]):
        out = api.cond(flag, lambda: api.identity(x), lambda: x * 2.0)
    return [out], {x: FOUR, flag: False}


def inside_a_loop_body(api):
    x = api.placeholder(api.float32, [None], name="x")

    def body(i, acc):
        bad = api.reshape(acc, [3], name="bad")
        with api.control_dependencies([bad]):
            return i + 1, acc * 2.0
    return list(api.while_loop(lambda i, acc: i < 3, body, [api.constant(0), x])), {x: FOUR}


def a_check_numerics(api):
    x = api.placeholder(api.float32, [None], name="x")
    check = api.check_numerics(x, "x holds a NaN")
    return [_gate(api, [check], x)], {x: np.array([np.nan], np.float32)}


def a_stateful_op_behind_a_pure_one(api):
    x = api.placeholder(api.float32, [None], name="x")
    counter = api.Variable(0.0, name="counter", use_resource=False)
    doubled = api.assign_add(counter, 1.0) * 2.0
    return [_gate(api, [doubled], x), counter], {x: FOUR}


CASES = [control_only, fetched_too, a_target, a_pure_chain, read_by_a_fetched_op,
         only_its_static_shape_read,
         inside_a_cond_graph, inside_a_loop_body, a_check_numerics, a_stateful_op_behind_a_pure_one]


def _outcome(api, case):
    graph = api.Graph()
    with graph.as_default():
        fetches, feeds = case(api)
        init = api.global_variables_initializer()
        with api.Session() as sess:
            sess.run(init)
            try:
                values = sess.run(fetches, feeds)
                if "counter" in [getattr(f, "op", f).name for f in fetches]:
                    values[-1] = sess.run(fetches[-1])   # after the run's assign
            except Exception as error:   # noqa: BLE001 - the class is the outcome compared
                return type(error).__name__
    return [None if v is None else np.asarray(v) for v in values]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_unread_ops_run_as_in_tensorflow(tf, case):
    with tf1_mode(tf) as v1:   # TF1's while_loop: Enter, Merge, Switch, NextIteration, Exit
        theirs = _outcome(v1, case)
    ours = _outcome(flowsaver, case)
    if isinstance(theirs, str):
        assert ours == theirs
        return
    assert not isinstance(ours, str), ours
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if b is None:
            assert a is None
        else:
            np.testing.assert_array_equal(a, b)
