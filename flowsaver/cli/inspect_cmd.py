"""`flowsaver inspect`: what a checkpoint holds, read from its index alone.

Only the index is read for the summary; tensor bytes are read just for `--tensor` and
`--object-graph`. Like every CLI command that looks at files, this uses `flowsaver.format`
and nothing above it.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import sys

import numpy as np
from google.protobuf import text_format

from flowsaver import errors
from flowsaver.cli.common import (OpenedCheckpoint, display_name, dump_json, human_bytes,
                                  is_meta_path, open_checkpoint, plural, read_object_graph,
                                  read_tensor)
from flowsaver.format import dtypes
from flowsaver.format.bundle_read import index_filename, name_to_key, num_elements
from flowsaver.format.dtypes import DType
from flowsaver.format.protos import DATA_TYPES
from flowsaver.format.reader import OBJECT_GRAPH_KEY
from flowsaver.format.slices import TensorSlice, encode_tensor_name_slice
from flowsaver.format.state import (checkpoint_exists, checkpoint_state_filename,
                                    get_checkpoint_state)

# Arrays with more elements than this print as their corners unless --full is given.
PRINT_THRESHOLD = 64
PRINT_EDGEITEMS = 3
PRINT_LINEWIDTH = 100
ELLIPSIS = "..."
_ENUM_NAMES = {enum: name for name, enum in DATA_TYPES.items()}


# --- what the index says -------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class StoredPart:
    """One run of bytes in a data file: a whole tensor, or one stored slice of one."""

    slice: str | None      # "0,2:-" for a stored slice of a partitioned tensor
    elements: int
    shard: int
    offset: int
    size: int
    crc32c: int


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: DType | None    # None: an enum flowsaver cannot read (still listed, by enum name)
    dtype_enum: int
    shape: tuple[int, ...]
    partitioned: bool
    parts: tuple[StoredPart, ...]  # empty for V1, whose layout the reader does not expose

    @property
    def elements(self) -> int:
        return num_elements(self.shape)

    @property
    def dtype_name(self) -> str:
        if self.dtype is not None:
            return self.dtype.name
        return _ENUM_NAMES.get(self.dtype_enum, f"DataType {self.dtype_enum}")

    @property
    def numeric(self) -> bool:
        return self.dtype is not None and self.dtype.kind == "memcpy"

    @property
    def nbytes(self) -> int | None:
        return sum(p.size for p in self.parts) if self.parts else None


@dataclasses.dataclass(frozen=True)
class StateEntry:
    path: str
    exists: bool
    latest: bool
    timestamp: float | None


@dataclasses.dataclass(frozen=True)
class CheckpointInfo:
    path: str
    prefix: str
    version: int
    object_based: bool
    num_shards: int
    data_files: tuple[tuple[str, int | None], ...]   # (path, size or None when missing)
    state_file: str | None                           # set when PATH was a directory
    state: tuple[StateEntry, ...]
    tensors: tuple[TensorInfo, ...]

    @property
    def format(self) -> str:
        if self.version == 1:
            return "V1 (legacy TensorSliceWriter table)"
        if self.object_based:
            return f"V2 bundle, TF2 object-based ({OBJECT_GRAPH_KEY})"
        return "V2 bundle"

    @property
    def parameters(self) -> int:
        """Elements of numeric tensors (strings and variants are not parameters)."""
        return sum(t.elements for t in self.tensors if t.numeric)

    @property
    def nbytes(self) -> int:
        """Bytes of tensor data: entry sizes for V2, the table files' sizes for V1."""
        if self.version == 1:
            return sum(size or 0 for _, size in self.data_files)
        return sum(t.nbytes or 0 for t in self.tensors)


def _file_size(path: str) -> int | None:
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return None


