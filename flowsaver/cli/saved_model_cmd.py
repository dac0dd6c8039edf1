"""`flowsaver inspect DIR` on a SavedModel directory: what ``saved_model_cli show --all``
prints (every MetaGraph's tag set, its signatures with their inputs and outputs, dtypes,
shapes and method names, the op types it uses, and for TF2 SavedModels the concrete
functions), then the variables its checkpoint holds. The op types are listed sorted, where
saved_model_cli prints a Python set in hash order. Reads the files with `flowsaver.format`
alone.
"""
from __future__ import annotations

import sys

from flowsaver.cli.common import dump_json
from flowsaver.cli.function_signatures import concrete_functions_text, function_list
from flowsaver.format import dtypes
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.graph_file import used_op_types
from flowsaver.format.object_graph import OBJECT_GRAPH_KEY, parse_object_graph
from flowsaver.format.protos import DATA_TYPES
from flowsaver.format.saved_model import variables_prefix
from flowsaver.format.saved_model_file import (find_meta_graph, find_signature,
                                               read_saved_model, saved_model_path)
from flowsaver.format.saved_object_graph import checkpoint_keys

_ENUM_NAMES = {enum: name for name, enum in DATA_TYPES.items()}


def ops_used(graph_def) -> list[str]:
    """The op types a graph uses, the bodies of the functions it calls included
    (TensorFlow's ``ops_used_by_graph_def``), sorted."""
    return sorted(used_op_types(graph_def))


def _shape_text(info) -> str:
    if info.tensor_shape.unknown_rank:
        return "unknown_rank"
    return "(" + ", ".join(str(d.size) for d in info.tensor_shape.dim) + ")"


def _tensor_info_lines(info, indent: str) -> list[str]:
    return [f"{indent}    dtype: {_ENUM_NAMES.get(info.dtype, str(info.dtype))}",
            f"{indent}    shape: {_shape_text(info)}",
            f"{indent}    name: {info.name}"]


def signature_lines(signature, indent: str = "  ") -> list[str]:
    """A SignatureDef as saved_model_cli prints it."""
    lines = [f"{indent}The given SavedModel SignatureDef contains the following input(s):"]
    for key in sorted(signature.inputs):
        lines.append(f"{indent}  inputs['{key}'] tensor_info:")
        lines += _tensor_info_lines(signature.inputs[key], indent + "  ")
    lines.append(f"{indent}The given SavedModel SignatureDef contains the following "
                 f"output(s):")
    for key in sorted(signature.outputs):
        lines.append(f"{indent}  outputs['{key}'] tensor_info:")
        lines += _tensor_info_lines(signature.outputs[key], indent + "  ")
    lines.append(f"{indent}Method name is: {signature.method_name}")
    return lines


def _meta_graph_text(meta) -> str:
    tags = list(meta.meta_info_def.tags)
    text = (f"\nMetaGraphDef with tag-set: '{', '.join(tags)}' contains the following "
            f"SignatureDefs:\n")
    for key in sorted(meta.signature_def):
        text += f"\nsignature_def['{key}']:\n"
        text += "\n".join(signature_lines(meta.signature_def[key])) + "\n"
    ops = "{" + ", ".join(repr(op) for op in ops_used(meta.graph_def)) + "}"
    text += f"The MetaGraph with tag set {tags!r} contains the following ops: {ops}\n"
    return text


def _variable_names(reader: BundleReader, model) -> dict[str, str]:
    """``{checkpoint key: variable name}`` of a TF2 SavedModel (its object graphs share
    node ids); {} for a TF1 one, whose keys are the names."""
    metas = [m for m in model.meta_graphs if m.HasField("object_graph_def")]
    if not metas or OBJECT_GRAPH_KEY not in reader.names():
        return {}
    graph = parse_object_graph(reader.get_tensor(OBJECT_GRAPH_KEY), reader.prefix)
    nodes = metas[0].object_graph_def.nodes
    return {key: nodes[i].variable.name for i, key in checkpoint_keys(graph).items()
            if i < len(nodes) and nodes[i].WhichOneof("kind") == "variable"}


