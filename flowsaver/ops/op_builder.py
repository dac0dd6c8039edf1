"""Adding ops to a graph: ``create_op`` (TensorFlow's apply_op), ``convert_to_tensor``.

``create_op`` opens a name scope named after the op, converts Python values to ``Const``
nodes named after their input argument (``mul/y``), infers type and length attrs from
the inputs, fills in every default attr (TensorFlow's GraphDefs list them all), checks
allowed values, and runs the op's shape function.
"""
from __future__ import annotations

import numpy as np

from flowsaver.format import tensor_proto
from flowsaver.graph import attr_value
from flowsaver.graph.attr_value import as_dtype
from flowsaver.graph.graph import Graph, get_default_graph
from flowsaver.graph.operation import Operation, Tensor
from flowsaver.graph.tensor_shape import TensorShape, as_shape
from flowsaver.ops import registry, validate

# Objects that stand for a tensor (a Variable) register a conversion: type -> fn.
_CONVERSIONS: list = []


def register_tensor_conversion(cls, fn) -> None:
    """``fn(value, dtype, name, as_ref) -> Tensor`` converts instances of ``cls``."""
    _CONVERSIONS.append((cls, fn))


def graph_of(values, default: Graph | None = None) -> Graph:
    """The graph of the tensors among ``values`` (nested one level), else the default.

    Raises:
      ValueError: the tensors belong to different graphs.
    """
    found = None
    current = get_default_graph()
    captures_from = getattr(current, "captures_from", None)  # a function being traced
    for value in _flatten(values):
        if hasattr(value, "_as_graph_element") and not isinstance(value, (Tensor, Operation)):
            value = value._as_graph_element()
        g = getattr(value, "graph", None) if isinstance(value, (Tensor, Operation)) else None
        if g is not None and captures_from is not None and g is not current and \
                captures_from(g):
            g = current   # an outer tensor: the function captures it
        if g is not None:
            if found is not None and g is not found:
                raise ValueError(f"{value} must be from the same graph as the other inputs "
                                 f"({value.name} is from another graph).")
            found = g
    return found or default or get_default_graph()


def _flatten(values):
    for value in values:
        if isinstance(value, (list, tuple)):
            yield from value
        else:
            yield value


def convert_to_tensor(value, dtype=None, name=None, preferred_dtype=None,
                      as_ref=False) -> Tensor:
    """``value`` as a Tensor: tensors pass through (dtype checked), the rest become Const.

    Raises:
      ValueError: a tensor of another dtype than ``dtype``.
      TypeError: a value that cannot be a ``dtype`` tensor.
    """
    dtype = None if dtype is None else attr_value.as_dtype(dtype)
    if isinstance(value, Tensor):
        if dtype is not None and not dtype.is_compatible_with(value.dtype) and \
                dtype.base_dtype != value.dtype.base_dtype:
            raise ValueError(f"Tensor conversion requested dtype {dtype.name} for Tensor with "
                             f"dtype {value.dtype.name}: {value!r}")
        return value
    for cls, fn in _CONVERSIONS:
        if isinstance(value, cls):
            return fn(value, dtype=dtype, name=name, as_ref=as_ref)
    if isinstance(value, Operation):
        raise TypeError(f"Can't convert Operation '{value.name}' to Tensor (target dtype="
                        f"{dtype}, name={name!r}, as_ref={as_ref})")
    if isinstance(value, TensorShape):
        return _shape_to_tensor(value, dtype, name)
    if isinstance(value, (list, tuple)) and any(_is_tensor_like(v) for v in _deep(value)):
        return pack_list(value, name=name or "packed")  # as TensorFlow's autopacking
    if dtype is None and preferred_dtype is not None and \
            not isinstance(value, (np.ndarray, np.generic)):  # NumPy values keep their dtype
        try:
            return constant(value, dtype=preferred_dtype, name=name or "Const")
        except (TypeError, ValueError):
            pass
    return constant(value, dtype=dtype, name=name or "Const")


def _shape_to_tensor(shape: TensorShape, dtype, name) -> Tensor:
    """A fully known static shape as an int32 Const (int64 when a dimension needs it)."""
    if not shape.is_fully_defined():
        raise ValueError(f"Cannot convert a partially known TensorShape {shape} to a Tensor.")
    dims = shape.as_list()
    wide = any(d >= 2**31 for d in dims)
    if dtype is not None:
        if dtype.name not in ("int32", "int64"):
            raise TypeError(f"Cannot convert TensorShape {shape} to {dtype!r}")
        if dtype.name == "int32" and wide:
            raise ValueError(f"Cannot convert TensorShape {shape} to dtype int32; a dimension "
                             f"is too large")
    else:
        dtype = attr_value.as_dtype("int64" if wide else "int32")
    return constant(dims, dtype=dtype, name=name or "shape_as_tensor")


