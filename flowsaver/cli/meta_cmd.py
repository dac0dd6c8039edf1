"""`flowsaver inspect model.meta` (or a GraphDef, `frozen.pb` / `graph.pbtxt`): what a
foreign graph takes, gives and holds.

Lists its placeholders (the inputs), the tensors nothing in the graph consumes (the likely
outputs), its variables, constants (the weights of a frozen graph), collections and
SaverDef, and how often each op type occurs. Reads the file with `flowsaver.format` alone.
"""
from __future__ import annotations

import collections
import sys

from google.protobuf.message import DecodeError

from flowsaver import errors
from flowsaver.cli.common import dump_json, plural
from flowsaver.cli.values import json_float
from flowsaver.format.graph_file import read_graph_file
from flowsaver.format.graph_protos import MetaGraphDef, VariableDef
from flowsaver.format.protos import DATA_TYPES

_TYPE_NAMES = {enum: name[3:].lower() for name, enum in DATA_TYPES.items()}
_TYPE_NAMES.update({1: "float32", 2: "float64", 19: "float16"})
# Nodes whose unconsumed outputs are bookkeeping, not model outputs.
_NOT_OUTPUTS = {"Const", "NoOp", "Assign", "AssignAdd", "AssignSub", "AssignVariableOp",
                "VariableV2", "VarHandleOp", "IsVariableInitialized", "VarIsInitializedOp",
                "SaveV2", "RestoreV2", "MergeV2Checkpoints", "Placeholder",
                "PlaceholderWithDefault", "ReadVariableOp"}
VARIABLE_KEYS = ("variables", "trainable_variables", "local_variables", "model_variables")


def _shape(attr) -> str:
    shape = attr.shape
    if shape.unknown_rank:
        return "<unknown>"
    return "[" + ", ".join("?" if d.size < 0 else str(d.size) for d in shape.dim) + "]"


def _variable_defs(meta, key: str, path: str) -> list:
    """The VariableDefs of collection ``key``; DataLossError naming the file and the
    collection when one does not parse (import_meta_graph refuses such a file too)."""
    if key not in meta.collection_def:
        return []
    out = []
    for i, raw in enumerate(meta.collection_def[key].bytes_list.value):
        try:
            out.append(VariableDef.FromString(raw))
        except DecodeError as exc:
            raise errors.DataLossError(f"{path}: item {i} of collection {key!r} is not a "
                                       f"serialized VariableDef: {exc}") from None
    return out
def _elements(shape) -> int:
    count = 1
    for dim in shape.dim:
        count *= max(dim.size, 0)
    return count


