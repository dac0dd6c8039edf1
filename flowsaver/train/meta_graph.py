"""MetaGraphDef export: what ``Saver.save`` writes to ``prefix.meta``.

A MetaGraphDef holds the op signatures used (``meta_info_def.stripped_op_list``), the
GraphDef with ``_output_shapes``, the SaverDef and the collections. Collections are
encoded by what they hold, as TensorFlow encodes them: variables as serialized
VariableDefs, tensors and operations by name, ints, floats and strings as values.
"""
from __future__ import annotations

import logging

from google.protobuf import text_format

from flowsaver.format import storage
from flowsaver.format.graph_file import used_op_types
from flowsaver.format.graph_protos import Any, MetaGraphDef
from flowsaver.graph.graph import GraphKeys, get_default_graph
from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops import registry

_log = logging.getLogger(__name__)

# The TensorFlow release whose graphs flowsaver writes; the git version names flowsaver.
TENSORFLOW_VERSION = "2.21.0"
PRODUCER = "flowsaver-0.1.0"

# Collections of variables, stored as serialized VariableDefs.
VARIABLE_COLLECTIONS = {GraphKeys.GLOBAL_VARIABLES, GraphKeys.TRAINABLE_VARIABLES,
                        GraphKeys.LOCAL_VARIABLES, GraphKeys.MODEL_VARIABLES,
                        GraphKeys.MOVING_AVERAGE_VARIABLES, GraphKeys.METRIC_VARIABLES,
                        GraphKeys.GLOBAL_STEP}


def _all_nodes(graph_def):
    """The GraphDef's nodes, then those of its library's functions."""
    yield from graph_def.node
    for function in graph_def.library.function:
        yield from function.node_def


def stripped_op_list(graph_def):
    """OpDefs (without descriptions) of the op types ``graph_def`` uses
    (``used_op_types``), sorted by name."""
    from flowsaver.format.graph_protos import OpList
    return OpList(op=[registry.OP_DEFS[name].to_proto()
                      for name in sorted(used_op_types(graph_def))
                      if name in registry.OP_DEFS])


def strip_default_attrs(graph_def) -> None:
    """Remove attrs whose value is the op's default, in place (``strip_default_attrs=True``),
    in function bodies too (a node calling a function by name has no OpDef: kept)."""
    for node in _all_nodes(graph_def):
        op_def = registry.OP_DEFS.get(node.op)
        if op_def is None:
            continue
        for attr in op_def.attrs:
            if attr.default is not None and attr.name in node.attr and \
                    node.attr[attr.name].SerializeToString(deterministic=True) == \
                    attr.default.SerializeToString(deterministic=True):
                del node.attr[attr.name]


def add_collection_def(meta_graph_def, key, graph, export_scope=None) -> None:
    """Encode collection ``key`` into ``meta_graph_def``; unsupported contents are skipped."""
    items = graph.get_collection(key)
    if not items:
        return
    entry = meta_graph_def.collection_def[key]
    try:
        if key in VARIABLE_COLLECTIONS and all(hasattr(v, "to_proto") for v in items):
            protos = [v.to_proto(export_scope) for v in items]
            entry.bytes_list.value.extend(p.SerializeToString() for p in protos if p is not None)
        elif key in (GraphKeys.SAVERS, GraphKeys.QUEUE_RUNNERS):
            protos = [s.to_proto(export_scope) for s in items]
            entry.bytes_list.value.extend(p.SerializeToString() for p in protos
                                          if p is not None)
        elif all(isinstance(v, (Tensor, Operation)) or hasattr(v, "_as_graph_element")
                 for v in items):
            names = [_element_name(v) for v in items]
            if export_scope:
                names = [_strip(n, export_scope) for n in names
                         if n.startswith(export_scope + "/")]
            entry.node_list.value.extend(names)
        elif all(isinstance(v, Any) for v in items):  # e.g. SavedModel assets
            entry.any_list.value.extend(items)
        elif all(isinstance(v, bool) or isinstance(v, int) for v in items):
            entry.int64_list.value.extend(int(v) for v in items)
        elif all(isinstance(v, float) for v in items):
            entry.float_list.value.extend(items)
        elif all(isinstance(v, (str, bytes)) for v in items):
            entry.bytes_list.value.extend(v.encode() if isinstance(v, str) else v for v in items)
        else:
            raise TypeError(f"mixed or unsupported values {items!r}")
    except (TypeError, ValueError, AttributeError) as e:
        del meta_graph_def.collection_def[key]
        _log.warning("Issue encountered when serializing %s: %s. The collection is left out "
                     "of the metagraph.", key, e)


def _element_name(value) -> str:
    if hasattr(value, "_as_graph_element") and not isinstance(value, (Tensor, Operation)):
        value = value._as_graph_element()
    return value.name


def _strip(name: str, scope) -> str:
    if scope and name.startswith(scope + "/"):
        return name[len(scope) + 1:]
    return name