def _is_tensor_like(value) -> bool:
    return isinstance(value, Tensor) or any(isinstance(value, c) for c, _ in _CONVERSIONS)


def _deep(value):
    for item in value:
        if isinstance(item, (list, tuple)):
            yield from _deep(item)
        else:
            yield item


def constant(value, dtype=None, shape=None, name="Const", verify_shape=False) -> Tensor:
    """A ``Const`` node holding ``value`` (broadcast to ``shape`` when given)."""
    dtype = None if dtype is None else attr_value.as_dtype(dtype)
    if shape is not None:
        shape = [int(d) for d in as_shape(shape).as_list()]
        array = np.asarray(value) if not isinstance(value, (list, tuple)) else None
        if array is not None and array.size == 1:
            proto = tensor_proto.from_array(value, dtype=dtype, shape=shape)
        else:
            proto = tensor_proto.from_array(value, dtype=dtype)
            if list(proto.tensor_shape.dim) and [d.size for d in proto.tensor_shape.dim] != shape:
                count = int(np.prod(shape))
                flat = tensor_proto.to_array(proto).reshape(-1)
                if verify_shape or flat.size != count:
                    raise TypeError(f"Expected Tensor's shape: {tuple(shape)}, but got "
                                    f"{tuple(d.size for d in proto.tensor_shape.dim)}.")
                proto = tensor_proto.from_array(flat.reshape(shape), dtype=dtype)
    else:
        proto = tensor_proto.from_array(value, dtype=dtype)
    out_dtype = attr_value.as_dtype(proto.dtype)
    return create_op("Const", [], {"value": proto, "dtype": out_dtype}, name=name,
                     name_only=True)


def create_op(op_type: str, inputs, attrs: dict | None = None, name: str | None = None,
              graph: Graph | None = None, name_only: bool = False):
    """Add an ``op_type`` node; returns its single output, its outputs list, or the op.

    ``inputs`` follow the op's input arguments in order; Python values become Const
    nodes. ``attrs`` hold what cannot be inferred; defaults fill in the rest. With
    ``name_only`` the op's name scope is not open while the op is added (TensorFlow's
    ``constant`` opens none): ops a control-flow context adds for it are named outside.
    """
    op = build_op(op_type, inputs, attrs, name, graph, name_only)
    outputs = op.outputs
    if len(op.op_def.outputs) == 1 and not (op.op_def.outputs[0].number_attr or
                                             op.op_def.outputs[0].type_list_attr):
        return outputs[0]
    if not outputs and not op.op_def.outputs:
        return op
    return outputs


def build_op(op_type: str, inputs, attrs: dict | None = None, name: str | None = None,
             graph: Graph | None = None, name_only: bool = False) -> Operation:
    """Like ``create_op`` but always returns the Operation."""
    op_def = registry.get(op_type)
    attrs = dict(attrs or {})
    inputs = list(inputs)
    if len(inputs) != len(op_def.inputs):
        raise TypeError(f"{op_type} takes {len(op_def.inputs)} inputs "
                        f"({', '.join(a.name for a in op_def.inputs)}), got {len(inputs)}")
    g = graph or graph_of(inputs)
    with g.as_default(), g.name_scope(name or op_type) as scope:
        flat_inputs = []
        for arg, value in zip(op_def.inputs, inputs):
            flat_inputs.extend(_convert_arg(op_def, arg, value, attrs))
        if hasattr(g, "capture"):   # tracing a function: outer tensors become its inputs
            flat_inputs = [t if t.graph is g else g.capture(t) for t in flat_inputs]
        values = {}
        for a in op_def.attrs:
            if a.name in attrs:
                values[a.name] = _checked_attr(op_def, a, attrs.pop(a.name))
            elif a.default is not None:
                values[a.name] = a.default
            else:
                raise TypeError(f"{op_type} op requires attr '{a.name}' ({a.type}) and none "
                                f"was given or could be inferred from the inputs")
        for key, value in attrs.items():  # private attrs such as _class
            if not key.startswith("_"):
                raise TypeError(f"{op_type} op has no attr named '{key}'")
            values[key] = value if isinstance(value, registry.AttrValue) else \
                attr_value.encode(value, "list(string)" if key == "_class" else "bool")
        for key, value in g._attr_scope_map.items():
            values.setdefault(key, value)
        out_types = _output_types(op_def, values)
        op = Operation(g, scope[:-1], op_type, flat_inputs, values, out_types, op_def=op_def)
        try:  # an op whose shapes do not fit never enters the graph
            infer_shapes(op)
        except BaseException:
            for tensor in flat_inputs:
                tensor._consumers.remove(op)
            raise
        if not name_only:
            _add(g, op, op_def, flat_inputs)
    if name_only:
        with g.as_default():
            _add(g, op, op_def, flat_inputs)
    return op