def describe(path: str) -> dict:
    """Everything the summary shows, as plain data (also the --json document)."""
    loaded = read_graph_file(path)
    meta = loaded.meta_graph_def or MetaGraphDef()
    nodes = list(loaded.graph_def.node)
    by_name = {n.name: n for n in nodes}
    consumed = set()
    for node in nodes:
        for inp in node.input:
            consumed.add(inp.lstrip("^").split(":")[0])
    saver_scope = meta.saver_def.restore_op_name.rpartition("/")[0] if meta.HasField(
        "saver_def") else None
    inputs = [{"name": f"{n.name}:0", "dtype": _TYPE_NAMES.get(n.attr["dtype"].type, "?"),
               "shape": _shape(n.attr["shape"]) if "shape" in n.attr else "<unknown>"}
              for n in nodes if n.op in ("Placeholder", "PlaceholderWithDefault")
              and not (saver_scope and n.name.startswith(saver_scope + "/"))]
    no_outputs = {op.name for op in meta.meta_info_def.stripped_op_list.op
                  if not op.output_arg}
    variable_nodes = {n.name for n in nodes if n.op in ("VariableV2", "VarHandleOp")}

    def is_snapshot(node) -> bool:  # a variable's `name/read`: bookkeeping too
        return node.op == "Identity" and len(node.input) >= 1 and \
            node.input[0].split(":")[0] in variable_nodes
    outputs = [f"{n.name}:0" for n in nodes
               if n.name not in consumed and n.op not in _NOT_OUTPUTS
               and n.op not in no_outputs and not is_snapshot(n)
               and not n.op.startswith(("Apply", "ResourceApply"))
               and not n.name.startswith("gradients")
               and not (saver_scope and n.name.startswith(saver_scope + "/"))]
    variables = []
    if loaded.kind == "GraphDef":   # no collections: the variable nodes themselves
        variables = [{"name": n.name, "dtype": _TYPE_NAMES.get(n.attr["dtype"].type, "?"),
                      "shape": _shape(n.attr["shape"]) if "shape" in n.attr else "?",
                      "trainable": True, "resource": n.op == "VarHandleOp"}
                     for n in nodes if n.name in variable_nodes]
    seen = set()
    trainable = set()
    for var in _variable_defs(meta, "trainable_variables", path):
        trainable.add(var.variable_name)
    for key in VARIABLE_KEYS:
        for var in _variable_defs(meta, key, path):
            if var.variable_name in seen:
                continue
            seen.add(var.variable_name)
            node = by_name.get(var.variable_name.split(":")[0])
            variables.append({
                "name": var.variable_name.split(":")[0],
                "dtype": _TYPE_NAMES.get(node.attr["dtype"].type, "?") if node else "?",
                "shape": _shape(node.attr["shape"]) if node and "shape" in node.attr else "?",
                "trainable": var.variable_name in trainable,
                "resource": var.is_resource})
    colls = {}
    for key in sorted(meta.collection_def):
        entry = meta.collection_def[key]
        kind = entry.WhichOneof("kind")
        colls[key] = {"kind": kind, "count": len(getattr(entry, kind).value) if kind else 0}
    saver = None
    if meta.HasField("saver_def"):
        sd = meta.saver_def
        saver = {"filename_tensor": sd.filename_tensor_name, "save_tensor": sd.save_tensor_name,
                 "restore_op": sd.restore_op_name, "max_to_keep": sd.max_to_keep,
                 "sharded": sd.sharded,
                 "keep_checkpoint_every_n_hours": json_float(sd.keep_checkpoint_every_n_hours)}
    info = meta.meta_info_def
    constants = [n for n in nodes if n.op == "Const"]
    return {"path": path, "kind": "GraphDef" if loaded.kind == "GraphDef" else "MetaGraphDef",
            "nodes": len(nodes),
            "functions": len(loaded.graph_def.library.function),
            "constants": {"count": len(constants),
                          "parameters": sum(_elements(n.attr["value"].tensor.tensor_shape)
                                            for n in constants)},
            "producer": {"tensorflow_version": info.tensorflow_version,
                         "tensorflow_git_version": info.tensorflow_git_version},
            "inputs": inputs, "outputs": outputs, "variables": variables,
            "collections": colls, "saver": saver,
            "op_types": dict(collections.Counter(n.op for n in nodes).most_common())}


def render(doc: dict) -> str:
    producer = doc["producer"]
    functions = f" and {plural(doc['functions'], 'library function')}" \
        if doc["functions"] else ""
    lines = [f"{doc['path']}: {doc['kind']} of {plural(doc['nodes'], 'node')}{functions}"
             + (f", written by TensorFlow {producer['tensorflow_version']} "
                f"({producer['tensorflow_git_version']})" if producer["tensorflow_version"]
                else ""), ""]
    lines.append(f"Inputs ({plural(len(doc['inputs']), 'placeholder')}):")
    lines += [f"  {i['name']}  {i['dtype']} {i['shape']}" for i in doc["inputs"]] or ["  none"]
    lines.append(f"Likely outputs ({plural(len(doc['outputs']), 'tensor')} nothing consumes):")
    lines += [f"  {name}" for name in doc["outputs"]] or ["  none"]
    lines.append(f"Variables ({len(doc['variables'])}):")
    lines += [f"  {v['name']}  {v['dtype']} {v['shape']}"
              + ("" if v["trainable"] else "  (not trainable)")
              + ("  (resource)" if v["resource"] else "") for v in doc["variables"]] or ["  none"]
    constants = doc["constants"]
    lines.append(f"Constants: {constants['count']} ({plural(constants['parameters'], 'value')})")
    lines.append("Collections:")
    lines += [f"  {k}: {c['count']} {c['kind'] or ''}".rstrip()
              for k, c in doc["collections"].items()] or ["  none"]
    saver = doc["saver"]
    if saver:
        lines.append(f"Saver: restore op {saver['restore_op']}, save tensor "
                     f"{saver['save_tensor']}, filename tensor {saver['filename_tensor']}, "
                     f"max_to_keep {saver['max_to_keep']}"
                     + (", sharded" if saver["sharded"] else ""))
    else:
        lines.append("Saver: none")
    lines.append("Op types:")
    lines += [f"  {count:6d}  {op}" for op, count in doc["op_types"].items()]
    return "\n".join(lines) + "\n"


def run(path: str, as_json: bool) -> int:
    doc = describe(path)
    sys.stdout.write(dump_json(doc) if as_json else render(doc))
    return 0