def _tensor_info(opened: OpenedCheckpoint, name: str, raw: dict) -> TensorInfo:
    reader, bundle = opened.reader, opened.bundle
    shape = tuple(reader.shape(name))
    if bundle is None:
        dtype = reader.dtype(name)
        return TensorInfo(name, dtype, dtype.enum, shape, False, ())
    entry = bundle.entry(name)
    # Unknown enums are listed, not fatal: the listing is how a user finds them.
    dtype = dtypes.BY_ENUM.get(entry.dtype)
    if not entry.slices:
        part = StoredPart(None, num_elements(shape), entry.shard_id, entry.offset,
                          entry.size, entry.crc32c)
        return TensorInfo(name, dtype, entry.dtype, shape, False, (part,))
    parts = []
    for proto in entry.slices:
        tslice = TensorSlice.from_proto(proto)
        try:
            box = tslice.resolve(shape)
        except ValueError as exc:
            raise errors.DataLossError(f"tensor {name!r} in {index_filename(opened.prefix)}: "
                                       f"{exc}") from None
        stored = raw.get(encode_tensor_name_slice(name_to_key(name), tslice))
        if stored is not None:   # a missing slice entry is verify's business, not ours
            parts.append(StoredPart(str(tslice), num_elements(n for _, n in box),
                                    stored.shard_id, stored.offset, stored.size,
                                    stored.crc32c))
    return TensorInfo(name, dtype, entry.dtype, shape, True, tuple(parts))


def _state_entries(directory: str) -> tuple[str | None, tuple[StateEntry, ...]]:
    """The directory's state file and the checkpoints it lists, oldest first."""
    state = get_checkpoint_state(directory)
    if state is None:
        return None, ()
    paths = list(state.all_model_checkpoint_paths)
    if state.model_checkpoint_path not in paths:
        paths.append(state.model_checkpoint_path)
    # CheckpointManager writes one timestamp per listed path; anything else is ignored.
    stamps = list(state.all_model_checkpoint_timestamps)
    if len(stamps) != len(state.all_model_checkpoint_paths):
        stamps = []
    stamps += [None] * (len(paths) - len(stamps))
    entries = tuple(StateEntry(p, checkpoint_exists(p), p == state.model_checkpoint_path, t)
                    for p, t in zip(paths, stamps))
    return checkpoint_state_filename(directory), entries


def describe(opened: OpenedCheckpoint) -> CheckpointInfo:
    """Everything `inspect` shows, from the index (and the state file for a directory)."""
    names = sorted(opened.reader.names())
    raw = opened.bundle.raw_entries() if opened.bundle is not None else {}
    state_file, state = (_state_entries(opened.path) if os.path.isdir(opened.path)
                         else (None, ()))
    return CheckpointInfo(
        path=opened.path, prefix=opened.prefix, version=opened.version,
        object_based=OBJECT_GRAPH_KEY in names,
        num_shards=len(opened.data_files),
        data_files=tuple((f, _file_size(f)) for f in opened.data_files),
        state_file=state_file, state=state,
        tensors=tuple(_tensor_info(opened, n, raw) for n in names))


# --- object graph ----------------------------------------------------------------------------

def object_graph_lines(graph) -> list[str]:
    """The object tree from the root (node 0); shared nodes are shown once."""
    lines = [f"object graph: {len(graph.nodes)} nodes"]
    seen: set[int] = set()
    for root in range(len(graph.nodes)):   # node 0 first, then any it does not reach
        if root in seen:
            continue
        # Iterative: a hostile file can chain nodes deeper than Python's recursion limit.
        stack = [(root, "(root)" if root == 0 else "(unreached)", 0)]
        while stack:
            node_id, label, depth = stack.pop()
            pad = "  " * depth
            if node_id in seen:
                lines.append(f"{pad}{label} #{node_id} (shown above)")
                continue
            seen.add(node_id)
            node = graph.nodes[node_id]
            lines.append(f"{pad}{label} #{node_id}")
            for attr in node.attributes:
                full = f"  (full name {attr.full_name!r})" if attr.full_name else ""
                lines.append(f"{pad}  {attr.name} -> {attr.checkpoint_key}{full}")
            children = [(c.node_id, c.local_name, depth + 1) for c in node.children]
            children += [(s.slot_variable_node_id,
                          f"(slot {s.slot_name!r} of #{s.original_variable_node_id})",
                          depth + 1) for s in node.slot_variables]
            stack.extend(reversed(children))
    return lines


def object_graph_json(graph) -> list[dict]:
    return [{"id": i,
             "children": [{"node_id": c.node_id, "local_name": c.local_name}
                          for c in node.children],
             "attributes": [{"name": a.name, "full_name": a.full_name,
                             "checkpoint_key": a.checkpoint_key} for a in node.attributes],
             "slot_variables": [{"original_variable_node_id": s.original_variable_node_id,
                                 "slot_name": s.slot_name,
                                 "slot_variable_node_id": s.slot_variable_node_id}
                                for s in node.slot_variables]}
            for i, node in enumerate(graph.nodes)]


# --- values ----------------------------------------------------------------------------------

def _as_array(value) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    return np.array(value, dtype=object) if isinstance(value, bytes) else np.asarray(value)


