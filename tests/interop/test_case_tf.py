"""``tf.case`` and ``tf.train.piecewise_constant`` against real TensorFlow: GraphDefs node
for node (nested conds, the exclusivity and default Asserts), values for every branch, and
the run-time errors when the predicates break the rules."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, run_built, tf1_mode


def _cases(api):
    x = api.placeholder(api.int32, [], name="x")
    f = api.cast(x, api.float32)
    return [
        api.case([(x < 0, lambda: f * 2.0), (x < 5, lambda: f + 1.0)],
                 default=lambda: api.constant(-1.0)),
        api.case([(x < 0, lambda: -f), (x > 3, lambda: f * f)],
                 default=lambda: f, exclusive=True, name="excl"),
        api.case([(x < 2, lambda: [f, f + 1.0]), (x >= 2, lambda: [f * 3.0, f])],
                 exclusive=True, name="no_default"),
        api.case([(x < 1, lambda: [x])], default=lambda: [x + 10], strict=True,
                 name="strict"),
        api.case({x > 100: lambda: f, x < 3: lambda: f - 3.0}, default=lambda: f,
                 exclusive=True, name="by_dict"),
    ]


@pytest.mark.parametrize("x", [-4, 0, 2, 4, 7])
def test_case_matches_tensorflow(tf, x):
    built = build_both(tf, _cases)
    assert_same_graph_def(built[0][0], built[1][0])
    ours, theirs = run_built(tf, built, {"x": np.int32(x)})
    assert_close(ours, theirs)


@pytest.mark.parametrize("build", [
    lambda api, x: api.case([(x > 0, lambda: x), (x > 1, lambda: x + 1)],
                            default=lambda: x, exclusive=True),
    lambda api, x: api.case([(x > 10, lambda: x), (x < -10, lambda: x + 1)]),
], ids=["two_true_exclusive", "none_true_without_default"])
def test_case_run_time_errors_match_tensorflow(tf, build):
    messages = []
    for which in ("ours", "theirs"):
        with (tf1_mode(tf) if which == "theirs" else _Plain()) as v1:
            api = v1 or flowsaver
            with api.Graph().as_default():
                x = api.placeholder(api.int32, [])
                out = build(api, x)
                with api.Session() as sess, pytest.raises(api.errors.InvalidArgumentError) \
                        as caught:
                    sess.run(out, {x: 5})
                messages.append(caught.value.message)
    for phrase in ("Input error: exclusive=True: more than 1 conditions",
                   "Input error: None of conditions evaluated as True"):
        assert (phrase in messages[0]) == (phrase in messages[1]), messages
    assert "Input error" in messages[0]


class _Plain:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("bad", [
    lambda api, x: api.case([(x, lambda: x)]),                     # not a bool
    lambda api, x: api.case([(x > 0, 3)]),                         # not callable
    lambda api, x: api.case([(True, lambda: x)]),                  # a Python bool
    lambda api, x: api.case((x > 0, lambda: x)),                   # not pairs
], ids=["int_pred", "not_callable", "python_bool", "not_pairs"])
def test_case_build_errors_match_tensorflow(tf, bad):
    raised = []
    for which in ("ours", "theirs"):
        with (tf1_mode(tf) if which == "theirs" else _Plain()) as v1:
            api = v1 or flowsaver
            with api.Graph().as_default():
                x = api.placeholder(api.int32, [])
                with pytest.raises((TypeError, ValueError)) as caught:
                    bad(api, x)
                raised.append(type(caught.value))
    assert raised[0] is raised[1]


def _schedules(api):
    step = api.train.get_or_create_global_step()
    small = api.placeholder(api.int32, [], name="small")
    return [api.train.piecewise_constant(step, [10, 20, 30], [1.0, 0.5, 0.25, 0.125]),
            api.train.piecewise_constant(step, [np.int64(15)], [0.1, 0.01], name="two"),
            api.train.piecewise_constant(small, [3, 6], [5, 6, 7], name="ints")]


@pytest.mark.parametrize("step", [0, 10, 11, 20, 25, 30, 31, 1000])
def test_piecewise_constant_matches_tensorflow(tf, step):
    built = build_both(tf, _schedules)
    assert_same_graph_def(built[0][0], built[1][0])
    ours, theirs = run_built(tf, built, {"global_step/read": np.int64(step),
                                         "small": np.int32(step % 9)}, init=True)
    assert_close(ours, theirs)


def test_piecewise_constant_drives_training_as_in_tensorflow(tf):
    def build(api):
        step = api.train.get_or_create_global_step()
        w = api.Variable(np.float32(3.0), name="w")
        loss = api.square(w - 1.0, name="loss")
        lr = api.train.piecewise_constant(step, [3, 6], [0.2, 0.05, 0.01])
        train = api.train.GradientDescentOptimizer(lr).minimize(loss, global_step=step)
        return [loss, lr, train]
    built = build_both(tf, build)
    assert_same_graph_def(built[0][0], built[1][0])
    runs = []
    for graph, fetches in (built[0], built[1]):
        with tf1_mode(tf) as v1, graph.as_default():
            api = flowsaver if graph is built[0][0] else v1
            with api.Session(graph=graph) as sess:
                sess.run(api.global_variables_initializer())
                runs.append([sess.run(fetches)[:2] for _ in range(10)])
    assert_close(runs[0], runs[1])


@pytest.mark.parametrize("bad", [
    lambda api, step: api.train.piecewise_constant(step, [1.5], [1.0, 2.0]),
    lambda api, step: api.train.piecewise_constant(step, [1], [1.0, 2]),
    lambda api, step: api.train.piecewise_constant(step, [1, 2], [1.0, 2.0]),
], ids=["float_boundary", "mixed_values", "lengths"])
def test_piecewise_constant_errors_match_tensorflow(tf, bad):
    for which in ("ours", "theirs"):
        with (tf1_mode(tf) if which == "theirs" else _Plain()) as v1:
            api = v1 or flowsaver
            with api.Graph().as_default(), pytest.raises(ValueError):
                bad(api, api.train.get_or_create_global_step())
