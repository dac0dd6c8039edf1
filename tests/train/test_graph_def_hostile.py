"""Importing hand-built hostile GraphDefs (also wrapped in .meta files): every one gets a
typed error naming the node, quickly and in little memory, and leaves the graph as it was.
"""
from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from flowsaver.format import tensor_proto
from flowsaver.format.graph_protos import AttrValue, GraphDef, MetaGraphDef, NodeDef
from flowsaver.format.protos import TensorProto, TensorShapeProto
from hostile_helpers import F32, I32, MB, STR, _import_file, _seeded_graph, _state, time_limit


# --- part 2: hostile GraphDefs ----------------------------------------------------------------
def _node(name, op, inputs=(), **attrs) -> NodeDef:
    """A NodeDef; an int attr value is a DataType (``T=F32``), else give an AttrValue."""
    node = NodeDef(name=name, op=op, input=list(inputs))
    for key, value in attrs.items():
        node.attr[key].CopyFrom(value if isinstance(value, AttrValue) else AttrValue(type=value))
    return node


def _const(name, value) -> NodeDef:
    proto = tensor_proto.from_array(value)
    return _node(name, "Const", dtype=proto.dtype, value=AttrValue(tensor=proto))


def _fill_const(name, dims, dtype=F32) -> NodeDef:
    """A Const declaring shape ``dims`` that stores one value (float32) or none."""
    tensor = TensorProto(dtype=dtype, float_val=[1.0] if dtype == F32 else [])
    tensor.tensor_shape.dim.extend(TensorShapeProto.Dim(size=d) for d in dims)
    return _node(name, "Const", dtype=dtype, value=AttrValue(tensor=tensor))


def _const_edited(edit, value=np.float32(1)) -> NodeDef:
    node = _const("c", value)
    edit(node)
    return node


def _graph(*nodes) -> GraphDef:
    return GraphDef(node=nodes)


C = _const("c", np.float32(1.5))
G, N, VE = _graph, _node, ValueError
RE, IA = errors.ResourceExhaustedError, errors.InvalidArgumentError
HOSTILE = [  # (id, GraphDef, error class, what the message must name)
    ("const_1e12_elements_one_value", G(_fill_const("big", [10**6, 10**6])), RE,
     ["'big'", "1000000000000"]),
    ("const_2e40_int8_no_values", G(_fill_const("z", [2**20, 2**20], 6)), RE, ["'z'"]),
    ("const_content_wrong_size", G(_const_edited(lambda n: setattr(
        n.attr["value"].tensor, "tensor_content", b"abc"), np.zeros(2, np.float32))), IA,
     ["'c'", "3 bytes"]),
    ("const_dtype_mismatch", G(_const_edited(lambda n: setattr(n.attr["dtype"], "type", I32))),
     IA, ["'c'", "int32"]),
    ("const_negative_dim", G(_fill_const("c", [2, -3])), IA, ["'c'"]),
    ("const_without_dtype", G(_const_edited(lambda n: n.attr.pop("dtype"))), VE,
     ["'c'", "'dtype'"]),
    ("const_without_value", G(_const_edited(lambda n: n.attr.pop("value"))), VE,
     ["'c'", "'value'"]),
    ("missing_input", G(N("i", "Identity", ["nope"], T=F32)), VE, ["'i'", "'nope'"]),
    ("input_index_beyond_outputs", G(C, N("i", "Identity", ["c:3"], T=F32)), VE,
     ["'i'", "'c:3'", "1 outputs"]),
    ("missing_control_input", G(N("n", "NoOp", ["^ghost"])), VE, ["'n'", "'^ghost'"]),
    ("cycle", G(N("a", "Identity", ["b"], T=F32), N("b", "Identity", ["a"], T=F32)), VE,
     ["cycle through node"]),
    ("self_loop", G(N("i", "Identity", ["i"], T=F32)), VE, ["cycle", "'i'"]),
    ("merge_loop", G(C, N("m", "Merge", ["c", "m"], T=F32, N=AttrValue(i=2))), VE,
     ["'m'", "cycle"]),
    ("duplicate_names", G(C, _const("c", np.float32(2))), VE, ["'c'", "more than once"]),
    ("empty_name", G(N("", "NoOp")), VE, ["''", "NoOp"]),
    ("name_with_space", G(N("a b", "NoOp")), VE, ["'a b'"]),
    ("T_given_as_int", G(C, N("i", "Identity", ["c"], T=AttrValue(i=1))), VE,
     ["'i'", "'T'", "type"]),
    ("T_empty_attr_value", G(C, N("i", "Identity", ["c"], T=AttrValue())), VE, ["'i'", "'T'"]),
    ("T_not_allowed", G(_const("s", b"text"), N("r", "Relu", ["s"], T=STR)), VE,
     ["'r'", "allowed"]),
    ("T_unknown_enum", G(C, N("i", "Identity", ["c"], T=77)), VE, ["'i'", "77"]),
    ("T_ref_enum", G(C, N("i", "Identity", ["c"], T=101)), VE, ["'i'", "101"]),
    ("unknown_op_type", G(N("u", "NoSuchOp")), errors.UnimplementedError, ["NoSuchOp", "'u'"]),
    ("too_many_inputs", G(C, N("i", "Identity", ["c", "c"], T=F32)), VE, ["'i'", "takes 1"]),
    ("input_dtype_mismatch", G(C, N("i", "Identity", ["c"], T=I32)), VE,
     ["'i'", "float32", "int32"]),
    ("ref_input_given_a_value", G(C, N("a", "Assign", ["c", "c"], T=F32)), VE,
     ["'a'", "float32_ref"]),
    ("output_count_1e12", G(C, N("u", "Unpack", ["c"], T=F32, num=AttrValue(i=10**12))), RE,
     ["'u'", "1000000000000"]),
    ("output_count_negative", G(C, N("u", "Unpack", ["c"], T=F32, num=AttrValue(i=-1))), VE,
     ["'u'", "minimum"]),
    ("input_count_1e12", G(C, N("p", "Pack", ["c"], T=F32, N=AttrValue(i=10**12))), RE,
     ["'p'"]),
    ("list_attr_of_wrong_kind", G(N("s", "SaveV2", [], dtypes=AttrValue(
        list=AttrValue.ListValue(i=[1])))), VE, ["'s'", "'dtypes'"]),
    ("shape_attr_negative_dim", G(N("p", "Placeholder", [], dtype=F32, shape=AttrValue(
        shape={"dim": [{"size": -7}]}))), VE, ["'p'", "'shape'"]),
    ("string_attr_not_allowed", G(N("conv", "Conv2D", [], T=F32, padding=AttrValue(
        s=b"SIDEWAYS"), strides=AttrValue(list=AttrValue.ListValue(i=[1, 1, 1, 1])))), VE,
     ["'conv'", "'padding'"]),
    ("class_attr_not_utf8", G(_const_edited(lambda n: n.attr["_class"].list.s.append(
        b"loc:@\xff"))), VE, ["'c'", "_class"]),
]


