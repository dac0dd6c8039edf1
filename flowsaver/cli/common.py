"""What the `flowsaver` commands share: opening a checkpoint by any path form, reading its
object graph, and a few ways of printing things.

Everything here uses `flowsaver.format` alone, as every CLI command that reads files must.
"""
from __future__ import annotations

import dataclasses
import json
import os

from flowsaver import errors
from flowsaver.format.bundle_read import BundleReader, data_filename
from flowsaver.format.paths import resolve_checkpoint_prefix
from flowsaver.format.object_graph import parse_object_graph
from flowsaver.format.reader import OBJECT_GRAPH_KEY, CheckpointReader, missing_tensor_error
from flowsaver.format.saved_model import SAVED_MODEL_PB, SAVED_MODEL_PBTXT, is_saved_model_dir
from flowsaver.format.v1 import v1_files


# --- opening -------------------------------------------------------------------------------

def is_graph_path(path: str) -> bool:
    """True for a graph file name: a MetaGraphDef (binary ``.meta``, text ``.pbtxt``) or a
    GraphDef (``.pb``, ``.pbtxt``), and not a SavedModel's own file."""
    return path.endswith((".meta", ".pbtxt", ".pb")) and saved_model_directory(path) is None


def saved_model_directory(path: str) -> str | None:
    """The SavedModel directory ``path`` is, or whose ``saved_model.pb(txt)`` it names."""
    path = os.fspath(path)
    if os.path.basename(path) in (SAVED_MODEL_PB, SAVED_MODEL_PBTXT) and os.path.isfile(path):
        return os.path.dirname(path) or "."
    return path if is_saved_model_dir(path) else None


@dataclasses.dataclass
class OpenedCheckpoint:
    """A resolved checkpoint and one reader of it; `bundle` is set for V2 checkpoints."""

    path: str                      # what the user passed
    prefix: str
    version: int
    reader: BundleReader | CheckpointReader
    bundle: BundleReader | None
    data_files: list[str]          # V2: one per shard; V1: the table file(s)

    def close(self) -> None:
        self.reader.close()

    def __enter__(self) -> "OpenedCheckpoint":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_checkpoint(path: str) -> OpenedCheckpoint:
    """Resolves any accepted path form and opens the checkpoint's index (nothing else).

    Raises:
      CheckpointNotFoundError, DataLossError, ...: from flowsaver.format, naming the file.
    """
    path = os.fspath(path)
    resolved = resolve_checkpoint_prefix(path)
    prefix = resolved.prefix
    if resolved.is_v2:
        bundle = BundleReader(prefix, verify_crc=True)
        files = [data_filename(prefix, i, bundle.header.num_shards)
                 for i in range(bundle.header.num_shards)]
        return OpenedCheckpoint(path, prefix, resolved.version, bundle, bundle, files)
    files = v1_files(prefix)
    return OpenedCheckpoint(path, prefix, resolved.version, CheckpointReader(prefix), None,
                            files)


def read_tensor(opened: OpenedCheckpoint, name: str):
    """The value of tensor `name`; NotFoundError with the closest names when it is absent."""
    if not opened.reader.has_tensor(name):
        raise missing_tensor_error(name, opened.reader.names(), opened.prefix)
    return opened.reader.get_tensor(name)


# --- object graph ----------------------------------------------------------------------------

def read_object_graph(opened: OpenedCheckpoint, value=None):
    """The checkpoint's TrackableObjectGraph, its node ids checked against its node count.

    `value` is the already-read `_CHECKPOINTABLE_OBJECT_GRAPH` tensor, when the caller has it.
    """
    where = f"{OBJECT_GRAPH_KEY} in checkpoint {opened.prefix}"
    if value is None:
        if not opened.reader.has_tensor(OBJECT_GRAPH_KEY):
            raise errors.InvalidArgumentError(
                f"{opened.prefix} is not an object-based (TF2) checkpoint: it has no "
                f"{OBJECT_GRAPH_KEY} tensor")
        value = opened.reader.get_tensor(OBJECT_GRAPH_KEY)
    return parse_object_graph(value, where)


# --- printing ------------------------------------------------------------------------------

def human_bytes(n: int) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    if n < 1024:
        return f"{n} B"
    size = n / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def display_name(name: str) -> str:
    """A tensor name safe to print: undecodable bytes and control characters escaped."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def dump_json(doc) -> str:
    # allow_nan=False: non-finite floats must have been encoded as strings already.
    return json.dumps(doc, allow_nan=False) + "\n"


def format_table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Columns padded to their widest cell; the columns in `right` right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                      for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
            for row in [header, *rows]]