def create_meta_graph_def(graph=None, graph_def=None, saver_def=None, collection_list=None,
                          meta_info_def=None, clear_devices=False, strip_defaults=False,
                          export_scope=None) -> MetaGraphDef:
    """The MetaGraphDef of ``graph`` (default graph) with ``saver_def`` and collections."""
    graph = graph or get_default_graph()
    meta = MetaGraphDef()
    if meta_info_def is not None:
        meta.meta_info_def.CopyFrom(meta_info_def)
    graph_def = graph_def if graph_def is not None else graph.as_graph_def(add_shapes=True)
    unbound: list = []
    if export_scope:
        graph_def = scoped_graph_def(graph_def, export_scope, unbound)
        if saver_def is not None:
            saver_def = _scoped_saver_def(saver_def, export_scope)
    meta.graph_def.CopyFrom(graph_def)
    if clear_devices:
        for node in meta.graph_def.node:
            node.device = ""
        # TensorFlow rebuilds the GraphDef here, and writes an empty function library.
        meta.graph_def.library.SetInParent()
    if strip_defaults:
        strip_default_attrs(meta.graph_def)
        meta.meta_info_def.stripped_default_attrs = True
    meta.meta_info_def.stripped_op_list.CopyFrom(stripped_op_list(meta.graph_def))
    meta.meta_info_def.tensorflow_version = TENSORFLOW_VERSION
    meta.meta_info_def.tensorflow_git_version = PRODUCER
    if saver_def is not None:
        meta.saver_def.CopyFrom(saver_def)
    keys = collection_list if collection_list is not None else graph.get_all_collection_keys()
    if unbound:  # TensorFlow records them in the graph's own collection, and keeps them there
        graph.clear_collection(UNBOUND_INPUTS)
        for name in unbound:
            graph.add_to_collection(UNBOUND_INPUTS, name)
        keys = list(keys) + ([UNBOUND_INPUTS] if UNBOUND_INPUTS not in keys else [])
    for key in keys:
        add_collection_def(meta, key, graph, export_scope if key != UNBOUND_INPUTS else None)
    return meta


UNBOUND_INPUTS = "unbound_inputs"
UNBOUND_PREFIX = "$unbound_inputs_"


def strip_name_scope(name: str, scope: str) -> str:
    """``name`` without ``scope/`` (also after ``^`` and ``loc:@``)."""
    import re
    if not scope:
        return name
    return re.sub(r"([\^]|loc:@|^)" + re.escape(scope) + r"[/]+(.*)", r"\1\2", name, count=1)


def scoped_graph_def(graph_def, scope: str, unbound: list):
    """The nodes under ``scope``, renamed without it; inputs from outside become
    ``$unbound_inputs_<name>`` (listed in ``unbound``) for ``input_map`` to bind on import."""
    from flowsaver.format.graph_protos import GraphDef
    out = GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    out.library.CopyFrom(graph_def.library)
    for node in graph_def.node:
        if not node.name.startswith(scope + "/"):
            continue
        new = out.node.add()
        new.CopyFrom(node)
        new.name = strip_name_scope(node.name, scope)
        del new.input[:]
        for text in node.input:
            if text.lstrip("^").startswith(scope + "/"):
                new.input.append(strip_name_scope(text, scope))
            else:
                control = text.startswith("^")
                renamed = ("^" if control else "") + UNBOUND_PREFIX + text.lstrip("^")
                new.input.append(renamed)
                unbound.append(renamed)
        if "_class" in node.attr:
            kept = [strip_name_scope(c.decode(), scope).encode() for c in node.attr["_class"].list.s
                    if c.decode().partition("@")[2].startswith(scope + "/")]
            new.attr["_class"].list.ClearField("s")
            new.attr["_class"].list.s.extend(kept)
    return out


def _scoped_saver_def(saver_def, scope):
    from flowsaver.format.graph_protos import SaverDef
    names = (saver_def.filename_tensor_name, saver_def.save_tensor_name,
             saver_def.restore_op_name)
    if not all(n.startswith(scope + "/") for n in names):
        return None
    out = SaverDef()
    out.CopyFrom(saver_def)
    out.filename_tensor_name = strip_name_scope(names[0], scope)
    out.save_tensor_name = strip_name_scope(names[1], scope)
    out.restore_op_name = strip_name_scope(names[2], scope)
    return out


def export_meta_graph(filename=None, meta_info_def=None, graph_def=None, saver_def=None,
                      collection_list=None, as_text=False, graph=None, export_scope=None,
                      clear_devices=False, clear_extraneous_savers=False,
                      strip_default_attrs=False, **kwargs) -> MetaGraphDef:
    """Build the MetaGraphDef and, given ``filename``, write it (binary, or text)."""
    meta = create_meta_graph_def(graph, graph_def, saver_def, collection_list, meta_info_def,
                                 clear_devices, strip_default_attrs, export_scope)
    if filename:
        if as_text:
            storage.write_atomic(filename, text_format.MessageToString(meta).encode("utf-8"))
        else:
            storage.write_atomic(filename, meta.SerializeToString(deterministic=True))
    return meta


def write_graph(graph_or_graph_def, logdir, name, as_text=True) -> str:
    """Write a GraphDef to ``logdir/name`` (text by default); returns the path."""
    import os
    graph_def = graph_or_graph_def.as_graph_def() if hasattr(
        graph_or_graph_def, "as_graph_def") else graph_or_graph_def
    storage.makedirs(logdir)
    path = os.path.join(logdir, name)
    if as_text:
        storage.write_atomic(path, text_format.MessageToString(graph_def).encode("utf-8"))
    else:
        storage.write_atomic(path, graph_def.SerializeToString(deterministic=True))
    return path
