"""`flowsaver graph GRAPH`: draw a MetaGraph, GraphDef or SavedModel.

``-o out.dot`` writes DOT text (graph_dot.py); ``-o out.svg`` / ``out.png`` (or any other
format Graphviz knows, by suffix) runs Graphviz's ``dot`` on it, which must be installed.
``--logdir DIR`` writes a TensorBoard event file holding the graph instead (or as well),
for TensorBoard's Graphs tab.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

DOT_PROGRAM = "dot"
DOT_SUFFIX = ".dot"
DOT_TIMEOUT = 600   # seconds; Graphviz can be slow on very large graphs


def render(dot_text: str, out: str) -> None:
    """Write ``dot_text`` to ``out``: as is for ``.dot``/``.gv``, else through Graphviz
    in the format the suffix names (svg, png, pdf, ...).

    Raises:
      FailedPreconditionError: Graphviz's ``dot`` is not installed.
      UnknownError: ``dot`` failed; its message is included.
    """
    from flowsaver import errors
    from flowsaver.format.atomic import atomic_write_bytes

    suffix = os.path.splitext(out)[1].lower()
    if suffix in (DOT_SUFFIX, ".gv") or not suffix:
        atomic_write_bytes(out, dot_text.encode("utf-8"))
        return
    program = shutil.which(DOT_PROGRAM)
    if program is None:
        raise errors.FailedPreconditionError(
            f"writing {out} needs Graphviz's '{DOT_PROGRAM}' program, which is not on PATH "
            f"(install Graphviz, e.g. 'apt-get install graphviz' or 'brew install "
            f"graphviz'), or write DOT text with -o {os.path.splitext(out)[0]}{DOT_SUFFIX}")
    done = subprocess.run([program, f"-T{suffix[1:]}"], input=dot_text.encode("utf-8"),
                          capture_output=True, timeout=DOT_TIMEOUT)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise errors.UnknownError(f"Graphviz's dot failed making {out}: "
                                  f"{' '.join(message)[:500]}")
    atomic_write_bytes(out, done.stdout)


def run(args: argparse.Namespace) -> int:
    from flowsaver import errors
    from flowsaver.cli.common import plural
    from flowsaver.cli.graph_dot import graph_to_dot
    from flowsaver.format.graph_file import read_graph_file

    if not args.output and not args.logdir:
        raise errors.InvalidArgumentError("give -o OUT (.dot, .svg, .png) and/or --logdir DIR")
    if args.depth is not None and args.depth < 0:
        raise errors.InvalidArgumentError(f"--depth {args.depth}: must be 0 or more")
    loaded = read_graph_file(args.graph, tuple(args.tag))
    nodes = len(loaded.graph_def.node)
    lines = []
    if args.output:
        title = os.path.basename(os.path.normpath(args.graph))
        render(graph_to_dot(loaded.graph_def, args.depth, title), args.output)
        lines.append(f"wrote {args.output}: {plural(nodes, 'node')} of the {loaded.kind} "
                     f"{args.graph}")
    if args.logdir:
        from flowsaver.format.events import EventFileWriter
        with EventFileWriter(args.logdir) as writer:
            writer.add_graph_def(loaded.graph_def)
            if loaded.meta_graph_def is not None:
                writer.add_meta_graph_def(loaded.meta_graph_def)
        lines.append(f"wrote {writer.path}: the graph for TensorBoard "
                     f"(tensorboard --logdir {args.logdir})")
    if not args.quiet:
        sys.stdout.write("\n".join(lines) + "\n")
    return 0


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser(
        "graph", parents=parents, help="draw a graph (DOT, SVG, PNG) or log it for "
                                       "TensorBoard",
        description="Draw the graph of a MetaGraph (.meta, binary or text), a GraphDef "
                    "(.pb, .pbtxt) or a SavedModel directory: name scopes as clusters, "
                    "op types and output shapes on the nodes, variables and placeholders "
                    "marked, control edges dashed.")
    p.add_argument("graph", metavar="GRAPH", help="a .meta, .pb or .pbtxt file, or a "
                                                  "SavedModel directory")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="OUT.dot: DOT text; OUT.svg, OUT.png (any Graphviz format): "
                        "rendered by Graphviz's dot, which must be installed")
    p.add_argument("--depth", type=int, metavar="N",
                   help="draw scopes nested more than N deep as one box each "
                        "(default: every node)")
    p.add_argument("--logdir", metavar="DIR",
                   help="also write a TensorBoard event file with the graph into DIR")
    p.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="SavedModel: the MetaGraph with these tags (default: the first)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(run=run)