@pytest.mark.parametrize("name,graph_def,error,needles", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_graph_def(tmp_path, name, graph_def, error, needles):
    graph = _seeded_graph()
    before = _state(graph)
    tracemalloc.start()
    try:
        with graph.as_default(), time_limit(10), pytest.raises(error) as info:
            tf.import_graph_def(graph_def)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MB, f"refusing took {peak} bytes"
    assert all(needle in str(info.value) for needle in needles), info.value
    assert _state(graph) == before
    # The same graph in a .meta file: the same error, naming the file too.
    path = tmp_path / "hostile.meta"
    path.write_bytes(MetaGraphDef(graph_def=graph_def).SerializeToString())
    e = _import_file(path)
    assert isinstance(e, error) and all(needle in str(e) for needle in needles), e


def test_failed_import_unhooks_mapped_inputs():
    graph = _seeded_graph()
    before = _state(graph)
    pre = graph.get_tensor_by_name("pre:0")
    graph_def = G(N("x", "Placeholder", [], dtype=F32), N("a", "Identity", ["x"], T=F32),
                  N("b", "Identity", ["^a", "nope"], T=F32))
    with graph.as_default(), pytest.raises(ValueError, match="'nope'"):
        tf.import_graph_def(graph_def, input_map={"x:0": pre})
    with graph.as_default(), pytest.raises(TypeError, match="'a'"):
        tf.import_graph_def(graph_def, input_map={"x:0": "not a tensor"})
    assert _state(graph) == before
    assert pre.consumers() == [graph.get_operation_by_name("pre_id")]
    with graph.as_default():  # the scope name was given back: the next import gets it
        tf.import_graph_def(G(N("n", "NoOp")))
    assert graph.get_operations()[-1].name == "import/n"


def _chain(n: int, head=np.float32(3), last_input: str = "") -> GraphDef:
    """Const n0 and Identity n1..n(n-1), each reading the one before, listed last first;
    with ``last_input``, n0 is an Identity of it instead."""
    dtype = tensor_proto.from_array(head).dtype
    nodes = [N(f"n{i}", "Identity", [f"n{i - 1}"], T=dtype) for i in range(1, n)]
    nodes.insert(0, N("n0", "Identity", [last_input], T=dtype) if last_input else
                 _const("n0", head))
    return _graph(*reversed(nodes))


def test_100k_node_chain_imports_and_runs_quickly():
    graph = tf.Graph()
    with graph.as_default(), time_limit(120):
        start = time.monotonic()
        tf.import_graph_def(_chain(100_000), name="")
        assert time.monotonic() - start < 60
        assert tf.Session().run("n99999:0") == np.float32(3)


def test_100k_node_cycle_is_refused_quickly():
    graph = _seeded_graph()
    before = _state(graph)
    with graph.as_default(), time_limit(60), pytest.raises(ValueError, match="cycle"):
        tf.import_graph_def(_chain(100_000, last_input="n99999"))
    assert _state(graph) == before


def test_long_chain_into_reduction_axes():
    # Sum's shape function looks for constant axes through Identity nodes: walking 5000 of
    # them recurses too deep, so the shape stays unknown and the import goes on.
    chain = _chain(5000, head=np.int32(0))
    chain.node.extend([_const("v", np.arange(4, dtype=np.float32)),
                       _node("s", "Sum", ["v", "n4999"], T=F32, Tidx=I32)])
    graph = tf.Graph()
    with graph.as_default(), time_limit(60):
        tf.import_graph_def(chain, name="")
        assert graph.get_tensor_by_name("s:0").shape.ndims is None
        assert tf.Session().run("s:0") == np.float32(6)
