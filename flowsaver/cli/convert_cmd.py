"""`flowsaver convert SRC DST`: tensors from any checkpoint or weights file into another
format, without TensorFlow. The work is done by flowsaver/cli/convert.py (imported when
the command runs, so that other commands start without it)."""
from __future__ import annotations

import argparse
import sys

TARGETS = ("bundle", "safetensors", "npz", "torch")
CAST_TARGETS = ("float16", "bfloat16", "float32", "float64")


def _metadata(items: list[str]) -> dict:
    from flowsaver import errors
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise errors.InvalidArgumentError(f"--metadata {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def run(args: argparse.Namespace) -> int:
    from flowsaver.cli.common import display_name, human_bytes, plural
    from flowsaver.cli.convert import ConvertOptions, run as convert
    from flowsaver.cli.progress import Progress

    options = ConvertOptions.make(
        to=args.to, include=args.include, exclude=args.exclude, rename=args.rename,
        dtype=args.dtype, transpose=args.transpose, skip_unsupported=args.skip_unsupported,
        names=args.names, metadata=_metadata(args.metadata))
    result = convert(args.src, args.dst, options, Progress(enabled=not args.quiet))
    if args.quiet:
        return 0
    lines = []
    if args.verbose:
        for p in result.written:
            moved = "" if p.name == p.spec.name else f" <- {display_name(p.spec.name)}"
            cast = "" if p.dtype == p.spec.dtype else f" (from {p.spec.dtype.name})"
            shape = "[" + ", ".join(map(str, p.shape)) + "]"
            lines.append(f"  {display_name(p.name)}  {p.dtype.name}{cast} {shape}{moved}")
    for name, why in result.skipped:
        lines.append(f"skipped {display_name(name)}: {why}")
    if result.excluded:
        lines.append(f"left out {plural(len(result.excluded), 'tensor')} by --include/"
                     f"--exclude")
    lines.append(f"wrote {plural(len(result.written), 'tensor')} "
                 f"({human_bytes(result.nbytes)}) to {result.target} ({result.target_kind}) "
                 f"from {result.source} ({result.source_kind})")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser(
        "convert", parents=parents, help="convert tensors to another format",
        description="Copy the tensors of SRC into DST, one tensor at a time (memory stays "
                    "near the largest tensor). SRC: a TensorFlow checkpoint (V2, sharded, "
                    "partitioned, V1, TF2 object-based) by any path form, a SavedModel "
                    "directory, .safetensors, .npz, or a PyTorch .pt/.pth/.bin (needs "
                    "torch; loaded with weights_only=True). DST: by its suffix "
                    ".safetensors, .npz, .pt/.pth/.bin, else a V2 checkpoint prefix "
                    "that TensorFlow reads. Every REGEX is matched (re.search) against "
                    "the tensor's name in SRC.",
        epilog="Example: flowsaver convert runs/model.ckpt-1000 model.safetensors "
               "--exclude '/Adam' --exclude global_step --dtype float16")
    p.add_argument("src", metavar="SRC", help="what to read")
    p.add_argument("dst", metavar="DST", help="what to write (replaced if it exists)")
    p.add_argument("--to", choices=TARGETS,
                   help="target format, instead of guessing it from DST's suffix")
    p.add_argument("--include", action="append", default=[], metavar="REGEX",
                   help="convert only tensors matching REGEX (repeatable: any matches)")
    p.add_argument("--exclude", action="append", default=[], metavar="REGEX",
                   help="leave out tensors matching REGEX, e.g. optimizer slots "
                        "(repeatable)")
    p.add_argument("--rename", action="append", default=[], metavar="REGEX=REPLACEMENT",
                   help="rename with re.sub (\\1 for groups); repeatable, applied in order")
    p.add_argument("--dtype", choices=CAST_TARGETS,
                   help="cast every floating tensor (float16/32/64, bfloat16) to this")
    p.add_argument("--transpose", action="append", default=[], metavar="REGEX[=AXES]",
                   help="reverse the axes of matching tensors (Dense kernels for "
                        "PyTorch's Linear); REGEX=3,2,0,1 gives another order "
                        "(repeatable; the first match applies)")
    p.add_argument("--names", choices=("stored", "path", "variable"), default="stored",
                   help="names of TF2 object-based checkpoints: keys as stored "
                        "(default), object paths without /.ATTRIBUTES/VARIABLE_VALUE, or "
                        "the variables' own names from the object graph")
    p.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE",
                   help="add to a safetensors header (e.g. format=pt, which Hugging Face "
                        "transformers looks for); the source is always recorded")
    p.add_argument("--skip-unsupported", action="store_true",
                   help="leave out tensors the target cannot hold (e.g. strings in "
                        "safetensors) instead of failing")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="list every tensor written")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing (no summary, no progress bar)")
    p.set_defaults(run=run)
