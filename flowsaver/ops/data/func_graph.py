"""Functions of ``tf.data`` transformations (the ``f`` of map, the predicate of filter).

A user function is traced once into a ``FuncGraph`` (ops/functional/func_graph.py): a
Graph of its own whose inputs are placeholders for the element's components. A tensor of
the enclosing graph that the function uses is *captured*: it becomes another placeholder
inside, and the dataset op takes the outer tensor as one of its ``other_arguments``
(TensorFlow's Targuments). The function is named in the op's ``func`` attr and looked up by that name when the kernel
runs; the session's RunContext runs its graph (``ctx.run_function``).
"""
from __future__ import annotations

import itertools
import weakref

from flowsaver.graph.graph import Graph, get_default_graph
from flowsaver.graph.operation import Tensor
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.data import structure as nest
from flowsaver.ops.functional.func_graph import FuncGraph, Function

# graph -> {function name: DataFunction or a Python object a kernel calls}
_FUNCTIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_COUNTER = itertools.count(1)


# A traced dataset function is a plain Function (its output nest: the element structure).
DataFunction = Function


def register(graph: Graph, name: str, value) -> None:
    _FUNCTIONS.setdefault(graph, {})[name] = value


def lookup(graph: Graph, name: str):
    """The function or Python object named ``name`` in ``graph``, else None."""
    return _FUNCTIONS.get(graph, {}).get(name)


def unique_function_name(prefix: str) -> str:
    return f"__inference_{prefix}_{next(_COUNTER)}"


def trace(fn, arg_structure, types, shapes, prefix: str, convert=None) -> DataFunction:
    """Trace ``fn`` called with placeholders shaped like one element.

    Args:
      arg_structure: the element's nest (leaves are ignored); a tuple element is passed
        as separate positional arguments, as TensorFlow's map does.
      types, shapes: flat lists of the components' dtypes and shapes.
      convert: maps the function's return value to a nest of tensors (default: tensors
        and Python values become tensors).
    """
    outer = get_default_graph()
    graph = FuncGraph(unique_function_name(prefix), outer)
    from flowsaver.ops.op_builder import convert_to_tensor, create_op
    with graph.as_default():
        placeholders = [create_op("Placeholder", [], {"dtype": t, "shape": TensorShape(s)},
                                  name=f"args_{i}") for i, (t, s) in enumerate(zip(types, shapes))]
        graph.inputs = placeholders
        args = nest.pack(arg_structure, placeholders)
        result = fn(*args) if isinstance(args, tuple) and not hasattr(args, "_fields") \
            else fn(args)
        if convert is not None:
            result = convert(result)
        else:
            if isinstance(result, list):
                result = tuple(result)
            result = nest.map_structure(
                lambda v: v if isinstance(v, Tensor) or hasattr(v, "_variant_tensor")
                else convert_to_tensor(v), result)
        flat = nest.flatten(result)
        outputs = []
        for leaf in flat:
            tensor = leaf._variant_tensor if hasattr(leaf, "_variant_tensor") else leaf
            if not isinstance(tensor, Tensor):
                tensor = convert_to_tensor(tensor)
            outputs.append(graph.capture(tensor) if tensor.graph is not graph else tensor)
        graph.outputs = outputs
    function = DataFunction(graph.name, graph, result)
    register(outer, graph.name, function)
    from flowsaver.ops.data import function_def
    function_def.add_to_library(outer, function_def.build(
        graph.name, graph.get_operations(), function.flat_inputs, outputs))
    return function