def _add(g: Graph, op: Operation, op_def, flat_inputs) -> None:
    ref_ops = _ref_input_ops(op_def, op, flat_inputs)
    if ref_ops:  # TensorFlow colocates an op with the variables it takes by reference
        with g.colocate_with(ref_ops[0]):
            g._add_op(op)
    else:
        g._add_op(op)


def _ref_input_ops(op_def, op, flat_inputs) -> list:
    if not any(arg.is_ref for arg in op_def.inputs):
        return []
    return [t.op for t, is_ref in zip(flat_inputs, registry.ref_arg_flags(op)) if is_ref]


def infer_shapes(op: Operation) -> None:
    fn = registry.SHAPES.get(op.type)
    if fn is None:
        return
    shapes = fn(op)
    for tensor, shape in zip(op.outputs, shapes):
        tensor._shape = TensorShape(shape)


def _convert_arg(op_def, arg, value, attrs) -> list:
    if arg.number_attr or arg.type_list_attr:
        if isinstance(value, Tensor) or not isinstance(value, (list, tuple)):
            raise TypeError(f"Expected list for '{arg.name}' argument to '{op_def.name}' Op, "
                            f"not {value!r}.")
        if arg.number_attr:
            attrs.setdefault(arg.number_attr, len(value))
            tensors = _convert_same_type(op_def, arg, list(value), attrs)
        else:
            given = attrs.get(arg.type_list_attr)
            tensors = [convert_to_tensor(v, dtype=None if given is None else given[i],
                                         name=f"{arg.name}_{i}", as_ref=arg.is_ref)
                       for i, v in enumerate(value)]
            attrs.setdefault(arg.type_list_attr, [t.dtype.base_dtype for t in tensors])
        return tensors
    return _convert_same_type(op_def, arg, [value], attrs)


def _convert_same_type(op_def, arg, values: list, attrs) -> list:
    want = None
    if arg.fixed_type:
        want = attr_value.as_dtype(arg.fixed_type)
    elif arg.type_attr in attrs:
        want = attr_value.as_dtype(attrs[arg.type_attr])
    else:  # the first tensor among the values decides, as TensorFlow does for lists
        for v in values:
            if isinstance(v, Tensor):
                want = v.dtype.base_dtype
                break
    preferred, allowed = None, ()
    if want is None and arg.type_attr:
        attr = op_def.attr(arg.type_attr)
        preferred = None if attr.default is None else attr_value.decode(attr.default)
        allowed = attr.allowed if preferred is not None and not arg.number_attr else ()
    out = []
    for i, v in enumerate(values):
        name = f"{arg.name}_{i}" if arg.number_attr else arg.name
        t = _own_dtype_if_allowed(v, name, allowed, arg.is_ref)
        if t is None:
            # A tensor keeps its dtype here so that a mismatch is TensorFlow's TypeError.
            t = convert_to_tensor(v, dtype=None if isinstance(v, Tensor) else want, name=name,
                                  preferred_dtype=preferred, as_ref=arg.is_ref)
        if want is not None and t.dtype.base_dtype != want:
            raise TypeError(f"Input '{arg.name}' of '{op_def.name}' Op has type "
                            f"{t.dtype.base_dtype.name} that does not match expected type of "
                            f"{want.name}.")
        if arg.is_ref and not t.dtype._is_ref_dtype:
            raise TypeError(f"'{op_def.name}' Op requires that input '{arg.name}' be a "
                            f"mutable tensor (e.g.: a tf.Variable)")
        want = want or t.dtype.base_dtype
        out.append(t)
    if arg.type_attr and out:
        attrs.setdefault(arg.type_attr, out[0].dtype.base_dtype)
    return out


