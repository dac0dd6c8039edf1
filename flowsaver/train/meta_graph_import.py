"""``tf.train.import_meta_graph``: a MetaGraphDef's graph, collections and Saver into the
default graph, atomically (nothing is added when the file or what it holds is bad)."""
from __future__ import annotations

import logging
import os

from google.protobuf.message import DecodeError

from flowsaver import errors
from flowsaver.format.meta_file import read_meta_graph_file
from flowsaver.format.graph_protos import MetaGraphDef
from flowsaver.graph.graph import GraphKeys, get_default_graph

_log = logging.getLogger(__name__)

# The TensorFlow release whose graphs flowsaver writes; the git version names flowsaver.
TENSORFLOW_VERSION = "2.21.0"
PRODUCER = "flowsaver-0.1.0"

# Collections of variables, stored as serialized VariableDefs.
VARIABLE_COLLECTIONS = {GraphKeys.GLOBAL_VARIABLES, GraphKeys.TRAINABLE_VARIABLES,
                        GraphKeys.LOCAL_VARIABLES, GraphKeys.MODEL_VARIABLES,
                        GraphKeys.MOVING_AVERAGE_VARIABLES, GraphKeys.METRIC_VARIABLES,
                        GraphKeys.GLOBAL_STEP}
from flowsaver.train.saver import Saver

# the same logger as the export side: one place to silence collection warnings
_log = logging.getLogger("flowsaver.train.meta_graph")


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

    The import is atomic: when the file or what it holds is bad, nothing is added to the
    graph, and the error names the file (when one was given) and the node, collection or
    SaverDef field at fault.

    Returns:
      The Saver its SaverDef describes; ``Saver()`` when it has none but has variables;
      None when it has neither.
    Raises:
      OSError: the file cannot be read. DataLossError: it is not a MetaGraphDef.
      UnimplementedError: op types flowsaver lacks.
      InvalidArgumentError (also a ValueError or TypeError, as TensorFlow raises),
        NotFoundError (also a KeyError), other OpErrors: an invalid graph, collection or
        SaverDef (see ``import_graph_def``); the message names the file.
    """
    from flowsaver.ops.importer import rollback_on_error
    filename = None
    if isinstance(meta_graph_or_file, MetaGraphDef):
        meta = meta_graph_or_file
    else:
        filename = os.fsdecode(os.fspath(meta_graph_or_file))
        meta = read_meta_graph_file(filename)
    graph = get_default_graph()
    try:
        with rollback_on_error(graph):
            return _import(meta, graph, clear_devices, import_scope, input_map)
    except TYPED_ERRORS as e:
        if isinstance(e, errors.OpError) and (filename is None or filename in _message(e)):
            raise
        raise with_context(e, filename or "MetaGraphDef") from e


# What a bad MetaGraphDef raises; these get the file's name added to their message.
TYPED_ERRORS = (errors.OpError, ValueError, TypeError, KeyError)


def _message(error: BaseException) -> str:
    # str(KeyError) quotes its message; its first argument is the text itself
    return str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)


# The typed error each of TensorFlow's Python exceptions becomes; also still one of those.
_TYPED_FOR = ((KeyError, errors.NotFoundError), (ValueError, errors.InvalidArgumentError),
              (TypeError, errors.InvalidArgumentError))


def with_context(error: BaseException, context: str) -> BaseException:
    """A copy of ``error`` that begins with ``context``: an OpError of the same class, or
    for TensorFlow's ValueError, TypeError and KeyError a typed error that is also one."""
    message = f"{context}: {_message(error)}"
    if isinstance(error, errors.OpError):
        return type(error)(error.node_def, error.op, message)
    for python_class, typed in _TYPED_FOR:
        if isinstance(error, python_class):
            return errors.with_python_base(typed, python_class)(message)
    return error


