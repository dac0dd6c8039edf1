"""`flowsaver freeze`: one frozen GraphDef from a trained model, as TensorFlow's
freeze_graph tool makes it, holding only what the named outputs need:

    flowsaver freeze MODEL.meta --output_node_names y,loss [--checkpoint PREFIX] -o f.pb
    flowsaver freeze DIR [--tag_set serve] [--signature_def serving_default] -o f.pb

A SavedModel's outputs default to its signature's. ``.pbtxt`` (or --as_text) writes text.
Like `run`, this loads flowsaver's runtime inside ``run``.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys

from google.protobuf import text_format

from flowsaver.cli.common import dump_json, plural, saved_model_directory
from flowsaver.format import storage


def _names(text: str | None) -> list[str] | None:
    return [n for n in (text or "").replace(" ", "").split(",") if n] or None


def run(args: argparse.Namespace) -> int:
    """Freezes the model and writes the GraphDef; prints what it holds."""
    from flowsaver.ops import families
    families.install()
    from flowsaver.train.freeze_graph import freeze_meta_graph, freeze_saved_model
    outputs = _names(args.output_node_names)
    allow, deny = _names(args.variable_names_whitelist), _names(args.variable_names_blacklist)
    export_dir = saved_model_directory(args.path)
    if export_dir is not None:
        frozen, outputs = freeze_saved_model(export_dir, args.tag_set.split(","),
                                             args.signature_def, outputs, allow, deny)
    else:
        frozen = freeze_meta_graph(args.path, outputs, args.checkpoint, allow, deny)
    as_text = args.as_text or args.output.endswith(".pbtxt")
    data = text_format.MessageToString(frozen).encode("utf-8") if as_text \
        else frozen.SerializeToString(deterministic=True)
    directory = os.path.dirname(args.output)
    if directory:
        storage.makedirs(directory)
    storage.write_atomic(args.output, data)
    ops = collections.Counter(node.op for node in frozen.node)
    doc = {"output": args.output, "bytes": len(data), "output_nodes": outputs,
           "nodes": len(frozen.node), "constants": ops.get("Const", 0),
           "op_types": dict(ops.most_common())}
    if args.json:
        sys.stdout.write(dump_json(doc))
    else:
        print(f"wrote {args.output}: {plural(doc['nodes'], 'node')}, "
              f"{plural(doc['constants'], 'constant')}, {len(data)} bytes; outputs "
              f"{', '.join(outputs)}")
    return 0


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser(
        "freeze", parents=parents, help="freeze a model into one GraphDef",
        description="Write a frozen GraphDef (variables as constants, only what the "
                    "outputs need) from a .meta metagraph and its checkpoint, or from a "
                    "SavedModel's MetaGraph and signature.")
    p.add_argument("path", metavar="PATH", help="a .meta metagraph or a SavedModel directory")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the GraphDef to write (.pb binary, .pbtxt text)")
    p.add_argument("--output_node_names", "--output-node-names", metavar="A,B",
                   help="comma-separated output node names (required for a metagraph; a "
                        "SavedModel's default to its signature's outputs)")
    p.add_argument("--checkpoint", metavar="PREFIX",
                   help="the checkpoint to restore, or a directory for its latest (default: "
                        "the one the .meta file belongs to)")
    p.add_argument("--tag_set", "--tag-set", default="serve", metavar="TAGS",
                   help="the SavedModel MetaGraph's comma-separated tags (default: serve)")
    p.add_argument("--signature_def", "--signature-def", default="serving_default",
                   metavar="KEY", help="the signature whose outputs to keep")
    p.add_argument("--variable_names_whitelist", metavar="A,B",
                   help="freeze only these variables (node names)")
    p.add_argument("--variable_names_blacklist", metavar="A,B",
                   help="leave these variables as they are")
    p.add_argument("--as_text", "--as-text", action="store_true", help="write text format")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run)