def _variant_text(item) -> str:
    return text_format.MessageToString(item, as_one_line=True)


def format_value(value, dtype: DType, full: bool) -> str:
    """NumPy's printing of a tensor; strings as bytes reprs, variants as one-line protos."""
    array = _as_array(value)
    if dtype.kind == "variant":   # one element a line: NumPy would print each as a repr
        return "\n".join(f"{list(index)}: {_variant_text(array[index])}"
                         for index in np.ndindex(array.shape))
    threshold = sys.maxsize if full else PRINT_THRESHOLD
    return np.array2string(array, threshold=threshold, edgeitems=PRINT_EDGEITEMS,
                           max_line_width=PRINT_LINEWIDTH, separator=" ")


def _json_float(x: float):
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    return x


def _flat_json(array: np.ndarray, dtype: DType) -> list:
    flat = array.reshape(-1)
    if dtype.kind == "string":
        return [repr(bytes(x)) for x in flat]
    if dtype.kind == "variant":
        return [_variant_text(x) for x in flat]
    if dtype.is_bool:
        return flat.astype(bool).tolist()
    if dtype.is_complex:
        return [[_json_float(z.real), _json_float(z.imag)] for z in flat.tolist()]
    if dtype.is_floating:
        return [_json_float(x) for x in flat.astype(np.float64).tolist()]
    return [int(x) for x in flat]   # int() also covers ml_dtypes int4 / uint4


def _nest(flat: list, shape: tuple[int, ...]):
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return flat
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def value_json(value, dtype: DType) -> dict:
    """A tensor value as JSON: nested lists; non-finite floats as "nan"/"inf"/"-inf"."""
    array = _as_array(value)
    return {"dtype": dtype.name, "shape": list(array.shape),
            "value": _nest(_flat_json(array, dtype), array.shape)}


# --- text and JSON output --------------------------------------------------------------------