def _own_dtype_if_allowed(value, name: str, allowed, as_ref: bool):
    """TensorFlow's first try for a Python value whose type attr has a default and allowed
    types: the value's own dtype, if allowed. Else None and the default is tried next; the
    Const of the first try stays in the graph (``Reshape/shape`` beside ``shape_1`` for an
    empty list), as TensorFlow leaves it."""
    if not allowed or isinstance(value, (Tensor, TensorShape)) or _is_tensor_like(value):
        return None
    try:
        inferred = convert_to_tensor(value, name=name, as_ref=as_ref)
    except (TypeError, ValueError):
        return None
    return inferred if inferred.dtype.base_dtype in allowed else None


def _checked_attr(op_def, a: registry.AttrDef, value):
    encoded = value if isinstance(value, registry.AttrValue) else attr_value.encode(value, a.type)
    problem = validate.attr_problem(a, encoded)
    if problem is None:
        return encoded
    if problem.kind == "not_allowed":
        item = problem.value.decode() if isinstance(problem.value, bytes) else problem.value
        names = ", ".join(getattr(x, "name", x) for x in a.allowed)
        raise TypeError(f"Value passed to parameter '{a.name}' of op '{op_def.name}' has "
                        f"{getattr(item, 'name', item)!r}, which is not in the list of allowed "
                        f"values: {names}")
    if problem.kind == "minimum":
        raise ValueError(f"Attr '{a.name}' of '{op_def.name}' Op passed {problem.value} less "
                         f"than minimum {a.minimum}.")
    raise ValueError(f"Attr '{a.name}' of '{op_def.name}' Op {problem.message}")


def _output_types(op_def, attrs) -> list:
    out = []
    for arg in op_def.outputs:
        if arg.type_list_attr:
            types = [attr_value.as_dtype(t) for t in attr_value.decode(attrs[arg.type_list_attr])]
        else:
            base = attr_value.as_dtype(arg.fixed_type) if arg.fixed_type else \
                attr_value.decode(attrs[arg.type_attr])
            count = attr_value.decode(attrs[arg.number_attr]) if arg.number_attr else 1
            types = [base] * count
        out.extend(t._as_ref if arg.is_ref else t for t in types)
    return out


# ---- lists holding tensors become one tensor (TensorFlow's autopacking) ----------------------
def tensor_like(value) -> bool:
    """A Tensor, or an object standing for one (a Variable)."""
    return isinstance(value, Tensor) or (hasattr(value, "_as_graph_element") and
                                         not isinstance(value, Operation))


def _nested_dtype(values):
    for v in values:
        if tensor_like(v):
            return v.dtype.base_dtype
        if isinstance(v, (list, tuple)):
            found = _nested_dtype(v)
            if found is not None:
                return found
    return None


def autopack(values, dtype=None, name: str = "packed"):
    """A nested list holding tensors as one tensor, as TensorFlow converts it.

    Tensors are packed with ``Pack`` named ``name``; Python items become Consts named by
    their position (``packed/1``), nested lists sub-packs (``packed/0``).
    """
    dtype = _nested_dtype(values) if dtype is None else as_dtype(dtype).base_dtype
    g = graph_of(values)
    with g.as_default():
        return _autopack(values, dtype, name or "packed")


def _autopack(values, dtype, name):
    g = get_default_graph()
    with g.name_scope(name) as scope:
        items, must_pack = [], False
        for i, v in enumerate(values):
            if tensor_like(v):
                v = convert_to_tensor(v)
                if dtype is not None and v.dtype.base_dtype != dtype:
                    raise TypeError(f"Cannot convert a list containing a tensor of dtype "
                                    f"{v.dtype.base_dtype.name} to {dtype.name} (Tensor is: "
                                    f"{v!r})")
                must_pack = True
            elif isinstance(v, (list, tuple)):
                v = _autopack(v, dtype, str(i))
                must_pack = must_pack or isinstance(v, Tensor)
            items.append(v)
        if not must_pack:
            return items
        tensors = [v if isinstance(v, Tensor) else constant(v, dtype=dtype, name=str(i))
                   for i, v in enumerate(items)]
        return create_op("Pack", [tensors], name=scope)


def pack_list(values, name: str = "packed") -> Tensor:
    """A list holding tensors as one ``Pack``ed tensor, as ``convert_to_tensor`` gives it."""
    try:
        return autopack(values, name=name)
    except (TypeError, ValueError):
        return create_op("Pack", [list(values)], {"axis": 0}, name=name)
