"""``tf.raw_ops`` against real TensorFlow: every op flowsaver registers is there with
TensorFlow's keyword names (api renames included, e.g. ``Sum(axis=...)``,
``Split(axis=...)``), and raw-op programs build TensorFlow's GraphDefs and values."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import flowsaver
from flowsaver.ops import families, registry
from parity import assert_close, run_both, tf1_mode
from rows import arr, check_row, row

families.install()
OPS = sorted(registry.OP_DEFS)


@pytest.mark.parametrize("op_type", OPS)
def test_every_registered_op_has_tensorflows_raw_signature(tf, op_type):
    ours = inspect.signature(getattr(flowsaver.raw_ops, op_type))
    theirs = inspect.signature(getattr(tf.raw_ops, op_type))
    assert list(ours.parameters) == list(theirs.parameters)
    for name, p in theirs.parameters.items():
        assert ours.parameters[name].kind == inspect.Parameter.KEYWORD_ONLY
        if p.default is not inspect.Parameter.empty and name != "name":
            ours_default = ours.parameters[name].default
            want = p.default.name if hasattr(p.default, "as_datatype_enum") else p.default
            got = ours_default.name if hasattr(ours_default, "as_datatype_enum") else \
                ours_default
            got = got.decode() if isinstance(got, bytes) else got
            if isinstance(want, float):  # float attrs are stored as float32
                got, want = np.float32(got), np.float32(want)
            if hasattr(want, "SerializeToString"):  # a TensorProto: two protobuf classes
                got, want = got.SerializeToString(), want.SerializeToString()
            assert got == want, name


def test_dir_lists_every_registered_op():
    assert sorted(dir(flowsaver.raw_ops)) == OPS
    with pytest.raises(AttributeError, match="no op type"):
        flowsaver.raw_ops.NoSuchOp  # noqa: B018


def test_positional_arguments_are_refused_as_in_tensorflow(tf):
    x = np.ones((2, 2), np.float32)
    with pytest.raises(TypeError, match="only takes keyword args"):
        tf.raw_ops.MatMul(x, x)
    with flowsaver.Graph().as_default(), pytest.raises(TypeError,
                                                        match="only takes keyword args"):
        flowsaver.raw_ops.MatMul(x, x)


X = arr(2, 3)
ROWS = [
    row("matmul", lambda api, x: api.raw_ops.MatMul(a=x, b=x, transpose_b=True, name="mm"),
        [X]),
    row("sum-axis", lambda api, x: [api.raw_ops.Sum(input=x, axis=[1]),
                                    api.raw_ops.Mean(input=x, axis=0, keep_dims=True)], [X]),
    row("split", lambda api, x: api.raw_ops.Split(axis=1, value=x, num_split=3), [X]),
    row("splitv", lambda api, x: api.raw_ops.SplitV(value=x, size_splits=[1, 2], axis=1,
                                                    num_split=2), [X]),
    row("select", lambda api, x: api.raw_ops.Select(condition=x > 0.0, x=x, y=-x), [X]),
    row("expand-squeeze", lambda api, x: api.raw_ops.Squeeze(
        input=api.raw_ops.ExpandDims(input=x, axis=0), axis=[0]), [X]),
    row("unpack-pack", lambda api, x: api.raw_ops.Pack(
        values=api.raw_ops.Unpack(value=x, num=2), axis=1), [X]),
    row("const-fill", lambda api: api.raw_ops.Fill(dims=[2, 2], value=1.5)),
    row("where", lambda api, x: api.raw_ops.Where(condition=x > 0.0), [X]),
    row("cast", lambda api, x: api.raw_ops.Cast(x=x, DstT=api.int32, Truncate=True), [X]),
]


@pytest.mark.parametrize("fn,inputs,shapes,grad,rtol", ROWS)
def test_raw_op_programs_match_tensorflow(tf, fn, inputs, shapes, grad, rtol):
    check_row(tf, fn, inputs, shapes, grad, rtol)


def test_raw_save_and_restore_cross_both_ways(tf, tmp_path):
    """A checkpoint written with tf.raw_ops.SaveV2 in one system restores with
    tf.raw_ops.RestoreV2 in the other."""
    values = [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([7, 8], np.int64)]

    def save(api, prefix):
        return api.raw_ops.SaveV2(prefix=prefix, tensor_names=["a", "b"],
                                  shape_and_slices=["", ""],
                                  tensors=[api.constant(v) for v in values])

    def restore(api, prefix):
        return api.raw_ops.RestoreV2(prefix=prefix, tensor_names=["b", "a"],
                                     shape_and_slices=["", ""],
                                     dtypes=[api.int64, api.float32])
    for writer, reader in (("flowsaver", "tf"), ("tf", "flowsaver")):
        prefix = str(tmp_path / f"by_{writer}")
        for who, step in ((writer, save), (reader, restore)):
            if who == "flowsaver":
                with flowsaver.Graph().as_default() as g, flowsaver.Session(graph=g) as s:
                    got = s.run(step(flowsaver, prefix))
            else:
                with tf1_mode(tf) as v1, v1.Graph().as_default() as g, \
                        v1.Session(graph=g) as s:
                    got = s.run(step(v1, prefix))
        assert_close(list(got), values[::-1])


def test_raw_assert_returns_an_operation(tf):
    def build(api):
        x = api.placeholder(np.float32, [2], name="in0")
        check = api.raw_ops.Assert(condition=api.reduce_all(x > 0.0), data=["x", x],
                                   summarize=1)
        assert type(check).__name__ == "Operation"
        with api.control_dependencies([check]):
            return api.identity(x)
    got, want = run_both(tf, build, {"in0": np.array([1.0, 2.0], np.float32)})
    assert_close(got, want)