def _shorten(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    keep = max(width - len(ELLIPSIS), 2)
    return text[:keep - keep // 2] + ELLIPSIS + text[len(text) - keep // 2:]


def _shape_text(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def format_table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Columns padded to their widest cell; the columns in `right` right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                      for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
            for row in [header, *rows]]


def _note(t: TensorInfo) -> str:
    notes = [] if t.dtype is not None else ["dtype not supported by flowsaver"]
    if t.partitioned:
        stored = sum(p.elements for p in t.parts)
        partial = "" if stored == t.elements else f", {stored} of {t.elements} elements stored"
        notes.append(f"partitioned ({plural(len(t.parts), 'slice')}{partial})")
    return "; ".join(notes)


def _time_text(stamp: float) -> str:
    return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).isoformat(
        sep=" ", timespec="seconds")


def _header_lines(info: CheckpointInfo) -> list[str]:
    lines = []
    if os.path.abspath(info.path) != os.path.abspath(info.prefix):
        kind = " (directory)" if info.state_file else ""
        lines.append(f"path:        {info.path}{kind}")
    lines += [f"checkpoint:  {info.prefix}", f"format:      {info.format}",
              f"shards:      {info.num_shards}"]
    for i, (path, size) in enumerate(info.data_files):
        size_text = "missing" if size is None else human_bytes(size)
        label = "data files:" if i == 0 else ""
        lines.append(f"{label:<12} {os.path.basename(path)}  ({size_text})")
    if info.state_file:
        lines.append(f"state file:  {info.state_file}")
        for e in info.state:
            marks = [m for m, on in (("latest", e.latest), ("missing", not e.exists)) if on]
            if e.timestamp is not None:
                marks.append(_time_text(e.timestamp))
            in_dir = os.path.dirname(e.path) == os.path.dirname(info.state_file)
            shown = os.path.basename(e.path) if in_dir else e.path
            lines.append(f"  {shown}" + (f"  ({', '.join(marks)})" if marks else ""))
    return lines


def render_text(info: CheckpointInfo, name_width: int | None = None) -> str:
    """The header, a table of every tensor sorted by name, and the totals."""
    sharded = info.num_shards > 1
    header = ["name", "dtype", "shape", "elements", "bytes"] + (["shard"] if sharded else [])
    rows = []
    for t in info.tensors:
        row = [_shorten(display_name(t.name), name_width), t.dtype_name, _shape_text(t.shape),
               str(t.elements), "-" if t.nbytes is None else str(t.nbytes)]
        if sharded:
            row.append(",".join(str(s) for s in sorted({p.shard for p in t.parts})))
        rows.append(row + [_note(t)])
    table = format_table(header + ["note"], rows, right={3, 4})
    totals = (f"total: {plural(len(info.tensors), 'tensor')}, "
              f"{plural(info.parameters, 'parameter')}, {plural(info.nbytes, 'byte')} "
              f"({human_bytes(info.nbytes)})")
    return "\n".join(_header_lines(info) + [""] + table + ["", totals]) + "\n"


def info_json(info: CheckpointInfo) -> dict:
    tensors = []
    for t in info.tensors:
        item = {"name": t.name, "dtype": t.dtype_name, "dtype_enum": t.dtype_enum,
                "shape": list(t.shape),
                "elements": t.elements, "bytes": t.nbytes, "partitioned": t.partitioned,
                "parts": [dataclasses.asdict(p) for p in t.parts]}
        tensors.append(item)
    return {
        "path": info.path, "prefix": info.prefix, "version": info.version,
        "format": info.format, "object_based": info.object_based,
        "num_shards": info.num_shards,
        "data_files": [{"path": p, "bytes": s} for p, s in info.data_files],
        "state_file": info.state_file,
        "state": [dataclasses.asdict(e) for e in info.state],
        "tensors": tensors,
        "totals": {"tensors": len(info.tensors), "parameters": info.parameters,
                   "bytes": info.nbytes, "human": human_bytes(info.nbytes)},
    }


# --- the command -----------------------------------------------------------------------------

def run(args: argparse.Namespace) -> int:
    """Prints the summary, or the values / object graph asked for; returns the exit code."""
    if is_meta_path(args.path) and not args.tensor and not args.object_graph:
        # Imported here: a checkpoint's summary needs no graph protos (graph_protos.py).
        from flowsaver.cli import meta_cmd
        return meta_cmd.run(args.path, args.json)
    with open_checkpoint(args.path) as opened:
        info = describe(opened)
        dtypes_by_name = {t.name: t.dtype for t in info.tensors}
        values = {name: read_tensor(opened, name) for name in args.tensor}
        graph = read_object_graph(opened) if args.object_graph else None
    if args.json:
        doc = info_json(info)
        if values:
            doc["values"] = {n: value_json(v, dtypes_by_name[n]) for n, v in values.items()}
        if graph is not None:
            doc["object_graph"] = object_graph_json(graph)
        sys.stdout.write(dump_json(doc))
        return 0
    if not values and graph is None:
        sys.stdout.write(render_text(info, args.name_width))
        return 0
    out = []
    for name, value in values.items():
        dtype = dtypes_by_name[name]
        shape = _shape_text(np.shape(_as_array(value)))
        out += [f"{display_name(name)}  {dtype.name} {shape}",
                format_value(value, dtype, args.full), ""]
    if graph is not None:
        out += object_graph_lines(graph)
    sys.stdout.write("\n".join(out).rstrip("\n") + "\n")
    return 0


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser(
        "inspect", parents=parents, help="list the tensors of a checkpoint",
        description="List a checkpoint's tensors (name, dtype, shape, elements, bytes in "
                    "the data files) with totals, reading only its index.")
    p.add_argument("path", metavar="PATH",
                   help="a checkpoint prefix, a directory (its latest checkpoint), a "
                        ".index, .data-* or V1 checkpoint file; or a .meta/.pbtxt "
                        "metagraph, for its inputs, outputs, variables and op types "
                        "(with --tensor, a .meta path stands for its checkpoint)")
    p.add_argument("-t", "--tensor", action="append", default=[], metavar="NAME",
                   help="print the values of tensor NAME instead of the table (repeatable)")
    p.add_argument("--full", action="store_true",
                   help=f"print every value (default: arrays of more than "
                        f"{PRINT_THRESHOLD} elements show only their corners)")
    p.add_argument("--object-graph", action="store_true",
                   help="print the object tree of a TF2 (tf.train.Checkpoint) checkpoint")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document with the same information; with --tensor "
                        "it adds every value of those tensors. Floats NaN, +inf and -inf "
                        "are written as the strings \"nan\", \"inf\", \"-inf\"; string "
                        "elements as Python bytes reprs (\"b'abc'\"); complex numbers as "
                        "[real, imag]")
    p.add_argument("--name-width", type=int, metavar="N",
                   help="shorten names longer than N characters in the table "
                        "(default: never)")
    p.set_defaults(run=run)
