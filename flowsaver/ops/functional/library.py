"""A graph's function library (``GraphDef.library``): the FunctionDefs its ops call.

One library per outermost graph, as in TensorFlow: a function body's graph (a
``FuncGraph`` with an ``outer_graph``) shares it. The library is kept as the
``FunctionDefLibrary`` message itself (``Graph.function_library``), so that
``as_graph_def`` writes back exactly what was imported or traced.

Functions come from two places: the importer keeps every FunctionDef of an imported
GraphDef (``add_all``), and tracing a function (``tf.data`` map bodies) adds its
FunctionDef (``add``). ``function_import.load`` turns one into a graph to run.
"""
from __future__ import annotations

from flowsaver.format.graph_protos import FunctionDefLibrary

__all__ = ["top_graph", "find", "add", "add_all", "check_addable"]


def top_graph(graph):
    """The outermost graph: TensorFlow keeps every function in its library."""
    while getattr(graph, "outer_graph", None) is not None:
        graph = graph.outer_graph
    return graph


def _library(graph, create: bool):
    top = top_graph(graph)
    library = getattr(top, "function_library", None)
    if library is None and create:
        library = top.function_library = FunctionDefLibrary()
    return library


def find(graph, name: str):
    """The FunctionDef named ``name`` in ``graph``'s library, or None."""
    library = _library(graph, create=False)
    if library is None:
        return None
    return next((f for f in library.function if f.signature.name == name), None)


def _conflict(known, function_def) -> bool:
    return known is not None and known.SerializeToString(deterministic=True) != \
        function_def.SerializeToString(deterministic=True)


def check_addable(graph, library) -> None:
    """ValueError (TensorFlow's message) when a function of ``library`` differs from the
    one of the same name that ``graph`` has already; checked before anything is added."""
    for function_def in library.function:
        name = function_def.signature.name
        if _conflict(find(graph, name), function_def):
            raise ValueError(f"Cannot add function '{name}' because a different function "
                             f"with the same name already exists.")


def add(graph, function_def) -> None:
    """Add ``function_def`` to ``graph``'s library; the same function again is a no-op.

    Raises:
      ValueError: a different function of the same name is there already.
    """
    known = find(graph, function_def.signature.name)
    if known is None:
        _library(graph, create=True).function.add().CopyFrom(function_def)
    elif _conflict(known, function_def):
        raise ValueError(f"Cannot add function '{function_def.signature.name}' because a "
                         f"different function with the same name already exists.")


def add_all(graph, library) -> None:
    """Add every function of ``library`` (a GraphDef's), and its gradient entries.

    Raises:
      ValueError: a function differs from the one of its name already there; nothing
        is added then.
    """
    check_addable(graph, library)
    for function_def in library.function:
        add(graph, function_def)
    for field in ("gradient", "registered_gradients"):
        entries = getattr(library, field)
        if not len(entries):
            continue
        target = getattr(_library(graph, create=True), field)
        known = {e.SerializeToString(deterministic=True) for e in target}
        for entry in entries:
            if entry.SerializeToString(deterministic=True) not in known:
                target.add().CopyFrom(entry)
