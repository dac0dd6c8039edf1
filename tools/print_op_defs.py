"""Print TensorFlow's op signatures in flowsaver's one-line op-definition syntax.

A development aid, run with the test environment's TensorFlow when adding ops:
    .venv/bin/python tools/print_op_defs.py MatMul AddV2
flowsaver never imports TensorFlow; tests/interop/test_op_defs_tf.py checks every
definition in flowsaver.ops against TensorFlow's registry.
"""
import sys

from tensorflow.core.framework import types_pb2
from tensorflow.python.framework import op_def_registry

_TYPE = {v: k[3:].lower() for k, v in types_pb2.DataType.items() if not k.endswith("_REF")}
_TYPE[types_pb2.DT_HALF] = "half"


def _type(t):
    return _TYPE[t]


def _arg(arg):
    if arg.number_attr:
        kind = f"{arg.number_attr} * {arg.type_attr or _type(arg.type)}"
    elif arg.type_list_attr:
        kind = arg.type_list_attr
    elif arg.type_attr:
        kind = arg.type_attr
    else:
        kind = _type(arg.type)
    return f"{arg.name}: {'Ref(' + kind + ')' if arg.is_ref else kind}"


def _value(attr_type, v):
    which = v.WhichOneof("value")
    if which == "list":
        items = [_value(attr_type[5:-1], _single(attr_type[5:-1], x))
                 for x in _list_items(v.list)]
        return "[" + ", ".join(items) + "]"
    if which == "type":
        return _type(v.type)
    if which == "b":
        return "true" if v.b else "false"
    if which == "s":
        return '"' + v.s.decode() + '"'
    if which == "i":
        return str(v.i)
    if which == "f":
        return repr(v.f)
    if which == "shape":
        if v.shape.unknown_rank:
            return "?"
        return "[" + ", ".join(str(d.size) for d in v.shape.dim) + "]"
    raise ValueError(which)


def _list_items(lst):
    for name in ("s", "i", "f", "b", "type", "shape"):
        if len(getattr(lst, name)):
            return list(getattr(lst, name))
    return []


def _single(attr_type, x):
    from tensorflow.core.framework import attr_value_pb2
    field = {"string": "s", "int": "i", "float": "f", "bool": "b", "type": "type",
             "shape": "shape"}[attr_type]
    v = attr_value_pb2.AttrValue()
    if field == "shape":
        v.shape.CopyFrom(x)
    else:
        setattr(v, field, x)
    return v


def line(op):
    d = op_def_registry.get(op)
    text = f"{d.name}({', '.join(_arg(a) for a in d.input_arg)}) -> " \
           f"({', '.join(_arg(a) for a in d.output_arg)})"
    for a in d.attr:
        piece = f"{a.name}: {a.type}"
        if a.allowed_values.WhichOneof("value"):
            allowed = a.allowed_values.list
            if a.type in ("type", "list(type)"):
                piece += " {" + ", ".join(_type(t) for t in allowed.type) + "}"
            else:
                piece += " {" + ", ".join('"' + s.decode() + '"' for s in allowed.s) + "}"
        if a.has_minimum:
            piece += f" >= {a.minimum}"
        if a.HasField("default_value"):
            piece += " = " + _value(a.type, a.default_value)
        text += "; " + piece
    flags = [f for f in ("is_stateful", "is_commutative", "is_aggregate",
                         "allows_uninitialized_input", "is_distributed_communication")
             if getattr(d, f)]
    if flags:
        text += "; !" + " !".join(f.removeprefix("is_") for f in flags)
    return text


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"    '{line(name)}',")
