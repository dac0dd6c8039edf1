"""Every op flowsaver defines has TensorFlow's exact signature (the OpDef a metagraph's
stripped op list holds): argument names and types, attrs with defaults, allowed values and
minimums, and flags."""
import pytest

import flowsaver  # noqa: F401 - registers every op
from flowsaver.ops import registry

OPS = sorted(registry.OP_DEFS)


def _tf_op_def(tf, name):
    from tensorflow.python.framework import op_def_registry
    proto = op_def_registry.get(name)
    assert proto is not None, f"TensorFlow has no op {name!r}"
    stripped = type(proto)()
    stripped.CopyFrom(proto)
    stripped.ClearField("summary")
    stripped.ClearField("description")
    for arg in list(stripped.input_arg) + list(stripped.output_arg):
        arg.ClearField("description")
    for attr in stripped.attr:
        attr.ClearField("description")
    return stripped


def test_ops_are_defined():
    assert len(OPS) > 20


@pytest.mark.parametrize("name", OPS)
def test_op_def_matches_tensorflow(tf, name):
    theirs = _tf_op_def(tf, name)
    ours = registry.OP_DEFS[name].to_proto()
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(
        deterministic=True), f"ours:\n{ours}\ntheirs:\n{theirs}"