def _variables(export_dir: str, model) -> list[dict]:
    """Name, dtype and shape of every tensor in ``variables/variables`` ([] if none), and
    for a TF2 SavedModel the name of the variable each key holds."""
    try:
        reader = BundleReader(variables_prefix(export_dir))
    except (OSError, ValueError):
        return []
    with reader:
        names = _variable_names(reader, model)
        out = []
        for key in reader.names():
            entry = reader.entry(key)
            dtype = dtypes.BY_ENUM.get(entry.dtype)
            out.append({"name": key, "dtype": dtype.name if dtype else
                        _ENUM_NAMES.get(entry.dtype, str(entry.dtype)),
                        "shape": [d.size for d in entry.shape.dim],
                        "variable": names.get(key)})
        return out


def describe(export_dir: str, tag_set: str | None = None,
             signature_key: str | None = None) -> dict:
    """Everything the text shows, as plain data (the --json document)."""
    model = read_saved_model(export_dir)
    metas = sorted(model.meta_graphs, key=lambda m: list(m.meta_info_def.tags))
    if tag_set is not None:
        metas = [find_meta_graph(model, tag_set.split(","), export_dir)]
    graphs = []
    for meta in metas:
        keys = sorted(meta.signature_def)
        if signature_key is not None:
            find_signature(meta, signature_key, saved_model_path(export_dir))
            keys = [signature_key]
        graphs.append({
            "tags": list(meta.meta_info_def.tags),
            "signatures": {k: _signature_json(meta.signature_def[k]) for k in keys},
            "ops": ops_used(meta.graph_def),
            "functions": function_list(meta.object_graph_def, meta.graph_def.library)
            if meta.HasField("object_graph_def") else None})
    return {"path": export_dir, "file": saved_model_path(export_dir),
            "schema_version": model.saved_model_schema_version, "meta_graphs": graphs,
            "variables": _variables(export_dir, model)}


def _info_json(info) -> dict:
    shape = None if info.tensor_shape.unknown_rank else [d.size for d in info.tensor_shape.dim]
    encoding = info.WhichOneof("encoding")
    out = {"dtype": _ENUM_NAMES.get(info.dtype, str(info.dtype)), "shape": shape}
    if encoding == "coo_sparse":
        out["coo_sparse"] = {"values": info.coo_sparse.values_tensor_name,
                             "indices": info.coo_sparse.indices_tensor_name,
                             "dense_shape": info.coo_sparse.dense_shape_tensor_name}
    else:
        out["name"] = info.name
    return out


def _signature_json(signature) -> dict:
    return {"method_name": signature.method_name,
            "inputs": {k: _info_json(signature.inputs[k]) for k in sorted(signature.inputs)},
            "outputs": {k: _info_json(signature.outputs[k])
                        for k in sorted(signature.outputs)}}


def render(export_dir: str, tag_set: str | None = None,
           signature_key: str | None = None) -> str:
    """saved_model_cli's ``show --all`` text (or ``--tag_set``/``--signature_def`` part),
    then the variables."""
    model = read_saved_model(export_dir)
    if tag_set is not None:
        meta = find_meta_graph(model, tag_set.split(","), export_dir)
        if signature_key is not None:
            signature = find_signature(meta, signature_key, saved_model_path(export_dir))
            return "\n".join(signature_lines(signature, "")) + "\n"
        text = _meta_graph_text(meta)
    else:
        metas = sorted(model.meta_graphs, key=lambda m: list(m.meta_info_def.tags))
        text = "".join(_meta_graph_text(meta) for meta in metas)
        if any(m.HasField("object_graph_def") for m in model.meta_graphs):
            for meta in model.meta_graphs:
                if meta.HasField("object_graph_def"):
                    text += concrete_functions_text(meta.object_graph_def,
                                                    meta.graph_def.library)
    variables = _variables(export_dir, model)
    text += f"\n\nVariables ({len(variables)}, in {variables_prefix(export_dir)}):\n"
    text += "".join(f"  {v['name']}  {v['dtype']} {v['shape']}"
                    + (f"  ({v['variable']})" if v["variable"] else "") + "\n"
                    for v in variables) or "  none\n"
    return text


def run(export_dir: str, as_json: bool, tag_set: str | None = None,
        signature_key: str | None = None) -> int:
    if as_json:
        sys.stdout.write(dump_json(describe(export_dir, tag_set, signature_key)))
    else:
        sys.stdout.write(render(export_dir, tag_set, signature_key))
    return 0
