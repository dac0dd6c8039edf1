"""The "Concrete Functions" part of ``saved_model_cli show --all`` for TF2 SavedModels,
read from the MetaGraph's SavedObjectGraph instead of by loading the model.

Each function the root object holds (a ``SavedFunction`` with its concrete functions, or a
bare concrete function) is listed with the input signature TensorFlow recorded for it: a
StructuredValue holding ``(args, kwargs)``, decoded here into Python values and
``TensorSpec`` stand-ins that print as TensorFlow's do. A function's options come in the
order TensorFlow loads their concrete functions; saved_model_cli sorts them by the names it
makes up while loading (``..._88`` before ``..._115`` only when the numbers have as many
digits), so where those numbers cross a power of ten the two orders differ.
"""
from __future__ import annotations

import dataclasses
import re

from flowsaver.format.protos import DATA_TYPES

_DTYPE_NAMES = {enum: name[len("DT_"):].lower() for name, enum in DATA_TYPES.items()}
_DTYPE_NAMES.update({DATA_TYPES["DT_FLOAT"]: "float32", DATA_TYPES["DT_DOUBLE"]: "float64",
                     DATA_TYPES["DT_HALF"]: "float16"})


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """A TensorSpecProto, printed as TensorFlow prints ``tf.TensorSpec``."""

    name: str | None
    shape: tuple | None   # None: unknown rank; a dimension of None: unknown size
    dtype: str

    def shape_text(self) -> str:
        if self.shape is None:
            return "<unknown>"
        dims = ["None" if d is None else str(d) for d in self.shape]
        return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"

    def __repr__(self) -> str:
        name = "None" if self.name is None else repr(self.name)
        return f"TensorSpec(shape={self.shape_text()}, dtype=tf.{self.dtype}, name={name})"

    __str__ = __repr__


def _shape(proto) -> tuple | None:
    if proto.unknown_rank:
        return None
    return tuple(None if d.size < 0 else d.size for d in proto.dim)


def decode(value):
    """A StructuredValue as Python values (tuples, lists, dicts, scalars, TensorSpecs)."""
    kind = value.WhichOneof("kind")
    if kind is None or kind == "none_value":
        return None
    if kind in ("float64_value", "int64_value", "string_value", "bool_value"):
        return getattr(value, kind)
    if kind in ("list_value", "tuple_value"):
        items = [decode(v) for v in getattr(value, kind).values]
        return items if kind == "list_value" else tuple(items)
    if kind == "dict_value":
        return {key: decode(value.dict_value.fields[key])
                for key in sorted(value.dict_value.fields)}
    if kind == "named_tuple_value":
        return tuple(decode(pair.value) for pair in value.named_tuple_value.values)
    if kind in ("tensor_spec_value", "bounded_tensor_spec_value"):
        spec = getattr(value, kind)
        return TensorSpec(spec.name or None, _shape(spec.shape),
                          _DTYPE_NAMES.get(spec.dtype, str(spec.dtype)))
    if kind == "tensor_shape_value":
        return _shape(value.tensor_shape_value)
    if kind == "tensor_dtype_value":
        return f"tf.{_DTYPE_NAMES.get(value.tensor_dtype_value, value.tensor_dtype_value)}"
    return f"<{kind}>"


def _library_load_order(library) -> dict[str, int]:
    """Where each function comes in TensorFlow's loading order of a library (a depth-first
    topological order, callees first). A loaded function gets a fresh numeric suffix in
    that order, and saved_model_cli sorts by the new names."""
    names = {f.signature.name for f in library.function}
    callers: dict[str, list[str]] = {}
    waiting: dict[str, int] = {}
    for function in library.function:
        deps = set()
        for node in function.node_def:
            if node.op in names:
                deps.add(node.op)
                continue
            for value in node.attr.values():
                kind = value.WhichOneof("value")
                if kind == "func":
                    deps.add(value.func.name)
                elif kind == "list":
                    deps.update(f.name for f in value.list.func)
        for dep in deps:
            callers.setdefault(dep, []).append(function.signature.name)
        waiting[function.signature.name] = len(deps)
    ready = [f.signature.name for f in library.function if not waiting[f.signature.name]]
    order: dict[str, int] = {}
    while ready:
        name = ready.pop()
        order[name] = len(order)
        for caller in callers.get(name, ()):
            waiting[caller] -= 1
            if not waiting[caller]:
                ready.append(caller)
    return order


_INFERENCE_NAME = re.compile(r"^__inference_(.*)_\d+$")


