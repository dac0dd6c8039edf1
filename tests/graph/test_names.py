"""Unique op names and name scopes, exactly as TensorFlow 1.x makes them.

Every expected name below is what TensorFlow 2.21 (TF1 mode) gives for the same calls;
``tests/interop/test_graph_def_tf.py`` checks whole programs against TensorFlow itself.
"""
from __future__ import annotations

import pytest

import flowsaver as tf


@pytest.fixture()
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


def _const(name=None):
    return tf.constant(1.0, name=name).op.name if name else tf.constant(1.0).op.name


def test_default_and_explicit_names_are_made_unique(g):
    got = [_const(), _const(), _const("a"), _const("a")]
    assert got == ["Const", "Const_1", "a", "a_1"]


def test_names_are_unique_case_insensitively(g):
    assert [_const("a"), _const("a"), _const("A")] == ["a", "a_1", "A_2"]


def test_an_explicit_name_that_looks_like_a_suffix(g):
    # a_1 is taken by the second "a": asking for it gives a_1_1; a later "a" skips a_3
    assert [_const("a"), _const("a"), _const("a_1"), _const("a_3"), _const("a"),
            _const("a")] == ["a", "a_1", "a_1_1", "a_3", "a_2", "a_4"]


def test_unique_name_can_peek_without_marking(g):
    _const("a")
    assert g.unique_name("a", mark_as_used=False) == "a_1"
    assert g.unique_name("a", mark_as_used=False) == "a_1"
    assert g.unique_name("fresh") == "fresh"
    assert g.unique_name("fresh") == "fresh_1"
    assert _const("fresh") == "fresh_2"


def test_name_scopes_nest_and_are_made_unique(g):
    with tf.name_scope("s") as s:
        assert s == "s/" and g.get_name_scope() == "s"
        assert _const("c") == "s/c"
        assert g.unique_name("x") == "s/x"
        with tf.name_scope("t") as t:
            assert t == "s/t/"
            assert _const() == "s/t/Const"
    with tf.name_scope("s") as again:
        assert again == "s_1/"
    with tf.name_scope("S") as upper:
        assert upper == "S_2/"
    assert g.get_name_scope() == ""


def test_a_scope_ending_in_slash_is_re_entered_as_is(g):
    with tf.name_scope("s/t"):
        pass
    with tf.name_scope("s/t/") as scope:
        assert scope == "s/t/"
        assert _const("c") == "s/t/c"


@pytest.mark.parametrize("reset", [None, ""])
def test_none_or_empty_scope_goes_back_to_the_top(g, reset):
    with tf.name_scope("outer"):
        with tf.name_scope(reset) as scope:
            assert scope == ""
            assert _const("top") == "top"
        assert _const("inner") == "outer/inner"


def test_a_scope_named_like_an_op_gets_a_suffix(g):
    _const("s")
    with tf.name_scope("s") as scope:
        assert scope == "s_1/"


def test_name_scope_with_default_name_and_values(g):
    x = tf.constant(1.0, name="x")
    with tf.name_scope(None, "default", [x]) as scope:
        assert scope == "default/"
    with tf.name_scope(None, "default", [x]) as scope:
        assert scope == "default_1/"
    with tf.name_scope("given", "default", [x]) as scope:
        assert scope == "given/"


def test_the_values_decide_the_graph_of_a_name_scope():
    other = tf.Graph()
    with other.as_default():
        x = tf.constant(1.0, name="x")
    with tf.Graph().as_default():
        with tf.name_scope("here", values=[x]) as scope:
            assert tf.get_default_graph() is other and scope == "here/"


@pytest.mark.parametrize("bad", ["bad name!", "_x", "-x"])
def test_invalid_root_scope_names_are_refused(g, bad):
    with pytest.raises(ValueError, match="not a valid"):
        with tf.name_scope(bad):
            pass


def test_inner_scopes_may_start_with_an_underscore(g):
    with tf.name_scope("s"):
        with tf.name_scope("_x") as scope:
            assert scope == "s/_x/"


def test_invalid_op_names_are_refused(g):
    with pytest.raises(ValueError, match="bad name"):
        _const("bad name")


def test_variables_are_named_by_name_scope_get_variable_by_variable_scope(g):
    assert tf.Variable(1.0).op.name == "Variable"
    assert tf.Variable(1.0).op.name == "Variable_1"
    with tf.name_scope("ns"):
        assert tf.Variable(1.0, name="w").op.name == "ns/w"
        assert tf.get_variable("gv", [1]).op.name == "gv"
    with tf.variable_scope("vs"):
        assert tf.get_variable("gv", [1]).op.name == "vs/gv"
        assert _const("k") == "vs/k"
    with tf.variable_scope("vs", reuse=True):
        assert tf.get_variable("gv", [1]).op.name == "vs/gv"
        assert _const("k") == "vs_1/k"  # the name scope is fresh, the variable shared


def test_variable_ops_are_named_after_the_variable(g):
    v = tf.Variable([1.0, 2.0], name="w")
    names = [op.name for op in g.get_operations()]
    assert names == ["w/initial_value", "w", "w/Assign", "w/read"]
    assert (v.name, v.initializer.name, v.value().name) == ("w:0", "w/Assign", "w/read:0")
