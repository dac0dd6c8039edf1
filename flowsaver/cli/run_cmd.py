"""`flowsaver run`: run a SavedModel signature (as ``saved_model_cli run`` does) or chosen
tensors of a metagraph / frozen GraphDef, and print or save the outputs.

    flowsaver run DIR [--tag_set serve] [--signature_def serving_default]
                      [--inputs 'x=in.npy;y=b.npz[y]'] [--input_exprs 'x=np.ones((2,3))']
    flowsaver run MODEL.meta|FROZEN.pb --fetch y:0 [--fetch ...] [--feed x:0=in.npy]
                      [--checkpoint PREFIX]
    ... [--outdir DIR] [--npz FILE] [--overwrite] [--json]

Unlike the other commands this one runs graphs, so it loads flowsaver's runtime (inside
``run``, so that `inspect` and `verify` still load nothing above the format layer).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from flowsaver.cli.common import dump_json, saved_model_directory
from flowsaver.cli.feeds import parse_feeds, parse_inputs, save_outputs
from flowsaver.cli.values import value_json
from flowsaver.format import dtypes
from flowsaver import errors


def _json(value) -> dict:
    array = np.asarray(value)
    return value_json(array, dtypes.from_numpy(array.dtype))


def run(args: argparse.Namespace) -> int:
    """Runs the model and prints (or saves) its outputs."""
    from flowsaver.ops import families
    families.install()
    export_dir = saved_model_directory(args.path)
    if export_dir is not None:
        if args.fetch or args.feed:
            raise errors.InvalidArgumentError(
                "--fetch/--feed are for metagraphs and GraphDefs; a SavedModel runs a "
                "signature: use --signature_def and --inputs/--input_exprs")
        from flowsaver.train.run_graph import run_saved_model
        inputs = parse_inputs(args.inputs, args.input_exprs)
        outputs = run_saved_model(export_dir, args.tag_set.split(","), args.signature_def,
                                  inputs)
        label = "output key "
    else:
        if not args.fetch:
            raise errors.InvalidArgumentError(f"{args.path} is no SavedModel: name the "
                                              f"tensors to compute with --fetch")
        from flowsaver.train.run_graph import run_graph_file
        feeds = parse_inputs(args.inputs, args.input_exprs)
        feeds.update(parse_feeds(args.feed))
        outputs = run_graph_file(args.path, feeds, args.fetch, args.checkpoint)
        label = ""
    written = save_outputs(outputs, args.outdir, args.npz, args.overwrite)
    if args.json:
        sys.stdout.write(dump_json({"outputs": {k: _json(v) for k, v in outputs.items()},
                                    "written": written}))
        return 0
    with np.printoptions(threshold=sys.maxsize if args.full else 1000):
        for key in sorted(outputs) if export_dir else list(outputs):
            print(f"Result for {label}{key}:\n{outputs[key]}")
    for path in written:
        print(f"Saved to {path}")
    return 0


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser(
        "run", parents=parents, help="run a SavedModel signature or a graph's tensors",
        description="Run a SavedModel's signature on inputs from .npy/.npz files or Python "
                    "expressions (saved_model_cli run's flags), or compute tensors of a "
                    "metagraph (restored from its checkpoint) or frozen GraphDef; print "
                    "the outputs or save them as .npy/.npz.")
    p.add_argument("path", metavar="PATH",
                   help="a SavedModel directory, a .meta metagraph or a .pb/.pbtxt GraphDef")
    p.add_argument("--tag_set", "--tag-set", default="serve", metavar="TAGS",
                   help="the SavedModel MetaGraph's comma-separated tags (default: serve)")
    p.add_argument("--signature_def", "--signature-def", default="serving_default",
                   metavar="KEY", help="the signature to run (default: serving_default)")
    p.add_argument("--inputs", metavar="K=FILE;...",
                   help="inputs from files: 'x=a.npy;y=b.npz[y]' (keys are signature "
                        "inputs, or tensor names for a graph)")
    p.add_argument("--input_exprs", "--input-exprs", metavar="K=EXPR;...",
                   help="inputs as Python expressions, numpy as np: 'x=np.ones((2,3))'")
    p.add_argument("--feed", action="append", default=[], metavar="NAME=VALUE",
                   help="for a graph: feed tensor NAME from a .npy/.npz file, or the value "
                        "of a Python expression (repeatable)")
    p.add_argument("--fetch", action="append", default=[], metavar="NAME",
                   help="for a graph: a tensor (or op) to compute (repeatable)")
    p.add_argument("--checkpoint", metavar="PREFIX",
                   help="for a metagraph: the checkpoint to restore (default: the one the "
                        ".meta file belongs to)")
    p.add_argument("--outdir", metavar="DIR", help="save each output as DIR/KEY.npy")
    p.add_argument("--npz", metavar="FILE", help="save all outputs in one .npz file")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--full", action="store_true", help="print every value")
    p.add_argument("--json", action="store_true",
                   help="print the outputs as one JSON document (dtype, shape, values)")
    p.set_defaults(run=run)
