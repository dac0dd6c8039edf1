"""Gradients of TensorArray ops, as TensorFlow builds them.

The gradient of an array's reads flows into a *gradient array* (``TensorArrayGradV3``),
one per forward array and ``tf.gradients`` call (its ``source``: the gradients name scope
the gradient was made in); the gradient of its writes reads from that array again.
"""
from __future__ import annotations

from flowsaver.ops.array import basic as array_ops
from flowsaver.ops.data_flow.tensor_array import TensorArray
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
gradient = TABLE.gradient


def grad_source(op_or_tensor) -> str:
    """Which ``tf.gradients`` call made ``op_or_tensor``: its name up to the last name
    scope starting with ``gradients``.

    Raises:
      ValueError: the name has no such scope.
    """
    tokens = op_or_tensor.name.split("/")
    positions = [i for i, t in enumerate(tokens) if t.startswith("gradients")]
    if not positions:
        raise ValueError(
            f"Expected op/tensor name to start with gradients (excluding scope), got: "
            f"{op_or_tensor.name}. This means that a tf.gradients op with this op in its "
            f"dependency path has a custom name that does not start with 'gradients'. Please "
            f"make sure all calls to tf.gradients that have non-empty `name` arguments use "
            f"names that start with 'gradients'.")
    return "/".join(tokens[:positions[-1] + 1])


def _grad_array(op, dtype_attr: str, flow, source: str) -> TensorArray:
    forward = TensorArray(dtype=op.get_attr(dtype_attr), handle=op.inputs[0], flow=flow,
                          colocate_with_first_write_call=False)
    return forward.grad(source=source, flow=flow)


def _write_barrier(op, flow):
    """``flow`` passed on only after ``op``'s own flow output (its write) exists."""
    flow_out = array_ops.identity(op.outputs[0], "flow_out")
    with op.graph.control_dependencies([flow_out]):
        return array_ops.identity(flow, "write_barrier")


@gradient("TensorArrayReadV3")
def _read_grad(op, grad):
    g = _grad_array(op, "dtype", op.inputs[2], grad_source(grad))
    return [None, None, g.write(op.inputs[1], grad).flow]


def _stored_values_grad(op, flow, take):
    """A write's or scatter's gradient: ``take(grad array, indices)`` of what was stored,
    read once this op's own write is done."""
    source = grad_source(flow)
    flow = _write_barrier(op, flow)
    g = _grad_array(op, "T", flow, source)
    return [None, None, take(g, op.inputs[1]), flow]


@gradient("TensorArrayWriteV3")
def _write_grad(op, flow):
    return _stored_values_grad(op, flow, lambda g, index: g.read(index))


@gradient("TensorArrayGatherV3")
def _gather_grad(op, grad):
    g = _grad_array(op, "dtype", op.inputs[2], grad_source(grad))
    return [None, None, g.scatter(op.inputs[1], grad).flow]


@gradient("TensorArrayScatterV3")
def _scatter_grad(op, flow):
    return _stored_values_grad(op, flow, lambda g, indices: g.gather(indices))


@gradient("TensorArrayConcatV3")
def _concat_grad(op, grad, _):
    g = _grad_array(op, "dtype", op.inputs[1], grad_source(grad))
    return [None, g.split(grad, lengths=op.outputs[1]).flow]


@gradient("TensorArraySplitV3")
def _split_grad(op, flow):
    source = grad_source(flow)
    flow = _write_barrier(op, flow)
    g = _grad_array(op, "T", flow, source)
    return [None, g.concat(), None, flow]
