"""FunctionDefs of traced ``tf.data`` functions, so that a GraphDef or metagraph with
datasets carries them in its ``library`` as TensorFlow's does, and TensorFlow can import
and run what flowsaver exported.

In a FunctionDef the body's nodes name their inputs ``ARG`` (a function argument) or
``NODE:OUTPUT_ARG:INDEX`` (INDEX counting within that output argument of NODE's OpDef),
and ``ret`` maps each output argument to such a name.
"""
from __future__ import annotations

from flowsaver.format.graph_protos import AttrValue, FunctionDef
from flowsaver.ops.functional import library

_DATA_FUNCTION = "_tf_data_function"


def _output_ref(tensor) -> str:
    """``NODE:OUTPUT_ARG:INDEX`` of ``tensor`` (an output of a node in the body)."""
    op = tensor.op
    remaining = tensor.value_index
    for arg in op.op_def.outputs:
        if arg.number_attr:
            count = op.get_attr(arg.number_attr)
        elif arg.type_list_attr:
            count = len(op.get_attr(arg.type_list_attr))
        else:
            count = 1
        if remaining < count:
            return f"{op.name}:{arg.name}:{remaining}"
        remaining -= count
    raise ValueError(f"{tensor.name} is not an output of {op.name}'s OpDef")


def build(name: str, ops, inputs, outputs, is_data_function: bool = True) -> FunctionDef:
    """The FunctionDef of the ``ops`` (in order) computing ``outputs`` from ``inputs``."""
    fdef = FunctionDef()
    fdef.signature.name = name
    arg_of = {}
    for i, tensor in enumerate(inputs):
        arg = fdef.signature.input_arg.add(name=f"args_{i}",
                                           type=tensor.dtype.base_dtype.as_datatype_enum)
        arg_of[tensor] = arg.name
    input_ops = {t.op for t in inputs}
    stateful = False
    for op in ops:
        if op in input_ops:
            continue
        node = fdef.node_def.add()
        node.CopyFrom(op.node_def)
        node.ClearField("input")
        node.ClearField("device")
        node.input.extend(arg_of.get(t) or _output_ref(t) for t in op.inputs)
        node.input.extend(f"^{c.name}" for c in op.control_inputs)
        stateful = stateful or (op.op_def is not None and op.op_def.is_stateful)
    for i, tensor in enumerate(outputs):
        out_name = f"output_{i}"
        fdef.signature.output_arg.add(name=out_name,
                                      type=tensor.dtype.base_dtype.as_datatype_enum)
        fdef.ret[out_name] = arg_of.get(tensor) or _output_ref(tensor)
    fdef.signature.is_stateful = stateful
    if is_data_function:
        fdef.attr[_DATA_FUNCTION].CopyFrom(AttrValue(b=True))
    return fdef


def add_to_library(graph, fdef: FunctionDef) -> None:
    """Add a traced function's FunctionDef to the outermost graph's library."""
    library.add(graph, fdef)


def ancestors(tensor) -> list:
    """The ops ``tensor`` depends on (data and control), in graph creation order."""
    seen, stack = set(), [tensor.op]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return [op for op in tensor.graph.get_operations() if op in seen]
