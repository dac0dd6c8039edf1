"""MetaGraphDef export: what ``Saver.save`` writes to ``prefix.meta``.

A MetaGraphDef holds the op signatures used (``meta_info_def.stripped_op_list``), the
GraphDef with ``_output_shapes``, the SaverDef and the collections. Collections are
encoded by what they hold, as TensorFlow encodes them: variables as serialized
VariableDefs, tensors and operations by name, ints, floats and strings as values.
"""
from __future__ import annotations

import logging

from google.protobuf import text_format

from flowsaver import __name__ as _package
from flowsaver.format.atomic import atomic_write_bytes, atomic_write_text
from flowsaver.format.meta_file import read_meta_graph_file
from flowsaver.format.graph_protos import MetaGraphDef
from flowsaver.graph.graph import GraphKeys, get_default_graph
from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops import registry

_log = logging.getLogger(__name__)

# The TensorFlow release whose graphs flowsaver writes; the git version names flowsaver.
TENSORFLOW_VERSION = "2.21.0"
PRODUCER = f"{_package}-0.1.0"

# Collections of variables, stored as serialized VariableDefs.
VARIABLE_COLLECTIONS = {GraphKeys.GLOBAL_VARIABLES, GraphKeys.TRAINABLE_VARIABLES,
                        GraphKeys.LOCAL_VARIABLES, GraphKeys.MODEL_VARIABLES,
                        GraphKeys.MOVING_AVERAGE_VARIABLES, GraphKeys.METRIC_VARIABLES,
                        GraphKeys.GLOBAL_STEP}


def stripped_op_list(graph_def):
    """OpDefs (without descriptions) of the op types ``graph_def`` uses, sorted by name."""
    from flowsaver.format.graph_protos import OpList
    used = sorted({node.op for node in graph_def.node})
    return OpList(op=[registry.OP_DEFS[name].to_proto() for name in used
                      if name in registry.OP_DEFS])


def strip_default_attrs(graph_def) -> None:
    """Remove attrs whose value is the op's default, in place (``strip_default_attrs=True``)."""
    for node in graph_def.node:
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
        elif key == GraphKeys.SAVERS:
            entry.bytes_list.value.extend(s.to_proto(export_scope).SerializeToString()
                                          for s in items)
        elif all(isinstance(v, (Tensor, Operation)) or hasattr(v, "_as_graph_element")
                 for v in items):
            entry.node_list.value.extend(_strip(_element_name(v), export_scope) for v in items)
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
    if export_scope:
        raise NotImplementedError("export_scope is not supported yet by flowsaver")
    graph = graph or get_default_graph()
    meta = MetaGraphDef()
    if meta_info_def is not None:
        meta.meta_info_def.CopyFrom(meta_info_def)
    graph_def = graph_def if graph_def is not None else graph.as_graph_def(add_shapes=True)
    meta.graph_def.CopyFrom(graph_def)
    if clear_devices:
        for node in meta.graph_def.node:
            node.device = ""
    if strip_defaults:
        strip_default_attrs(meta.graph_def)
        meta.meta_info_def.stripped_default_attrs = True
    meta.meta_info_def.stripped_op_list.CopyFrom(stripped_op_list(meta.graph_def))
    meta.meta_info_def.tensorflow_version = TENSORFLOW_VERSION
    meta.meta_info_def.tensorflow_git_version = PRODUCER
    if saver_def is not None:
        meta.saver_def.CopyFrom(saver_def)
    keys = collection_list if collection_list is not None else graph.get_all_collection_keys()
    for key in keys:
        add_collection_def(meta, key, graph, export_scope)
    return meta


