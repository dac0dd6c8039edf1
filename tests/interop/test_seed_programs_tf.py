"""The issue's seed programs build TensorFlow's exact GraphDef and give its results.

The program text (``tests/test_seed_programs.py``) runs unchanged with ``tf`` bound to
flowsaver and to TensorFlow's ``tf.compat.v1`` in TF1 mode.
"""
from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest

import flowsaver
from parity import assert_same_graph_def, tf1_mode
from test_seed_programs import INITIALIZED_VALUE, SEED_PROGRAMS, run_program


def _both(tf, source):
    ours = flowsaver.Graph()
    our_ns = run_program(flowsaver, source, ours)
    with tf1_mode(tf) as v1:
        theirs = v1.Graph()
        their_ns = run_program(v1, source, theirs)
    return (ours, our_ns), (theirs, their_ns)


@pytest.mark.parametrize("name", sorted(SEED_PROGRAMS))
def test_seed_program_graph_def_matches_tensorflow(tf, name):
    (ours, our_ns), (theirs, their_ns) = _both(tf, SEED_PROGRAMS[name])
    assert_same_graph_def(ours, theirs)
    for ns in (our_ns, their_ns):
        if "sess" in ns:
            ns["sess"].close()


def test_op_to_restore_result_matches_tensorflow(tf):
    (_, our_ns), (_, their_ns) = _both(tf, SEED_PROGRAMS["op_to_restore"])
    assert our_ns["result"] == their_ns["result"] == 24.0
    assert np.asarray(our_ns["result"]).dtype == np.asarray(their_ns["result"]).dtype
    our_ns["sess"].close()
    their_ns["sess"].close()


@pytest.mark.parametrize("order", ["init_op_first", "all_at_once", "copies_only"])
def test_initialized_value_runs_like_tensorflow(tf, order):
    """Copies equal the original in each order TensorFlow supports; values differ by RNG."""
    (ours, our_ns), (theirs, their_ns) = _both(tf, INITIALIZED_VALUE)
    results, reports = [], []
    for graph, ns, session_cls, mode in ((ours, our_ns, flowsaver.Session, nullcontext()),
                                         (theirs, their_ns, None, tf1_mode(tf))):
        with mode as v1, graph.as_default():
            api = v1 or flowsaver
            with (session_cls or v1.Session)(graph=graph) as sess:
                if order == "init_op_first":
                    sess.run(ns["init_op"])
                    sess.run([ns["w2"].initializer, ns["w_twice"].initializer])
                elif order == "all_at_once":
                    sess.run(api.global_variables_initializer())
                else:
                    sess.run([ns["w2"].initializer, ns["w_twice"].initializer])
                names = ["weights", "biases", "w2", "w_twice"]
                values = [sess.run(ns[n]) if n in ("w2", "w_twice") or order != "copies_only"
                          else None for n in names]
                results.append(values)
                reports.append(list(sess.run(api.report_uninitialized_variables())))
    expected = [b"weights", b"biases"] if order == "copies_only" else []
    assert reports == [expected, expected]
    for values in results:
        weights, biases, w2, w_twice = values
        if weights is not None:
            np.testing.assert_array_equal(w2, weights)
            np.testing.assert_array_equal(biases, np.zeros([200], np.float32))
        else:
            weights = w2  # the copies drew once, in one run: still consistent
        np.testing.assert_allclose(w_twice, weights * np.float32(0.2), rtol=1e-6)
        assert w2.dtype == np.float32 and w2.shape == (784, 200)

