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
import re
import sys

import numpy as np

from flowsaver import errors
from flowsaver.cli.common import (OpenedCheckpoint, display_name, dump_json, format_table,
                                  human_bytes, is_graph_path, open_checkpoint, plural,
                                  saved_model_directory,
                                  read_object_graph, read_tensor)
from flowsaver.cli.object_tree import object_graph_json, object_graph_lines
from flowsaver.cli.tensor_stats import TensorStats, tensor_stats
from flowsaver.cli.values import (PRINT_THRESHOLD, as_array, format_value, json_float,
                                  value_json)
from flowsaver.format import dtypes, storage
from flowsaver.format.bundle_read import index_filename, name_to_key, num_elements
from flowsaver.format.dtypes import DType
from flowsaver.format.protos import DATA_TYPES
from flowsaver.format.reader import OBJECT_GRAPH_KEY
from flowsaver.format.slices import TensorSlice, encode_tensor_name_slice
from flowsaver.format.state import (checkpoint_exists, checkpoint_state_filename,
                                    get_checkpoint_state)

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
    # complete checkpoints (index present) in the directory that its state file does not
    # list: kept on purpose (write_state=False, keep_checkpoint_every_n_hours) or left by
    # a save killed during retention, which the family's next save deletes
    unlisted: tuple[str, ...] = ()

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
        return storage.getsize(path)
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


def _unlisted(directory: str, state: tuple) -> tuple[str, ...]:
    """Names of the complete checkpoints in ``directory`` that ``state`` does not list
    (by name: a state file may hold paths from another machine)."""
    try:
        names = storage.listdir(directory)
    except OSError:
        return ()
    listed = {os.path.basename(e.path) for e in state}
    found = (n[:-len(".index")] for n in names if n.endswith(".index"))
    return tuple(sorted(n for n in found if n and n not in listed))


def describe(opened: OpenedCheckpoint) -> CheckpointInfo:
    """Everything `inspect` shows, from the index (and the state file for a directory)."""
    names = sorted(opened.reader.names())
    raw = opened.bundle.raw_entries() if opened.bundle is not None else {}
    state_file, state = (_state_entries(opened.path) if storage.isdir(opened.path)
                         else (None, ()))
    unlisted = _unlisted(opened.path, state) if state_file else ()
    return CheckpointInfo(
        path=opened.path, prefix=opened.prefix, version=opened.version,
        object_based=OBJECT_GRAPH_KEY in names,
        num_shards=len(opened.data_files),
        data_files=tuple((f, _file_size(f)) for f in opened.data_files),
        state_file=state_file, state=state,
        tensors=tuple(_tensor_info(opened, n, raw) for n in names), unlisted=unlisted)


# --- text and JSON output --------------------------------------------------------------------