def export_meta_graph(filename=None, meta_info_def=None, graph_def=None, saver_def=None,
                      collection_list=None, as_text=False, graph=None, export_scope=None,
                      clear_devices=False, clear_extraneous_savers=False,
                      strip_default_attrs=False, **kwargs) -> MetaGraphDef:
    """Build the MetaGraphDef and, given ``filename``, write it (binary, or text)."""
    meta = create_meta_graph_def(graph, graph_def, saver_def, collection_list, meta_info_def,
                                 clear_devices, strip_default_attrs, export_scope)
    if filename:
        if as_text:
            atomic_write_text(filename, text_format.MessageToString(meta))
        else:
            atomic_write_bytes(filename, meta.SerializeToString(deterministic=True))
    return meta


# ---- import ---------------------------------------------------------------------------------
def prepend_name_scope(name, scope):
    """``scope/name`` for a node name, ``^name`` or ``loc:@name`` (TensorFlow's rule)."""
    import re
    if not scope:
        return name
    scope = scope.rstrip("/")
    text = name.decode() if isinstance(name, bytes) else str(name)
    return re.sub(r"([\^]|loc:@|^)(.*)", r"\1" + scope + r"/\2", text)


def import_meta_graph(meta_graph_or_file, clear_devices=False, import_scope=None,
                      input_map=None, **kwargs):
    """Import a MetaGraphDef (or ``.meta`` file) into the default graph.

    Returns:
      The Saver its SaverDef describes; ``Saver()`` when it has none but has variables;
      None when it has neither.
    """
    from flowsaver.graph.graph import get_default_graph
    from flowsaver.ops.importer import import_graph_def
    from flowsaver.train.saver import Saver
    meta = meta_graph_or_file if isinstance(meta_graph_or_file, MetaGraphDef) else \
        read_meta_graph_file(meta_graph_or_file)
    graph_def = meta.graph_def
    if clear_devices:
        graph_def = type(graph_def)()
        graph_def.CopyFrom(meta.graph_def)
        for node in graph_def.node:
            node.device = ""
    graph = get_default_graph()
    scope = graph.unique_name(import_scope or "", mark_as_used=False) if import_scope else ""
    import_graph_def(graph_def, input_map=input_map, name=scope)
    _restore_collections(meta, graph, scope)
    if meta.HasField("saver_def"):
        return Saver(saver_def=meta.saver_def, name=scope or None)
    if graph.get_collection(GraphKeys.GLOBAL_VARIABLES):
        return Saver()
    return None


def _restore_collections(meta, graph, scope) -> None:
    from flowsaver.ops.variables import variable_from_proto
    keys = sorted(meta.collection_def)
    if GraphKeys.TRAINABLE_VARIABLES in keys:  # so shared VariableDefs resolve to one object
        keys.remove(GraphKeys.TRAINABLE_VARIABLES)
        keys.insert(0, GraphKeys.TRAINABLE_VARIABLES)
    made: dict = {}
    for key in keys:
        if key == "unbound_inputs":
            continue
        entry = meta.collection_def[key]
        kind = entry.WhichOneof("kind")
        if kind is None:
            continue
        values = list(getattr(entry, kind).value)
        if kind == "bytes_list" and key in VARIABLE_COLLECTIONS:
            for raw in values:
                if raw not in made:
                    made[raw] = variable_from_proto(raw, scope)
                graph.add_to_collection(key, made[raw])
        elif kind == "bytes_list" and key == GraphKeys.SAVERS:
            from flowsaver.format.graph_protos import SaverDef
            from flowsaver.train.saver import Saver
            for raw in values:
                graph.add_to_collection(key, Saver(saver_def=SaverDef.FromString(raw),
                                                   name=scope or None))
        elif kind == "node_list":
            for name in values:
                graph.add_to_collection(key, graph.as_graph_element(
                    prepend_name_scope(name, scope)))
        elif kind == "bytes_list":
            for value in values:
                graph.add_to_collection(key, prepend_name_scope(value, scope))
        elif kind in ("int64_list", "float_list"):
            for value in values:
                graph.add_to_collection(key, value)
        else:
            _log.warning("Collection %s of kind %s is not imported by flowsaver", key, kind)