def _import(meta, graph, clear_devices, import_scope, input_map):
    from flowsaver.ops.importer import import_graph_def
    graph_def = meta.graph_def
    if clear_devices:
        graph_def = type(graph_def)()
        graph_def.CopyFrom(meta.graph_def)
        for node in graph_def.node:
            node.device = ""
    scope = graph.unique_name(import_scope or "", mark_as_used=False) if import_scope else ""
    import_graph_def(graph_def, input_map=input_map, name=scope)
    _restore_collections(meta, graph, scope)
    if meta.HasField("saver_def"):
        saver = Saver(saver_def=meta.saver_def, name=scope or None)
        _check_saver_def(saver.saver_def, graph, "saver_def")
        return saver
    if graph.get_collection(GraphKeys.GLOBAL_VARIABLES):
        return Saver()
    return None


def _check_saver_def(saver_def, graph, where: str) -> None:
    """The tensors and op a SaverDef names exist, so that save and restore can run."""
    for field, is_op in (("filename_tensor_name", False), ("save_tensor_name", False),
                         ("restore_op_name", True)):
        name = getattr(saver_def, field)
        try:
            graph.as_graph_element(name, allow_tensor=not is_op, allow_operation=is_op)
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"{where}: {field} {name!r} names no "
                             f"{'operation' if is_op else 'tensor'} of the graph: "
                             f"{_message(e)}") from None
    if saver_def.max_to_keep < 0:
        raise ValueError(f"{where}: max_to_keep is {saver_def.max_to_keep}; it must be 0 "
                         f"(keep all) or more")


def _restore_collections(meta, graph, scope) -> None:
    """Add the MetaGraphDef's collections to ``graph``; an error names the collection."""
    keys = sorted(meta.collection_def)
    if GraphKeys.TRAINABLE_VARIABLES in keys:  # so shared VariableDefs resolve to one object
        keys.remove(GraphKeys.TRAINABLE_VARIABLES)
        keys.insert(0, GraphKeys.TRAINABLE_VARIABLES)
    made: dict = {}
    for key in keys:
        if key == "unbound_inputs":
            continue
        try:
            _restore_collection(key, meta.collection_def[key], graph, scope, made)
        except TYPED_ERRORS as e:
            raise with_context(e, f"collection {key!r}") from e


def _restore_collection(key, entry, graph, scope, made: dict) -> None:
    from flowsaver.format.graph_protos import SaverDef
    from flowsaver.ops.state.variables import variable_from_proto
    kind = entry.WhichOneof("kind")
    if kind is None:
        return
    values = list(getattr(entry, kind).value)
    if (key in VARIABLE_COLLECTIONS or key == GraphKeys.SAVERS) and kind != "bytes_list":
        # anything else would put numbers or names where Savers expect objects
        raise ValueError(f"holds a {kind}; it can only hold serialized "
                         f"{'SaverDef' if key == GraphKeys.SAVERS else 'VariableDef'}s")
    if kind == "bytes_list" and key in VARIABLE_COLLECTIONS:
        for raw in values:
            if raw not in made:
                made[raw] = variable_from_proto(raw, scope)
            graph.add_to_collection(key, made[raw])
    elif kind == "bytes_list" and key == GraphKeys.SAVERS:
        for raw in values:
            try:
                saver_def = SaverDef.FromString(raw)
            except DecodeError as e:
                raise errors.DataLossError(f"a serialized SaverDef ({len(raw)} bytes) does "
                                           f"not parse: {e}") from None
            saver = Saver(saver_def=saver_def, name=scope or None)
            _check_saver_def(saver.saver_def, graph, "SaverDef")
            graph.add_to_collection(key, saver)
    elif kind == "bytes_list" and key == GraphKeys.QUEUE_RUNNERS:
        from flowsaver.train.queue_runner import QueueRunner
        for raw in values:
            graph.add_to_collection(key, QueueRunner.from_proto(raw, scope))
    elif kind == "node_list":
        for name in values:
            graph.add_to_collection(key, graph.as_graph_element(
                prepend_name_scope(name, scope)))
    elif kind == "bytes_list":
        for value in values:
            try:
                value = prepend_name_scope(value, scope)
            except UnicodeDecodeError:
                pass  # a serialized proto (a cond context), not a name: kept as it is
            graph.add_to_collection(key, value)
    elif kind in ("int64_list", "float_list", "any_list"):
        for value in values:
            graph.add_to_collection(key, value)
    else:
        _log.warning("Collection %s of kind %s is not imported by flowsaver", key, kind)


