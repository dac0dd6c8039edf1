"""`flowsaver verify`: read every byte a checkpoint's index points at, and check it.

Each tensor, and each stored slice of a partitioned one, in every shard, is read through the
format layer's reader, which checks the entry's dtype and shape, its offset and size against
the data file, the CRC32C of its bytes, and for strings and variants their lengths and
element checksums. A failure makes the tensor *bad* (exit code 1).

Then come checks that give *warnings*, since TensorFlow never writes such files but reads
them without complaint: data-file bytes no entry covers (gaps), entries that overlap, data
files the index does not account for, partitioned tensors whose slices do not cover them,
orphaned slice entries, and object-graph keys with no tensor. `--strict` makes warnings
count as failures.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys

from flowsaver import errors
from flowsaver.cli.common import (OpenedCheckpoint, display_name, dump_json,
                                  open_checkpoint, plural, read_object_graph)
from flowsaver.format.bundle_read import (BundleReader, data_filename, index_filename,
                                          key_to_name, name_to_key, num_elements)
from flowsaver.format import storage
from flowsaver.format.coding import CorruptionError
from flowsaver.format.reader import OBJECT_GRAPH_KEY
from flowsaver.format.slices import (TensorSlice, decode_tensor_name_slice,
                                     encode_tensor_name_slice)

EXIT_OK = 0
EXIT_BAD = 1


@dataclasses.dataclass(frozen=True)
class BadTensor:
    tensor: str
    part: str | None       # the stored slice, for a partitioned tensor
    error: str
    error_type: str

    @property
    def label(self) -> str:
        return self.tensor + (f"[{self.part}]" if self.part is not None else "")


@dataclasses.dataclass(frozen=True)
class VerifyWarning:
    file: str
    message: str


@dataclasses.dataclass
class VerifyResult:
    prefix: str
    version: int
    num_shards: int
    tensors: int = 0
    nbytes: int = 0
    bad: list[BadTensor] = dataclasses.field(default_factory=list)
    warnings: list[VerifyWarning] = dataclasses.field(default_factory=list)

    @property
    def bad_tensors(self) -> int:
        return len({b.tensor for b in self.bad})

    def summary(self) -> str:
        line = (f"verified {plural(self.tensors, 'tensor')} ({self.nbytes} bytes) in "
                f"{plural(self.num_shards, 'shard')}: {self.bad_tensors} bad")
        return line + (f", {plural(len(self.warnings), 'warning')}" if self.warnings else "")


# What reading a damaged tensor raises: the format layer's typed errors, or the OS's.
READ_ERRORS = (errors.OpError, OSError)


def _bad(tensor: str, part: str | None, exc: Exception) -> BadTensor:
    return BadTensor(tensor, part, str(exc), type(exc).__name__)


def _read(result: VerifyResult, tensor: str, part: str | None, read):
    """Runs `read()`; a failure is recorded against the tensor. Returns the value or None."""
    try:
        return read()
    except READ_ERRORS as exc:
        result.bad.append(_bad(tensor, part, exc))
        return None


# --- V2 --------------------------------------------------------------------------------------

def _slice_label(key: bytes) -> str:
    name, tslice = decode_tensor_name_slice(key)
    return f"{key_to_name(name)}[{tslice}]"


def _verify_partitioned(bundle: BundleReader, name: str, entry, raw: dict,
                        result: VerifyResult) -> None:
    index = index_filename(bundle.prefix)
    shape = _read(result, name, None, lambda: bundle.shape(name))
    if shape is None:
        return
    reported: set[str] = set()
    covered, failed = 0, False
    for proto in entry.slices:
        tslice = TensorSlice.from_proto(proto)   # checked when the index was opened
        stored = raw.get(encode_tensor_name_slice(name_to_key(name), tslice))
        result.nbytes += stored.size if stored is not None else 0
        try:
            bundle.get_slice(name, tslice)
        except READ_ERRORS as exc:
            failed = True
            if str(exc) not in reported:   # overlapping slices fail every slice alike
                reported.add(str(exc))
                result.bad.append(_bad(name, str(tslice), exc))
            continue
        covered += num_elements(n for _, n in tslice.resolve(shape))
    if not failed and covered != num_elements(shape):
        result.warnings.append(VerifyWarning(index, (
            f"partitioned tensor {display_name(name)!r} {list(shape)}: its "
            f"{len(entry.slices)} stored slices cover {covered} of {num_elements(shape)} "
            f"elements; reading it whole fails, reading by slice works")))


def _orphan(bundle: BundleReader, name: str, result: VerifyResult) -> None:
    """An index entry under a slice key that no tensor lists."""
    index = index_filename(bundle.prefix)
    try:
        label = _slice_label(name_to_key(name))
    except CorruptionError as exc:
        result.bad.append(BadTensor(display_name(name), None, f"{index}: index key is not "
                                    f"a valid slice key: {exc}", "DataLossError"))
        return
    result.warnings.append(VerifyWarning(
        index, f"slice entry {display_name(label)} is listed by no tensor entry"))
    result.nbytes += bundle.entry(name).size
    _read(result, label, None, lambda: bundle.get_tensor(name))


def _check_object_graph(opened: OpenedCheckpoint, value, names: set[str],
                        result: VerifyResult) -> None:
    graph = _read(result, OBJECT_GRAPH_KEY, None, lambda: read_object_graph(opened, value))
    if graph is None:
        return
    for i, node in enumerate(graph.nodes):
        for attr in node.attributes:
            if attr.checkpoint_key not in names:
                result.warnings.append(VerifyWarning(index_filename(opened.prefix), (
                    f"object graph node #{i} names checkpoint key {attr.checkpoint_key!r}, "
                    f"which the index does not hold")))


def _gap(path: str, start: int, stop: int) -> VerifyWarning:
    return VerifyWarning(path, f"{stop - start} bytes at offset {start} are not covered by "
                               f"any index entry")


def _file_layout(path: str, runs: list[tuple[int, int, bytes]]) -> list[VerifyWarning]:
    """Gaps and overlaps among the byte runs `(start, stop, key)` of one data file."""
    if not storage.isfile(path):
        return [VerifyWarning(path, "data file is missing")]
    size = storage.getsize(path)
    found = []
    end, last = 0, None
    for start, stop, key in sorted(runs):
        if start > end and end < size:   # a run past the end is already a bad tensor
            found.append(_gap(path, end, min(start, size)))
        elif start < end:
            found.append(VerifyWarning(path, f"{_label(key)} (bytes {start}..{stop}) "
                                             f"overlaps {_label(last)}"))
        if stop > end:
            end, last = stop, key
    if end < size:
        found.append(_gap(path, end, size))
    return found


def _layout_warnings(bundle: BundleReader, raw: dict) -> list[VerifyWarning]:
    """Gaps and overlaps in each data file, and data files the index does not name."""
    num_shards = bundle.header.num_shards
    runs: dict[int, list[tuple[int, int, bytes]]] = {i: [] for i in range(num_shards)}
    for key, entry in raw.items():
        if not entry.slices and entry.size > 0:
            runs[entry.shard_id].append((entry.offset, entry.offset + entry.size, key))
    expected = [data_filename(bundle.prefix, i, num_shards) for i in range(num_shards)]
    found = [w for i, path in enumerate(expected) for w in _file_layout(path, runs[i])]
    for path in _data_files_beside(bundle.prefix):
        if path not in expected:
            found.append(VerifyWarning(path, f"data file is not part of this checkpoint, "
                                             f"whose index names {num_shards} shards"))
    return found


def _data_files_beside(prefix: str) -> list[str]:
    """Files named like data files of ``prefix`` (``P.data-?????-of-?????``), sorted."""
    directory, base = os.path.split(prefix)
    try:
        names = storage.listdir(directory or ".")
    except OSError:
        return []
    data = re.compile(re.escape(base) + r"\.data-[^/]{5}-of-[^/]{5}", re.DOTALL)
    return sorted(os.path.join(directory, n) for n in names if data.fullmatch(n))


def _label(key: bytes) -> str:
    """How an index key reads in a message: `emb[0,2:-]` for a slice key, else the name."""
    if key.startswith(b"\x00"):
        try:
            return display_name(_slice_label(key))
        except CorruptionError:
            return repr(key)   # a malformed slice key: its bytes are all there is to show
    return repr(display_name(key_to_name(key)))


def verify_v2(opened: OpenedCheckpoint) -> VerifyResult:
    bundle = opened.bundle
    raw = bundle.raw_entries()
    names = bundle.names()
    result = VerifyResult(opened.prefix, opened.version, bundle.header.num_shards)
    graph_value = None
    for name in names:
        if name.startswith("\x00"):   # TensorFlow names never hold NUL; slice keys do
            _orphan(bundle, name, result)
            continue
        result.tensors += 1
        entry = raw[name_to_key(name)]
        if entry.slices:
            _verify_partitioned(bundle, name, entry, raw, result)
            continue
        result.nbytes += entry.size
        value = _read(result, name, None, lambda: bundle.get_tensor(name))
        if name == OBJECT_GRAPH_KEY:
            graph_value = value
    if graph_value is not None:
        _check_object_graph(opened, graph_value, set(names), result)
    result.warnings += _layout_warnings(bundle, raw)
    return result


# --- V1 --------------------------------------------------------------------------------------

def verify_v1(opened: OpenedCheckpoint) -> VerifyResult:
    """V1 tables keep tensors inside the table: reading each checks its block CRCs."""
    result = VerifyResult(opened.prefix, opened.version, len(opened.data_files))
    result.nbytes = sum(storage.getsize(f) for f in opened.data_files)
    for name in opened.reader.names():
        result.tensors += 1
        _read(result, name, None, lambda: opened.reader.get_tensor(name))
    return result


# --- the command -----------------------------------------------------------------------------

def verify(path: str) -> VerifyResult:
    """Reads and checks everything in the checkpoint at `path` (any accepted path form).

    Raises:
      OpError: the checkpoint cannot be opened at all (no index, or an unreadable one).
    """
    with open_checkpoint(path) as opened:
        return verify_v2(opened) if opened.bundle is not None else verify_v1(opened)


def result_json(result: VerifyResult, strict: bool) -> dict:
    return {"prefix": result.prefix, "version": result.version,
            "num_shards": result.num_shards, "tensors": result.tensors,
            "bytes": result.nbytes, "ok": _exit_code(result, strict) == EXIT_OK,
            "bad": [dict(dataclasses.asdict(b), label=b.label) for b in result.bad],
            "warnings": [dataclasses.asdict(w) for w in result.warnings]}


def _exit_code(result: VerifyResult, strict: bool) -> int:
    return EXIT_BAD if result.bad or (strict and result.warnings) else EXIT_OK


def run(args: argparse.Namespace) -> int:
    result = verify(args.path)
    if args.json:
        sys.stdout.write(dump_json(result_json(result, args.strict)))
        return _exit_code(result, args.strict)
    lines = [f"BAD {display_name(b.label)}: {b.error}" for b in result.bad]
    lines += [f"WARNING {w.file}: {w.message}" for w in result.warnings]
    sys.stdout.write("\n".join(lines + [result.summary()]) + "\n")
    return _exit_code(result, args.strict)


def add_parser(subparsers, parents) -> None:
    p = subparsers.add_parser(
        "verify", parents=parents, help="read and check every tensor of a checkpoint",
        description="Read every index entry and every tensor (each slice, every shard) of a "
                    "checkpoint and check sizes, offsets and checksums. Prints one line per "
                    "bad tensor, warnings for unaccounted bytes, and a summary. Exit code 0: "
                    "all good; 1: bad tensors; 2: the checkpoint cannot be opened.")
    p.add_argument("path", metavar="PATH",
                   help="a checkpoint prefix, a directory (its latest checkpoint), or a "
                        ".index, .data-*, .meta or V1 checkpoint file")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document: counts, bad tensors and warnings")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 on warnings too (gaps, overlaps, partial partitions, ...)")
    p.set_defaults(run=run)
