"""Shared by the hostile-import tests (tests/train/test_meta_hostile.py and
tests/train/test_graph_def_hostile.py): time limits, graph snapshots, a real model's files."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from test_helpers import time_limit  # noqa: F401 - the tests import it from here

ALLOWED = (errors.OpError, ValueError, TypeError, KeyError, OSError)
F32, I32, STR = 1, 3, 7
MB = 1 << 20


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """A small .meta and .pbtxt: placeholder, two variables, a Saver, collections."""
    directory = tmp_path_factory.mktemp("model")
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2], name="x")
        w = tf.Variable(np.array([[1., 2.], [3., 4.]], np.float32), name="w")
        b = tf.Variable(np.array([0.5, -0.5], np.float32), name="b", trainable=False)
        tf.add_to_collection("outputs", tf.nn.relu(tf.matmul(x, w) + b, name="y"))
        for key, value in (("my_ints", 7), ("my_floats", 2.5), ("my_strs", "hello")):
            tf.add_to_collection(key, value)
        saver = tf.train.Saver()
        saver.export_meta_graph(str(directory / "model.meta"))
        saver.export_meta_graph(str(directory / "model.pbtxt"), as_text=True)
    return directory / "model.meta", directory / "model.pbtxt"


def _seeded_graph():
    """A graph already holding ops and collections, for the import to leave alone."""
    g = tf.Graph()
    with g.as_default():
        pre = tf.placeholder(tf.float32, [None, 2], name="pre")
        tf.identity(pre, name="pre_id")
        tf.add_to_collection("outputs", pre)
        tf.add_to_collection("my_ints", 1)
    return g


def _state(g):
    ops = g.get_operations()
    return ([op.name for op in ops], dict(g._names_in_use),
            {key: list(items) for key, items in g._collections.items()},
            [[c.name for c in t.consumers()] for op in ops for t in op.outputs],
            [[c.name for c in op._control_outputs] for op in ops])


def _import_file(path, graph=None, **kwargs):
    """Import ``path``; None on success, else the error, after checking it is typed, names
    the file, and left the graph as it was."""
    graph = graph or _seeded_graph()
    before = _state(graph)
    with graph.as_default(), time_limit(60):
        try:
            tf.train.import_meta_graph(str(path), **kwargs)
        except ALLOWED as e:
            assert str(path) in str(e), f"error does not name the file: {e}"
            assert _state(graph) == before, "a failed import left part of itself behind"
            return e
    return None


def _plan_every_op(graph) -> None:
    """Build the Session plan of every op; only typed errors may come out."""
    sess = tf.Session(graph=graph)
    fed = tuple(op.outputs[0] for op in graph.get_operations() if op.type == "Placeholder")
    with time_limit(60):
        for op in graph.get_operations():
            try:
                # Session.run up to (not including) running the kernels: no public call
                # plans without running, and running would write checkpoints.
                sess._runner(sess._mapper(op), fed)
            except ALLOWED:
                pass