def _shorten(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    keep = max(width - len(ELLIPSIS), 2)
    return text[:keep - keep // 2] + ELLIPSIS + text[len(text) - keep // 2:]


def _shape_text(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _note(t: TensorInfo) -> str:
    notes = [] if t.dtype is not None else ["dtype not supported by flowsaver"]
    if t.partitioned:
        stored = sum(p.elements for p in t.parts)
        partial = "" if stored == t.elements else f", {stored} of {t.elements} elements stored"
        notes.append(f"partitioned ({plural(len(t.parts), 'slice')}{partial})")
    return "; ".join(notes)


def _time_text(stamp: float) -> str:
    """A state-file timestamp (seconds since the epoch) as UTC time. A value no clock can
    show (NaN, infinite, milliseconds by mistake, past year 9999) is shown as the number
    it is: one odd entry must not hide the rest of the listing."""
    try:
        return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).isoformat(
            sep=" ", timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return f"timestamp {stamp!r} is not a valid time"


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
        for name in info.unlisted:
            lines.append(f"  {name}  (complete, not in the state file)")
    return lines


@dataclasses.dataclass(frozen=True)
class View:
    """How to show the table: order, tensors left out of the totals, statistics."""

    sort: str = "name"                        # "name" or "size" (largest first)
    exclude: tuple = ()                       # compiled regexes (re.search), as TF's
                                              # inspector's count_exclude_pattern
    stats: dict | None = None                 # {name: TensorStats or None}

    def excluded(self, name: str) -> bool:
        return any(p.search(name) for p in self.exclude)

    def order(self, tensors) -> list[TensorInfo]:
        if self.sort == "size":
            return sorted(tensors, key=lambda t: (-(t.nbytes or 0), -t.elements, t.name))
        return list(tensors)


@dataclasses.dataclass(frozen=True)
class Totals:
    tensors: int
    parameters: int
    nbytes: int
    excluded_tensors: int
    excluded_parameters: int


def totals(info: CheckpointInfo, view: View) -> Totals:
    """Totals over the tensors ``view`` does not exclude (bytes: see CheckpointInfo)."""
    left_out = [t for t in info.tensors if view.excluded(t.name)]
    nbytes = info.nbytes if info.version == 1 or not left_out else \
        sum(t.nbytes or 0 for t in info.tensors if not view.excluded(t.name))
    excluded_parameters = sum(t.elements for t in left_out if t.numeric)
    return Totals(len(info.tensors) - len(left_out), info.parameters - excluded_parameters,
                  nbytes, len(left_out), excluded_parameters)


def _stat_cells(stats: TensorStats | None) -> list[str]:
    if stats is None:
        return ["-"] * 6
    return [_num(stats.min), _num(stats.max), _num(stats.mean), _num(stats.std),
            str(stats.nan), str(stats.inf)]


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"


def render_text(info: CheckpointInfo, name_width: int | None = None,
                view: View = View()) -> str:
    """The header, a table of every tensor (by name, or largest first), and the totals."""
    sharded = info.num_shards > 1
    header = ["name", "dtype", "shape", "elements", "bytes"] + (["shard"] if sharded else [])
    stat_header = ["min", "max", "mean", "std", "nan", "inf"] if view.stats is not None \
        else []
    rows = []
    for t in view.order(info.tensors):
        row = [_shorten(display_name(t.name), name_width), t.dtype_name, _shape_text(t.shape),
               str(t.elements), "-" if t.nbytes is None else str(t.nbytes)]
        if sharded:
            row.append(",".join(str(s) for s in sorted({p.shard for p in t.parts})))
        if view.stats is not None:
            row += _stat_cells(view.stats.get(t.name))
        note = _note(t)
        if view.excluded(t.name):
            note = "; ".join(filter(None, [note, "not counted in the totals"]))
        rows.append(row + [note])
    right = {3, 4} | set(range(len(header), len(header) + len(stat_header)))
    table = format_table(header + stat_header + ["note"], rows, right=right)
    total = totals(info, view)
    lines = []
    if view.exclude:
        patterns = " or ".join(p.pattern for p in view.exclude)
        lines.append(f"excluding {plural(total.excluded_tensors, 'tensor')} "
                     f"({plural(total.excluded_parameters, 'parameter')}) matching "
                     f"{patterns} from the totals")
    lines.append(f"total: {plural(total.tensors, 'tensor')}, "
                 f"{plural(total.parameters, 'parameter')}, {plural(total.nbytes, 'byte')} "
                 f"({human_bytes(total.nbytes)})")
    return "\n".join(_header_lines(info) + [""] + table + [""] + lines) + "\n"


def info_json(info: CheckpointInfo, view: View = View()) -> dict:
    tensors = []
    for t in view.order(info.tensors):
        item = {"name": t.name, "dtype": t.dtype_name, "dtype_enum": t.dtype_enum,
                "shape": list(t.shape),
                "elements": t.elements, "bytes": t.nbytes, "partitioned": t.partitioned,
                "parts": [dataclasses.asdict(p) for p in t.parts]}
        if view.exclude:
            item["excluded_from_totals"] = view.excluded(t.name)
        if view.stats is not None:
            stats = view.stats.get(t.name)
            item["stats"] = None if stats is None else _stats_json(stats)
        tensors.append(item)
    total = totals(info, view)
    return {
        "path": info.path, "prefix": info.prefix, "version": info.version,
        "format": info.format, "object_based": info.object_based,
        "num_shards": info.num_shards,
        "data_files": [{"path": p, "bytes": s} for p, s in info.data_files],
        "state_file": info.state_file,
        "state": [dict(dataclasses.asdict(e), timestamp=None if e.timestamp is None
                       else json_float(e.timestamp)) for e in info.state],
        "unlisted_checkpoints": list(info.unlisted),
        "tensors": tensors,
        "totals": {"tensors": total.tensors, "parameters": total.parameters,
                   "bytes": total.nbytes, "human": human_bytes(total.nbytes),
                   "excluded_tensors": total.excluded_tensors,
                   "excluded_parameters": total.excluded_parameters},
    }


def _stats_json(stats: TensorStats) -> dict:
    # Finite by construction (taken over finite values), so plain JSON numbers.
    return stats.as_json()


def _read_stats(opened: OpenedCheckpoint, info: CheckpointInfo) -> dict:
    """Statistics of every numeric tensor, read one at a time."""
    return {t.name: tensor_stats(read_tensor(opened, t.name)) if t.numeric else None
            for t in info.tensors}


# --- the command -----------------------------------------------------------------------------

def run(args: argparse.Namespace) -> int:
    """Prints the summary, or the values / object graph asked for; returns the exit code."""
    saved_model = saved_model_directory(args.path)
    if saved_model and not args.tensor and not args.object_graph:
        from flowsaver.cli import saved_model_cmd
        return saved_model_cmd.run(saved_model, args.json, args.tag_set, args.signature_def)
    if is_graph_path(args.path) and not args.tensor and not args.object_graph:
        # Imported here: a checkpoint's summary needs no graph protos (graph_protos.py).
        from flowsaver.cli import meta_cmd
        return meta_cmd.run(args.path, args.json)
    exclude = tuple(_compile(p) for p in args.exclude)
    with open_checkpoint(args.path) as opened:
        info = describe(opened)
        dtypes_by_name = {t.name: t.dtype for t in info.tensors}
        values = {name: read_tensor(opened, name) for name in args.tensor}
        graph = read_object_graph(opened) if args.object_graph else None
        stats = _read_stats(opened, info) if args.stats else None
    view = View(args.sort, exclude, stats)
    if args.json:
        doc = info_json(info, view)
        if values:
            doc["values"] = {n: value_json(v, dtypes_by_name[n]) for n, v in values.items()}
        if graph is not None:
            doc["object_graph"] = object_graph_json(graph)
        sys.stdout.write(dump_json(doc))
        return 0
    if not values and graph is None:
        sys.stdout.write(render_text(info, args.name_width, view))
        return 0
    out = []
    for name, value in values.items():
        dtype = dtypes_by_name[name]
        shape = _shape_text(np.shape(as_array(value)))
        out += [f"{display_name(name)}  {dtype.name} {shape}",
                format_value(value, dtype, args.full), ""]
    if graph is not None:
        out += object_graph_lines(graph)
    sys.stdout.write("\n".join(out).rstrip("\n") + "\n")
    return 0


def _compile(pattern: str):
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise errors.InvalidArgumentError(f"--exclude {pattern!r}: {exc}") from None


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser(
        "inspect", parents=parents, help="list the tensors of a checkpoint",
        description="List a checkpoint's tensors (name, dtype, shape, elements, bytes in "
                    "the data files) with totals, reading only its index.")
    p.add_argument("path", metavar="PATH",
                   help="a checkpoint prefix, a directory (its latest checkpoint), a "
                        ".index, .data-* or V1 checkpoint file; a SavedModel directory, "
                        "for what `saved_model_cli show --all` shows and its variables; "
                        "or a .meta/.pbtxt metagraph or .pb/.pbtxt GraphDef, for its "
                        "inputs, outputs, variables and op types (with --tensor, a .meta "
                        "path stands for its checkpoint, a SavedModel for its variables)")
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
    p.add_argument("--exclude", action="append", default=[], metavar="REGEX",
                   help="leave tensors matching REGEX (re.search) out of the totals, as "
                        "TensorFlow's inspector's count_exclude_pattern (repeatable)")
    p.add_argument("--stats", action="store_true",
                   help="add min, max, mean, std of the finite values and NaN/Inf counts "
                        "per tensor (reads every tensor, one at a time)")
    p.add_argument("--sort", choices=("name", "size"), default="name",
                   help="table order: by name (default) or largest first")
    p.add_argument("--tag_set", "--tag-set", metavar="TAGS",
                   help="with a SavedModel: show only the MetaGraph with these "
                        "comma-separated tags (saved_model_cli's --tag_set)")
    p.add_argument("--signature_def", "--signature-def", metavar="KEY",
                   help="with a SavedModel and --tag_set: show only this signature")
    p.add_argument("--name-width", type=int, metavar="N",
                   help="shorten names longer than N characters in the table "
                        "(default: never)")
    p.set_defaults(run=run)
