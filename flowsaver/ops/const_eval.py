"""Values known while building the graph: the one graph-time constant evaluator.

TensorFlow asks "is this tensor's value known without running the graph?" under two rules,
and flowsaver must answer each as TensorFlow does, since the answer decides static shapes
and which gradient ops are built:

- ``value_of`` -- the C++ shape refiner's rule, used by shape functions (``Reshape``,
  ``Fill``, ``Tile``, ...): small constant subgraphs of any foldable op are evaluated with
  their kernels, ``Shape``/``Size``/``Rank`` are read from static shapes, and
  ``tf.shape(x)[i]`` is known when dimension ``i`` of ``x`` is.
- ``constant_value`` -- the rule of TensorFlow's Python ``constant_value``, used while
  building gradients and some public functions: only the op types the registry marks
  ``PYTHON_CONSTANT`` fold (``Range``, ``Pack``, ``ConcatV2``, ``Fill``, ``Equal``,
  ``Cast``, ``StopGradient``, ...; not ``Identity``).

Which ops can fold at all is registry data (``foldable``); compiled plans use the same
test and ``static_shape_value`` when they fold a plan's constants once per plan.
"""
from __future__ import annotations

import numpy as np

from flowsaver.format import tensor_proto
from flowsaver.ops import registry

# Bound the work one question may cause: constant subgraphs are small in practice.
_MAX_VISITS = 200
_MAX_ELEMENTS = 1 << 16
# A Const larger than this is never expanded to answer a shape question: no shape, axis
# or index list the shape functions ask about comes near it, and a hostile graph's few
# bytes can declare gigabytes of repeated zeros.
_MAX_CONST_ELEMENTS = 1 << 24
INT64_MAX = (1 << 63) - 1


def foldable(op) -> bool:
    """Whether ``op``'s outputs are a function of its input values alone: it has a kernel,
    holds no state, reads or returns no ref and is not marked ``NOT_FOLDABLE``."""
    op_def = op.op_def
    if (op_def is None or op_def.is_stateful or op.type not in registry.KERNELS
            or registry.has_trait(op.type, registry.NOT_FOLDABLE)):
        return False
    if any(t.dtype._is_ref_dtype or t.dtype.kind == "none" for t in op.inputs):
        return False
    return not any(t.dtype._is_ref_dtype for t in op.outputs)


def static_shape_value(tensor, zero_wins: bool = True):
    """The value of a ``SHAPE_OF`` op's output that its input's static shape gives, else None.

    With ``zero_wins`` a known 0 dimension makes ``Size`` 0 even beside unknown ones (the
    shape refiner); without, ``Size`` needs a fully known shape (Python's rule).
    """
    op = tensor.op
    if not registry.has_trait(op.type, registry.SHAPE_OF) or not op.inputs:
        return None
    if op.type == "Rank":
        shape = op.inputs[0].shape
        return None if shape.ndims is None else np.array(shape.ndims, np.int32)
    shape = op.inputs[tensor.value_index if op.type == "ShapeN" else 0].shape
    dtype = op.get_attr("out_type").as_numpy_dtype
    if op.type in ("Shape", "ShapeN"):
        return np.array(shape.as_list(), dtype) if shape.is_fully_defined() else None
    if shape.ndims is None:
        return None
    dims = shape.as_list()
    if zero_wins and 0 in dims:
        return np.array(0, dtype)
    return None if None in dims else np.array(int(np.prod(dims, dtype=np.int64)), dtype)


def _declared_elements(op) -> int:
    """How many elements a ``Const`` node's TensorProto declares, read from its shape alone
    (a few bytes of proto can declare billions of repeated values)."""
    n = 1
    for dim in op._get_attr_proto("value").tensor.tensor_shape.dim:
        n *= max(dim.size, 0)
    return n


def const_value(op) -> np.ndarray:
    """A ``Const`` node's value."""
    return tensor_proto.to_array(op._get_attr_proto("value").tensor)


def value_of(tensor) -> np.ndarray | None:
    """The value of ``tensor`` when a constant subgraph computes it, else None (the C++
    shape refiner's rule)."""
    return _refined(tensor, [0])


def constant_value(tensor) -> np.ndarray | None:
    """The value of ``tensor`` when TensorFlow's Python ``constant_value`` knows it, else
    None: only ``PYTHON_CONSTANT`` op types fold."""
    return _python(tensor, [0])


def _refined(tensor, visits: list):
    visits[0] += 1
    if visits[0] > _MAX_VISITS:
        return None
    op = tensor.op
    if op.type == "Const":
        return const_value(op) if _declared_elements(op) <= _MAX_CONST_ELEMENTS else None
    if registry.has_trait(op.type, registry.SHAPE_OF):
        return static_shape_value(tensor)
    if op.type == "StridedSlice" and op.inputs[0].op.type in ("Shape", "ShapeN"):
        known = _element_of_shape(op)
        if known is not None:
            return known
    if not foldable(op):
        return None
    args = []
    for t in op.inputs:
        v = _refined(t, visits)
        if v is None or np.size(v) > _MAX_ELEMENTS:
            return None
        args.append(v)
    return _run(op, tensor, args)


def _python(tensor, visits: list):
    visits[0] += 1
    op = tensor.op
    if visits[0] > _MAX_VISITS or not registry.has_trait(op.type, registry.PYTHON_CONSTANT):
        return None
    if op.type == "Const":
        return const_value(op)
    if registry.has_trait(op.type, registry.SHAPE_OF):
        return static_shape_value(tensor, zero_wins=False)
    args = []
    for t in op.inputs:
        v = _python(t, visits)
        if v is None:
            return None
        args.append(v)
    return _run(op, tensor, args)


def _run(op, tensor, args):
    try:
        with np.errstate(all="ignore"):  # inf and nan come quietly, as at run time
            out = registry.KERNELS[op.type](op, None)(*args)
    except Exception:  # noqa: BLE001 - an op that fails here is evaluated at run time instead
        return None
    if not registry.returns_single(op):
        out = out[tensor.value_index]
    return np.asarray(out)


def _element_of_shape(op):
    """``tf.shape(x)[i]`` when dimension ``i`` of ``x`` is known, even if others are not."""
    if (op.get_attr("shrink_axis_mask") != 1 or op.get_attr("begin_mask") or
            op.get_attr("end_mask") or op.get_attr("ellipsis_mask") or
            op.get_attr("new_axis_mask")):
        return None
    parts = [value_of(t) for t in op.inputs[1:]]
    if any(p is None or np.size(p) != 1 for p in parts):
        return None
    begin, _, stride = (int(np.reshape(p, -1)[0]) for p in parts)
    source = op.inputs[0]
    shape = source.op.inputs[source.value_index].shape
    if stride != 1 or shape.ndims is None:
        return None
    rank = shape.ndims
    index = begin + rank if begin < 0 else begin
    if not 0 <= index < rank or shape.as_list()[index] is None:
        return None
    return np.array(shape.as_list()[index], dtype=op.get_attr("T").as_numpy_dtype)
