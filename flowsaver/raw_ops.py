"""``tf.raw_ops``: every registered op as a function of keyword arguments.

``tf.raw_ops.MatMul(a=x, b=w, transpose_b=True)`` adds one ``MatMul`` node, exactly as
TensorFlow's raw ops do: inputs by their OpDef argument names, attrs by name (those the
inputs imply are inferred), and ``name``. The functions are made from the registry's OpDefs
when first asked for, so every op flowsaver registers is here, and nothing else. An op with
one output returns a Tensor (a list for a list output), several outputs a named tuple, and
no outputs the Operation.
"""
from __future__ import annotations

import collections
import inspect

from flowsaver.graph import attr_value
from flowsaver.ops import families, registry
from flowsaver.ops.op_builder import build_op

_CACHE: dict = {}

# Where TensorFlow's Python API renames an OpDef argument or attr (its api_def files), the
# raw op takes the Python name: op type -> {OpDef name: keyword}.
RENAMED = {
    **{op: {"reduction_indices": "axis"}
       for op in ("All", "Any", "Max", "Mean", "Min", "Prod", "Sum")},
    "ExpandDims": {"dim": "axis"},
    "Select": {"t": "x", "e": "y"},
    "Split": {"split_dim": "axis"},
    "SplitV": {"split_dim": "axis"},
    "Squeeze": {"squeeze_dims": "axis"},
    "Where": {"input": "condition"},
}


def _inferred_attrs(op_def) -> set:
    """Attrs the inputs decide (types and list lengths): not raw-op keywords."""
    return {k for arg in op_def.inputs for k in (arg.type_attr, arg.number_attr,
                                                  arg.type_list_attr) if k}


def signature(op_type: str) -> inspect.Signature:
    """The raw op's keyword-only signature: inputs, required attrs, attrs with defaults,
    then ``name``, as TensorFlow orders them."""
    op_def = registry.OP_DEFS[op_type]
    rename = RENAMED.get(op_type, {})
    inferred = _inferred_attrs(op_def)
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(rename.get(a.name, a.name), kw) for a in op_def.inputs]
    attrs = [a for a in op_def.attrs if a.name not in inferred]
    params += [inspect.Parameter(rename.get(a.name, a.name), kw)
               for a in attrs if a.default is None]
    params += [inspect.Parameter(rename.get(a.name, a.name), kw,
                                 default=attr_value.decode(a.default))
               for a in attrs if a.default is not None]
    params.append(inspect.Parameter("name", kw, default=None))
    return inspect.Signature(params)


def _make(op_type: str):
    op_def = registry.OP_DEFS[op_type]
    to_opdef = {new: old for old, new in RENAMED.get(op_type, {}).items()}
    sig = signature(op_type)
    keywords = [p for p in sig.parameters if p != "name"]
    input_names = [arg.name for arg in op_def.inputs]
    result = None
    if len(op_def.outputs) > 1:
        result = collections.namedtuple(op_type, [arg.name for arg in op_def.outputs])

    def raw_op(*args, **kwargs):
        if args:
            raise TypeError(f"{op_type} only takes keyword args (possible keys: "
                            f"{keywords + ['name']}). Please pass these args as kwargs "
                            f"instead.")
        unknown = sorted(k for k in kwargs if k not in sig.parameters)
        if unknown:
            raise TypeError(f"{op_type}() got an unexpected keyword argument '{unknown[0]}'")
        name = kwargs.pop("name", None)
        kwargs = {to_opdef.get(k, k): v for k, v in kwargs.items()}
        missing = [n for n in input_names if n not in kwargs]
        if missing:
            raise TypeError(f"{op_type}() missing required arguments: {', '.join(missing)}")
        inputs = [kwargs.pop(n) for n in input_names]
        op = build_op(op_type, inputs, kwargs, name=name)
        if not op_def.outputs:
            return op
        outputs = _group(op_def, op)
        return result(*outputs) if result is not None else outputs[0]

    raw_op.__name__ = raw_op.__qualname__ = op_type
    raw_op.__signature__ = sig
    raw_op.__doc__ = (f"The raw ``{op_type}`` op: keywords "
                      f"{', '.join(keywords)}; returns its outputs.")
    return raw_op


def _group(op_def, op) -> list:
    """The op's outputs, one entry per output argument (a list for a list argument)."""
    out, i = [], 0
    for arg in op_def.outputs:
        if arg.number_attr:
            count = op.get_attr(arg.number_attr)
        elif arg.type_list_attr:
            count = len(op.get_attr(arg.type_list_attr))
        else:
            out.append(op.outputs[i])
            i += 1
            continue
        out.append(list(op.outputs[i:i + count]))
        i += count
    return out


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    families.install()
    if name not in registry.OP_DEFS:
        raise AttributeError(f"module 'flowsaver.raw_ops' has no attribute {name!r} (no op "
                             f"type {name!r} is registered in flowsaver)")
    if name not in _CACHE:
        _CACHE[name] = _make(name)
    return _CACHE[name]


def __dir__():
    families.install()
    return sorted(registry.OP_DEFS)