def _ordered(names, order: dict) -> list[str]:
    def key(name):
        match = _INFERENCE_NAME.match(name)
        return (match.group(1) if match else name, order.get(name, len(order)), name)
    return sorted(names, key=key)


def _quoted(value) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def _type_name(value) -> str:
    return "NoneType" if value is None else type(value).__name__


def _argument_lines(arguments, argument_type: str, indent: int) -> list[str]:
    """Lines as saved_model_cli's ``_print_args`` prints them (backspaces included)."""
    pad = "  " * indent
    lines = []
    for index, element in enumerate(arguments, 1):
        if indent == 4:
            lines.append(f"{pad}{argument_type} #{index}")
        if isinstance(element, str):
            lines.append(f"{pad}  {element}")
        elif isinstance(element, TensorSpec):
            lines.append("  " * (indent + 1) + f"{element.name}: {element!r}")
        elif isinstance(element, (list, tuple)):
            inner = "".join(f"{_quoted(v)}, " for v in element)
            lines += [f"{pad}  DType: {_type_name(element)}", f"{pad}  Value: [{inner}\b\b]"]
        elif isinstance(element, dict):
            inner = "".join(f"'{k}': {_quoted(v)}, " for k, v in element.items())
            lines += [f"{pad}  DType: dict", f"{pad}  Value: {{{inner}\b\b}}"]
        else:
            lines += [f"{pad}  DType: {_type_name(element)}", f"{pad}  Value: {element}"]
    return lines


def _signature(object_graph, function_name: str, keywords=()):
    """``(args, kwargs)`` of a concrete function, or ``(keywords, None)`` without one."""
    saved = object_graph.concrete_functions.get(function_name)
    if saved is not None and saved.HasField("canonicalized_input_signature"):
        decoded = decode(saved.canonicalized_input_signature)
        if isinstance(decoded, tuple) and len(decoded) == 2:
            return decoded
    return (tuple(keywords) or None), None


def concrete_functions_text(object_graph, library) -> str:
    """The "Concrete Functions:" section for one SavedObjectGraph (with the function
    ``library`` of its graph), as saved_model_cli prints it: it starts with a newline, and
    its heading ends with none."""
    text = "\nConcrete Functions:"
    order = _library_load_order(library)
    if not object_graph.nodes:
        return text
    root = object_graph.nodes[0]
    for child in sorted(root.children, key=lambda c: c.local_name):
        if not 0 <= child.node_id < len(object_graph.nodes):
            continue
        node = object_graph.nodes[child.node_id]
        kind = node.WhichOneof("kind")
        if kind == "function":
            names = _ordered(node.function.concrete_functions, order)
            signatures = [_signature(object_graph, name) for name in names]
        elif kind == "bare_concrete_function":
            bare = node.bare_concrete_function
            signatures = [_signature(object_graph, bare.concrete_function_name,
                                     bare.argument_keywords)]
        else:
            continue
        lines = [f"\n  Function Name: '{child.local_name}'"]
        for index, (args, kwargs) in enumerate(signatures, 1):
            if args:
                lines += [f"    Option #{index}", "      Callable with:"]
                lines += _argument_lines(args, "Argument", 4)
            if kwargs:
                lines += _argument_lines(kwargs, "Named Argument", 4)
        text += "\n".join(lines) + "\n"
    return text


def function_list(object_graph, library) -> list[dict]:
    """The same, as data: ``[{"name", "signatures": [{"args", "kwargs"}]}]`` (for --json)."""
    out = []
    order = _library_load_order(library)
    if not object_graph.nodes:
        return out
    for child in sorted(object_graph.nodes[0].children, key=lambda c: c.local_name):
        if not 0 <= child.node_id < len(object_graph.nodes):
            continue
        node = object_graph.nodes[child.node_id]
        kind = node.WhichOneof("kind")
        if kind == "function":
            names = _ordered(node.function.concrete_functions, order)
        elif kind == "bare_concrete_function":
            names = [node.bare_concrete_function.concrete_function_name]
        else:
            continue
        signatures = []
        for name in names:
            args, kwargs = _signature(object_graph, name)
            signatures.append({"concrete_function": name, "args": _plain(args),
                               "kwargs": _plain(kwargs)})
        out.append({"name": child.local_name, "kind": kind, "signatures": signatures})
    return out


def _plain(value):
    if isinstance(value, TensorSpec):
        return {"name": value.name, "shape": None if value.shape is None else
                list(value.shape), "dtype": value.dtype}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
