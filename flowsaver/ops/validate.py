"""One check of a node's attr values against its OpDef, shared by graph building
(``op_builder.create_op``) and ``import_graph_def``.

``attr_problem`` says what is wrong with one AttrValue, or None: the wrong AttrValue field
for the attr's type, a DataType flowsaver does not know, a value outside the allowed ones,
an impossible shape, or a number (or list length) under the minimum. Each caller words the
error as TensorFlow does at that point: ``create_op`` as Python's apply_op (TypeError for a
disallowed type), the importer as a ValueError naming the node.
"""
from __future__ import annotations

from dataclasses import dataclass

from flowsaver.format import dtypes, tensor_proto

# Which AttrValue field holds a value of each op-def attr type.
FIELD = {"string": "s", "int": "i", "float": "f", "bool": "b", "type": "type",
         "shape": "shape", "tensor": "tensor", "func": "func"}


@dataclass(frozen=True)
class AttrProblem:
    kind: str       # "field", "unknown_dtype", "not_allowed", "shape" or "minimum"
    value: object   # the offending item: a DType, bytes, a size
    message: str    # what follows "attr 'name' " in an error message


def attr_problem(a, value) -> AttrProblem | None:
    """What is wrong with AttrValue ``value`` for the OpDef attr ``a``, or None."""
    is_list = a.type.startswith("list(")
    field = FIELD.get(a.type[5:-1] if is_list else a.type)
    if field is None:
        return None
    which = value.WhichOneof("value")
    if is_list:
        wrong = [f for f in FIELD.values() if f != field and len(getattr(value.list, f))]
        if which != "list" or wrong:
            return AttrProblem("field", which, f"should be a {a.type}, the graph gives "
                               f"{'a list of ' + wrong[0] if wrong else which}")
        items = list(getattr(value.list, field))
    else:
        if which != field:
            return AttrProblem("field", which, f"should be a {a.type}, the graph gives {which}")
        items = [getattr(value, field)]
    problem = _items_problem(a, field, items)
    if problem is not None:
        return problem
    if a.minimum is not None and (is_list or field == "i"):
        size = len(items) if is_list else items[0]
        if size < a.minimum:
            return AttrProblem("minimum", size, f"is {size}, less than its minimum {a.minimum}")
    return None


def _items_problem(a, field: str, items: list) -> AttrProblem | None:
    if field == "type":
        for enum in items:
            dtype = dtypes.BY_ENUM.get(enum)
            if dtype is None:
                return AttrProblem("unknown_dtype", enum, f"is DataType {enum}, which is not "
                                   f"a type flowsaver knows")
            if a.allowed and dtype not in a.allowed:
                return AttrProblem("not_allowed", dtype, f"is {dtype.name}, not one of the "
                                   f"allowed " + ", ".join(t.name for t in a.allowed))
    elif field == "s" and a.allowed:
        for s in items:
            if s.decode("utf-8", "replace") not in a.allowed:
                return AttrProblem("not_allowed", s, f"is {s[:100]!r}, not one of the "
                                   f"allowed {', '.join(a.allowed)}")
    elif field == "shape":
        for shape in items:
            if any(d.size < -1 for d in shape.dim) or len(shape.dim) > tensor_proto.MAX_RANK \
                    or (shape.unknown_rank and len(shape.dim)):
                return AttrProblem("shape", shape, f"is not a valid shape: "
                                   f"{[d.size for d in shape.dim][:10]}")
    return None
