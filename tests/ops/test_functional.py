"""Functional control flow without TensorFlow: GraphDefs with a function library written
by hand (While/StatelessWhile, If, PartitionedCall calling FunctionDefs), TensorList and
Optional kernels through ``tf.raw_ops``, and the errors an unsupported or broken function
gives at import or plan time, naming its node."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver as tf
from flowsaver.format.graph_protos import FunctionDef, GraphDef

INT32, FLOAT, VARIANT = 3, 1, 21


@pytest.fixture(params=["compiled", "interpreter"])
def executor_mode(request, monkeypatch):
    if request.param == "interpreter":
        monkeypatch.setenv("FLOWSAVER_EXECUTOR", "interpreter")
    return request.param


def _function(name, inputs, outputs, nodes, ret):
    """A FunctionDef: ``inputs``/``outputs`` are (name, dtype enum); ``nodes`` are
    (name, op, inputs, attrs) with attrs as {name: (field, value)}."""
    f = FunctionDef()
    f.signature.name = name
    for arg, dtype in inputs:
        f.signature.input_arg.add(name=arg, type=dtype)
    for arg, dtype in outputs:
        f.signature.output_arg.add(name=arg, type=dtype)
    for node_name, op, node_inputs, attrs in nodes:
        node = f.node_def.add(name=node_name, op=op)
        node.input.extend(node_inputs)
        for key, (field, value) in attrs.items():
            if field == "tensor":
                node.attr[key].tensor.CopyFrom(value)
            else:
                setattr(node.attr[key], field, value)
    for key, value in ret.items():
        f.ret[key] = value
    return f


def _const_int(name, value):
    from flowsaver.format import tensor_proto
    return (name, "Const", [], {"dtype": ("type", INT32),
                                "value": ("tensor", tensor_proto.from_array(np.int32(value)))})


def _loop_functions():
    """cond(i, acc) = i < 5; body(i, acc) = (i + 1, acc * 2)."""
    cond = _function("loop_cond", [("i", INT32), ("acc", FLOAT)], [("out", 10)],
                     [_const_int("five", 5),
                      ("less", "Less", ["i", "five:output:0"], {"T": ("type", INT32)})],
                     {"out": "less:z:0"})
    body = _function("loop_body", [("i", INT32), ("acc", FLOAT)],
                     [("i_out", INT32), ("acc_out", FLOAT)],
                     [_const_int("one", 1),
                      ("next", "AddV2", ["i", "one:output:0"], {"T": ("type", INT32)}),
                      ("double", "AddV2", ["acc", "acc"], {"T": ("type", FLOAT)})],
                     {"i_out": "next:z:0", "acc_out": "double:z:0"})
    return cond, body


def _while_graph_def(op="StatelessWhile", body_name="loop_body", functions=None):
    graph_def = GraphDef()
    for f in functions if functions is not None else _loop_functions():
        graph_def.library.function.add().CopyFrom(f)
    i = graph_def.node.add(name="i", op="Placeholder")
    i.attr["dtype"].type = INT32
    acc = graph_def.node.add(name="acc", op="Placeholder")
    acc.attr["dtype"].type = FLOAT
    loop = graph_def.node.add(name="loop", op=op, input=["i", "acc"])
    loop.attr["T"].list.type.extend([INT32, FLOAT])
    loop.attr["cond"].func.name = "loop_cond"
    loop.attr["body"].func.name = body_name
    return graph_def


def _import(graph_def):
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name="")
    return graph


@pytest.mark.parametrize("op", ["While", "StatelessWhile"])
def test_a_while_op_runs_its_library_functions(op, executor_mode):
    graph = _import(_while_graph_def(op))
    with tf.Session(graph=graph) as sess:
        i, acc = sess.run(["loop:0", "loop:1"], {"i:0": 1, "acc:0": np.float32([1.5, -1])})
        assert i == 5
        np.testing.assert_array_equal(acc, [24.0, -16.0])
        assert sess.run("loop:0", {"i:0": 9, "acc:0": np.float32(0)}) == 9  # no iteration


def test_the_library_goes_back_out_as_it_came_in():
    graph_def = _while_graph_def()
    exported = _import(graph_def).as_graph_def()
    assert [f.SerializeToString() for f in exported.library.function] == \
        [f.SerializeToString() for f in graph_def.library.function]


def test_an_unknown_op_in_a_function_body_is_refused_at_import_naming_it():
    cond, body = _loop_functions()
    body.node_def.add(name="mystery", op="NoSuchOp")
    with pytest.raises(tf.errors.UnimplementedError,
                       match="'NoSuchOp' \\(e.g. node 'mystery' of function 'loop_body'\\)"):
        _import(_while_graph_def(functions=[cond, body]))


def test_a_different_function_of_a_known_name_is_refused_and_nothing_is_added():
    graph = _import(_while_graph_def())
    cond, body = _loop_functions()
    body.node_def[2].op = "Sub"
    count = len(graph.get_operations())
    with graph.as_default(), pytest.raises(ValueError, match="Cannot add function 'loop_body'"):
        tf.import_graph_def(_while_graph_def(functions=[cond, body]), name="again")
    assert len(graph.get_operations()) == count


def test_a_missing_function_is_reported_before_anything_runs():
    graph = _import(_while_graph_def(body_name="no_such_body"))
    with graph.as_default():
        v = tf.Variable(0, name="v")
        bump = tf.assign_add(v, 1)
    with tf.Session(graph=graph) as sess:
        sess.run(v.initializer)
        with pytest.raises(tf.errors.NotFoundError, match="no_such_body.*node loop"):
            sess.run(["loop:0", bump], {"i:0": 0, "acc:0": np.float32(1)})
        assert sess.run(v) == 0


def test_a_polymorphic_function_is_refused_at_plan_time_naming_the_argument():
    cond, body = _loop_functions()
    body.signature.input_arg[1].ClearField("type")
    body.signature.input_arg[1].type_attr = "T"
    graph = _import(_while_graph_def(functions=[cond, body]))
    with tf.Session(graph=graph) as sess, pytest.raises(tf.errors.UnimplementedError,
                                                        match="argument 'acc'"):
        sess.run("loop:1", {"i:0": 0, "acc:0": np.float32(1)})


def test_a_broken_function_body_is_reported_at_plan_time_naming_both_nodes():
    cond, body = _loop_functions()
    del body.node_def[2].input[:]
    body.node_def[2].input.extend(["acc", "i"])  # float + int32
    graph = _import(_while_graph_def(functions=[cond, body]))
    with tf.Session(graph=graph) as sess, pytest.raises(
            tf.errors.InvalidArgumentError, match="loop_body.*node loop.*'double'"):
        sess.run("loop:1", {"i:0": 0, "acc:0": np.float32(1)})


# ---- TensorLists and optionals through raw ops ---------------------------------------------
def _run(fetches):
    with tf.Session() as sess:
        return sess.run(fetches)


def test_tensor_list_push_pop_set_get_stack(executor_mode):
    raw = tf.raw_ops
    with tf.Graph().as_default():
        empty = raw.EmptyTensorList(element_shape=[2], max_num_elements=-1,
                                    element_dtype=tf.float32)
        one = raw.TensorListPushBack(input_handle=empty, tensor=[1.0, 2.0])
        two = raw.TensorListPushBack(input_handle=one, tensor=[3.0, 4.0])
        popped, last = raw.TensorListPopBack(input_handle=two, element_shape=[2],
                                             element_dtype=tf.float32)
        reserved = raw.TensorListReserve(element_shape=[2], num_elements=3,
                                         element_dtype=tf.float32)
        written = raw.TensorListSetItem(input_handle=reserved, index=1, item=[5.0, 6.0])
        item = raw.TensorListGetItem(input_handle=written, index=0, element_shape=[2],
                                     element_dtype=tf.float32)
        stacked = raw.TensorListStack(input_handle=written, element_shape=[2],
                                      element_dtype=tf.float32)
        lengths = [raw.TensorListLength(input_handle=h) for h in (two, popped, written)]
        out = _run([last, item, stacked] + lengths)
    np.testing.assert_array_equal(out[0], [3.0, 4.0])
    np.testing.assert_array_equal(out[1], [0.0, 0.0])  # unset: zeros of the element shape
    np.testing.assert_array_equal(out[2], [[0, 0], [5, 6], [0, 0]])
    assert out[3:] == [2, 1, 3]


def test_tensor_list_gather_scatter_concat_split_resize():
    raw = tf.raw_ops
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    with tf.Graph().as_default():
        listed = raw.TensorListFromTensor(tensor=x, element_shape=[3])
        gathered = raw.TensorListGather(input_handle=listed, indices=[3, 1], element_shape=[3],
                                        element_dtype=tf.float32)
        scattered = raw.TensorListScatterIntoExistingList(input_handle=listed, tensor=x[:2],
                                                          indices=[2, 5])
        stacked = raw.TensorListStack(input_handle=scattered, element_shape=[3],
                                      element_dtype=tf.float32)
        split = raw.TensorListSplit(tensor=x, element_shape=[-1, 3], lengths=[1, 3])
        concat, lengths = raw.TensorListConcatV2(input_handle=split, element_shape=[-1, 3],
                                                 leading_dims=[0, 0], element_dtype=tf.float32)
        resized = raw.TensorListLength(input_handle=raw.TensorListResize(input_handle=listed,
                                                                         size=2))
        out = _run([gathered, stacked, concat, lengths, resized])
    np.testing.assert_array_equal(out[0], x[[3, 1]])
    np.testing.assert_array_equal(out[1], [x[0], x[1], x[0], x[3], [0, 0, 0], x[1]])
    np.testing.assert_array_equal(out[2], x)
    np.testing.assert_array_equal(out[3], [1, 3])
    assert out[4] == 2


@pytest.mark.parametrize("build, message", [
    (lambda raw: raw.TensorListPopBack(
        input_handle=raw.EmptyTensorList(element_shape=[2], max_num_elements=-1,
                                         element_dtype=tf.float32),
        element_shape=[2], element_dtype=tf.float32)[1], "pop from an empty list"),
    (lambda raw: raw.TensorListGetItem(
        input_handle=raw.TensorListReserve(element_shape=[2], num_elements=2,
                                           element_dtype=tf.float32),
        index=2, element_shape=[2], element_dtype=tf.float32), "element 2 in a list with 2"),
    (lambda raw: raw.TensorListStack(
        input_handle=raw.TensorListReserve(element_shape=-1, num_elements=2,
                                           element_dtype=tf.float32),
        element_shape=-1, element_dtype=tf.float32), "not fully defined"),
    (lambda raw: raw.TensorListPushBack(
        input_handle=raw.EmptyTensorList(element_shape=[2], max_num_elements=1,
                                         element_dtype=tf.float32),
        tensor=[[1.0, 2.0, 3.0]]), "Incompatible shapes"),
], ids=["pop_empty", "get_out_of_range", "stack_unknown_shape", "push_wrong_shape"])
def test_tensor_list_errors_name_the_node(build, message):
    with tf.Graph().as_default():
        out = build(tf.raw_ops)
        with pytest.raises(tf.errors.InvalidArgumentError, match=message) as info:
            _run(out)
    assert info.value.op is not None


def test_variant_lists_and_optionals_add_and_zero_like_tensorflow():
    raw = tf.raw_ops
    with tf.Graph().as_default():
        a = raw.TensorListFromTensor(tensor=[[1.0, 2.0], [3.0, 4.0]], element_shape=[2])
        b = raw.TensorListSetItem(
            input_handle=raw.TensorListReserve(element_shape=[2], num_elements=2,
                                               element_dtype=tf.float32),
            index=1, item=[10.0, 20.0])
        total = raw.AddN(inputs=[a, b, raw.ZerosLike(x=a)])
        stacked = raw.TensorListStack(input_handle=total, element_shape=[2],
                                      element_dtype=tf.float32)
        some = raw.OptionalFromValue(components=[tf.constant([1.0, 2.0])])
        none = raw.OptionalNone()
        value = raw.OptionalGetValue(optional=raw.AddN(inputs=[some, none, some]),
                                     output_types=[tf.float32], output_shapes=[[2]])
        has = [raw.OptionalHasValue(optional=o) for o in (some, none)]
        out = _run([stacked, value] + has)
    np.testing.assert_array_equal(out[0], [[1, 2], [13, 24]])
    np.testing.assert_array_equal(out[1][0], [2.0, 4.0])
    assert out[2:] == [True, False]
