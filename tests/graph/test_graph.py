"""The Graph, Operation and Tensor APIs, and TensorShape/Dimension, as TF1 code uses them.

Expected values and error types were checked against TensorFlow 2.21 in TF1 mode.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver as tf


@pytest.fixture()
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


def _xy(g):
    x = tf.placeholder(tf.float32, [2, 3], name="x")
    y = tf.identity(x, name="y")
    return x, y


# ---- default graph ---------------------------------------------------------------------------
def test_as_default_nests_and_restores():
    outer, inner = tf.Graph(), tf.Graph()
    before = tf.get_default_graph()
    with outer.as_default():
        assert tf.get_default_graph() is outer
        with inner.as_default():
            assert tf.get_default_graph() is inner
            assert tf.constant(1.0).graph is inner
        assert tf.get_default_graph() is outer
    assert tf.get_default_graph() is before


def test_reset_default_graph_replaces_the_global_graph():
    old = tf.get_default_graph()
    tf.constant(1.0, name="leftover")
    tf.reset_default_graph()
    new = tf.get_default_graph()
    assert new is not old and new.get_operations() == []
    assert tf.constant(2.0, name="leftover").op.name == "leftover"  # the name is free again


def test_reset_default_graph_inside_a_graph_block_is_refused():
    with tf.Graph().as_default():
        with pytest.raises(AssertionError, match="nested graphs"):
            tf.reset_default_graph()


# ---- lookup by name --------------------------------------------------------------------------
def test_lookup_by_name_returns_the_same_objects(g):
    x, y = _xy(g)
    assert g.get_tensor_by_name("x:0") is x
    assert g.get_tensor_by_name("y:0") is y
    assert g.get_operation_by_name("y") is y.op
    assert g.as_graph_element("y") is y.op
    assert g.as_graph_element(y) is y
    assert g.get_operations() == [x.op, y.op]
    assert "y" in g and "z" not in g


LOOKUP_ERRORS = [
    # (lookup, name, error type, message fragment)
    ("tensor", "yy:0", KeyError, "The operation, 'yy', does not exist in the graph. Did you "
                                 "mean 'y'?"),
    ("tensor", "y:1", KeyError, "exists but only has 1 outputs"),
    ("tensor", "x:0x", ValueError, "looks like a Tensor name, but is not a valid one"),
    ("tensor", "y", ValueError, "refers to an Operation, not a Tensor"),
    ("operation", "yx", KeyError, "refers to an Operation not in the graph. Did you mean"),
    ("operation", "completely_different", KeyError, "refers to an Operation not in the graph"),
    ("operation", "y:0", ValueError, "appears to refer to a Tensor, not"),
]


@pytest.mark.parametrize("lookup,name,error,fragment", LOOKUP_ERRORS,
                         ids=[f"{c[0]}-{c[1]}" for c in LOOKUP_ERRORS])
def test_lookup_errors_name_what_is_missing(g, lookup, name, error, fragment):
    _xy(g)
    fn = g.get_tensor_by_name if lookup == "tensor" else g.get_operation_by_name
    with pytest.raises(error) as info:
        fn(name)
    assert fragment in str(info.value)


def test_lookup_without_suggestion_when_nothing_is_close(g):
    _xy(g)
    with pytest.raises(KeyError) as info:
        g.get_operation_by_name("completely_different")
    assert "Did you mean" not in str(info.value)


@pytest.mark.parametrize("fn", ["get_tensor_by_name", "get_operation_by_name"])
def test_lookup_with_a_non_string_is_a_type_error(g, fn):
    with pytest.raises(TypeError, match="not int"):
        getattr(g, fn)(3)


def test_elements_of_another_graph_are_refused(g):
    x, _ = _xy(g)
    other = tf.Graph()
    with pytest.raises(ValueError, match="is not an element of this graph"):
        other.as_graph_element(x)
    with other.as_default():
        c = tf.constant(1.0)
    with pytest.raises(ValueError, match="must be from the same graph"):
        tf.add(x, c)


# ---- collections -----------------------------------------------------------------------------
def test_collections_keep_order_and_filter_by_scope(g):
    x, y = _xy(g)
    with tf.name_scope("layer"):
        z = tf.identity(x, name="z")
    for item in (x, y, z, 42):
        g.add_to_collection("things", item)
    tf.add_to_collections(["a", "b"], y)
    assert g.get_collection("things") == [x, y, z, 42]
    assert g.get_collection("things", scope="layer") == [z]
    assert g.get_collection("things", scope="y") == [y]  # a regex matched at the start
    assert g.get_collection("things", scope="[xy]") == [x, y]
    assert tf.get_collection("a") == [y] and tf.get_collection("b") == [y]
    assert g.get_collection("missing") == []
    assert set(g.get_all_collection_keys()) >= {"things", "a", "b"}


def test_get_collection_returns_a_copy_and_get_collection_ref_the_list(g):
    g.add_to_collection("c", 1)
    copy = g.get_collection("c")
    copy.append(2)
    assert g.get_collection("c") == [1]
    ref = tf.get_collection_ref("c")
    ref.append(3)
    assert g.get_collection("c") == [1, 3]
    fresh = g.get_collection_ref("new")
    fresh.append("v")
    assert g.get_collection("new") == ["v"]
    g.clear_collection("c")
    assert g.get_collection("c") == []


def test_variables_land_in_the_standard_collections(g):
    v = tf.Variable(1.0, name="v")
    frozen = tf.Variable(2.0, trainable=False, name="frozen")
    assert g.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) == [v, frozen]
    assert g.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES) == [v]
    assert tf.GraphKeys.VARIABLES == tf.GraphKeys.GLOBAL_VARIABLES == "variables"


# ---- finalize ---------------------------------------------------------------------------------
def test_a_finalized_graph_refuses_new_ops_and_collection_items(g):
    x, y = _xy(g)
    g.finalize()
    assert g.finalized
    with pytest.raises(RuntimeError, match="Graph is finalized"):
        tf.identity(x)
    with pytest.raises(RuntimeError, match="Graph is finalized"):
        g.add_to_collection("c", x)
    assert g.get_operations() == [x.op, y.op]  # nothing half-added
    with tf.Session(graph=g) as sess:  # running it is still fine
        np.testing.assert_array_equal(sess.run(y, {x: np.ones([2, 3])}), np.ones([2, 3]))


# ---- Operation --------------------------------------------------------------------------------
def test_operation_accessors(g):
    x, y = _xy(g)
    with tf.control_dependencies([x.op]), tf.device("/cpu:0"):
        op = tf.add(y, y, name="plus").op
    assert (op.name, op.type, op.graph) == ("plus", "AddV2", g)
    assert op.inputs == (y, y)
    assert op.outputs == [g.get_tensor_by_name("plus:0")]
    assert op.values() == (op.outputs[0],)
    assert op.control_inputs == [x.op]
    assert op.device == "/device:CPU:0"
    assert op.get_attr("T") == tf.float32
    node = op.node_def
    assert node.name == "plus" and node.op == "AddV2" and node.device == "/device:CPU:0"
    assert list(node.input) == ["y", "y", "^x"]
    assert y.consumers() == [op, op]
    with pytest.raises(ValueError, match="Operation 'plus' has no attr named 'nope'"):
        op.get_attr("nope")


def test_operation_run_uses_the_default_session(g):
    v = tf.Variable(3.0, name="v")
    with tf.Session() as sess:
        v.initializer.run()
        assert sess.run(v) == 3.0
        v.assign(5.0).op.run()
        assert v.eval() == 5.0
    with pytest.raises(ValueError, match="No default session"):
        v.initializer.run()


def test_no_op_has_no_outputs(g):
    op = tf.no_op(name="nothing")
    assert op.name == "nothing" and op.type == "NoOp" and op.outputs == []


# ---- Tensor -----------------------------------------------------------------------------------
def test_tensor_accessors(g):
    x, y = _xy(g)
    assert (y.name, y.dtype, y.op, y.graph, y.value_index) == ("y:0", tf.float32, y.op, g, 0)
    assert y.shape == tf.TensorShape([2, 3]) and y.get_shape().as_list() == [2, 3]
    assert y.shape.ndims == 2 and y.device == ""
    assert repr(y) == "<tf.Tensor 'y:0' shape=(2, 3) dtype=float32>"
    assert {y: 1}[y] == 1 and y == y and y != x  # hashable, compared by identity


def test_tensor_eval_and_set_shape(g):
    p = tf.placeholder(tf.float32, [None, 3], name="p")
    assert p.shape.as_list() == [None, 3]
    p.set_shape([4, None])
    assert p.shape.as_list() == [4, 3]
    with pytest.raises(ValueError, match="not compatible"):
        p.set_shape([5, 3])
    with pytest.raises(ValueError, match="not compatible"):
        p.set_shape([4])
    with tf.Session():
        np.testing.assert_array_equal(
            (p * 2.0).eval({p: np.ones([4, 3])}), np.full([4, 3], 2.0, np.float32))


@pytest.mark.parametrize("misuse", [bool, iter, len])
def test_symbolic_tensors_refuse_python_truth_iteration_and_len(g, misuse):
    x, _ = _xy(g)
    with pytest.raises(TypeError):
        misuse(x)


# ---- TensorShape and Dimension ----------------------------------------------------------------
S = tf.TensorShape([2, None, 3])
D = tf.Dimension
SHAPE_CASES = [
    ("ndims", lambda: S.ndims, 3),
    ("as_list", lambda: S.as_list(), [2, None, 3]),
    ("len", lambda: len(S), 3),
    ("getitem", lambda: S[0], D(2)),
    ("getitem_unknown_dim", lambda: S[1].value, None),
    ("slice", lambda: S[1:].as_list(), [None, 3]),
    ("unknown_rank_item", lambda: tf.TensorShape(None)[5].value, None),
    ("fully_defined", lambda: S.is_fully_defined(), False),
    ("num_elements_partial", lambda: S.num_elements(), None),
    ("num_elements", lambda: tf.TensorShape([2, 3, 4]).num_elements(), 24),
    ("num_elements_scalar", lambda: tf.TensorShape([]).num_elements(), 1),
    ("compatible", lambda: S.is_compatible_with([2, 5, 3]), True),
    ("incompatible_rank", lambda: S.is_compatible_with([2, 5]), False),
    ("incompatible_dim", lambda: S.is_compatible_with([1, 5, 3]), False),
    ("unknown_is_compatible", lambda: tf.TensorShape(None).is_compatible_with([1, 2]), True),
    ("merge", lambda: S.merge_with([None, 4, 3]).as_list(), [2, 4, 3]),
    ("concatenate", lambda: S.concatenate([7]).as_list(), [2, None, 3, 7]),
    ("concatenate_unknown", lambda: S.concatenate(tf.TensorShape(None)).ndims, None),
    ("plus", lambda: (tf.TensorShape([1]) + tf.TensorShape([2])).as_list(), [1, 2]),
    ("equals_list", lambda: tf.TensorShape([2, 3]) == [2, 3], True),
    ("with_rank", lambda: tf.TensorShape(None).with_rank(2).as_list(), [None, None]),
    ("unknown_ndims", lambda: tf.TensorShape(None).ndims, None),
    ("str_unknown", lambda: str(tf.TensorShape(None)), "<unknown>"),
    ("str_scalar", lambda: str(tf.TensorShape([])), "()"),
    ("bool_scalar", lambda: bool(tf.TensorShape([])), True),
    ("bool_unknown", lambda: bool(tf.TensorShape(None)), False),
    ("proto", lambda: [d.size for d in tf.TensorShape([2, None]).as_proto().dim], [2, -1]),
    ("proto_unknown", lambda: tf.TensorShape(None).as_proto().unknown_rank, True),
    ("dim_add", lambda: D(3) + 4, D(7)),
    ("dim_add_unknown", lambda: (D(None) + 4).value, None),
    ("dim_mul", lambda: D(3) * D(2), D(6)),
    ("dim_rsub", lambda: 10 - D(3), D(7)),
    ("dim_floordiv", lambda: D(7) // 2, D(3)),
    ("dim_eq_int", lambda: D(3) == 3, True),
    ("dim_eq_unknown", lambda: D(None) == 3, None),
    ("dim_lt", lambda: D(3) < 4, True),
    ("dim_lt_unknown", lambda: D(None) < 4, None),
    ("dim_int", lambda: int(D(5)), 5),
    ("dim_merge", lambda: D(None).merge_with(4), D(4)),
    ("dim_compatible_unknown", lambda: D(3).is_compatible_with(None), True),
    ("dim_str_unknown", lambda: str(D(None)), "?"),
]


@pytest.mark.parametrize("name,fn,expected", SHAPE_CASES, ids=[c[0] for c in SHAPE_CASES])
def test_tensor_shape_and_dimension(name, fn, expected):
    assert fn() == expected


SHAPE_ERRORS = [
    ("as_list_unknown", lambda: tf.TensorShape(None).as_list()),
    ("len_unknown", lambda: len(tf.TensorShape(None))),
    ("merge_conflict", lambda: S.merge_with([3, 4, 3])),
    ("with_rank_conflict", lambda: S.with_rank(2)),
    ("assert_fully_defined", lambda: S.assert_is_fully_defined()),
    ("dim_merge_conflict", lambda: D(3).merge_with(4)),
    ("dim_negative", lambda: D(-1)),
]


@pytest.mark.parametrize("name,fn", SHAPE_ERRORS, ids=[c[0] for c in SHAPE_ERRORS])
def test_tensor_shape_errors_are_value_errors(name, fn):
    with pytest.raises(ValueError):
        fn()
