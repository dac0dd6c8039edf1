"""The `flowsaver` command line: look at, check, convert and compare checkpoints, and draw
graphs, with `flowsaver.format` alone (no TensorFlow, and nothing above the format layer);
and freeze and run saved models (`freeze`, `run`), which load flowsaver's runtime when they
run.

    flowsaver inspect PATH [--tensor NAME ...] [--full] [--object-graph] [--json]
                           [--stats] [--sort name|size] [--exclude REGEX]
    flowsaver verify PATH [--json] [--strict]
    flowsaver convert SRC DST [--to ...] [--include/--exclude REGEX] [--rename R=S] ...
    flowsaver diff A B [--rtol X] [--atol X] [--json]
    flowsaver graph GRAPH -o OUT.dot|.svg|.png [--depth N] | --logdir DIR
    flowsaver freeze MODEL.meta|SAVED_MODEL_DIR -o FROZEN.pb [--output_node_names A,B] ...
    flowsaver run SAVED_MODEL_DIR [--signature_def K] [--inputs ...] [--input_exprs ...]
    flowsaver run MODEL.meta|FROZEN.pb --fetch T [--feed T=VALUE] [--outdir DIR] [--json]

Exit codes: 0 success; 1 `verify` found bad tensors, or `diff` found differences; 2 a
usage error, or a file that cannot be read. Errors are one line on stderr; `--debug` adds
the Python traceback.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from flowsaver import errors
from flowsaver.cli import (convert_cmd, diff_cmd, freeze_cmd, graph_cmd, inspect_cmd,
                           run_cmd, verify_cmd)

EXIT_ERROR = 2
EXIT_BROKEN_PIPE = 1     # as Python's documentation on SIGPIPE suggests
EXIT_INTERRUPTED = 130   # 128 + SIGINT, what shells report for Ctrl-C

_COMMANDS = (inspect_cmd, verify_cmd, convert_cmd, diff_cmd, graph_cmd, freeze_cmd, run_cmd)


def build_parser() -> argparse.ArgumentParser:
    """The `flowsaver` parser; each subcommand sets `run(args) -> int` as a default."""
    parser = argparse.ArgumentParser(
        prog="flowsaver",
        description="Inspect, verify, convert and compare TensorFlow checkpoints, draw "
                    "graphs, freeze and run saved models, without TensorFlow.",
        epilog="Exit codes: 0 ok, 1 verify found bad tensors or diff found differences, "
               "2 error (e.g. no checkpoint, unreadable index).")
    debug_help = "on an error, show the Python traceback too"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    # Accepted after the subcommand too; SUPPRESS keeps an absent flag from resetting it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help=debug_help)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        command.add_parser(subparsers, [common])
    return parser


def _report(args: argparse.Namespace, exc: BaseException) -> int:
    if args.debug:
        traceback.print_exc()
    message = " ".join(str(exc).splitlines())   # one line, whatever the message holds
    print(f"flowsaver {args.command}: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit code (argparse's own exits included)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:   # --help, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    logging.basicConfig(format="flowsaver: %(levelname)s: %(message)s")
    try:
        return args.run(args)
    except BrokenPipeError:
        # The reader of our output went away (`| head`); point stdout at /dev/null so the
        # interpreter's final flush does not fail a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (errors.OpError, OSError, ValueError, ImportError) as exc:
        # OpError: the format layer's typed errors, which name the file; OSError: the OS's,
        # which carry the path; ValueError: a state file naming no checkpoint; ImportError:
        # an optional extra (torch) that is not installed, named in the message.
        return _report(args, exc)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
