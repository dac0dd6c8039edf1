"""Reading and writing ``.safetensors`` files, with NumPy alone.

Byte layout (Hugging Face's safetensors format; all integers little-endian):

    offset 0        u64 N           length of the header in bytes
    offset 8        N bytes         JSON object, UTF-8; may end in spaces (padding)
                                      "__metadata__": {str: str}          (optional)
                                      NAME: {"dtype": "F32", "shape": [d0, d1, ...],
                                             "data_offsets": [BEGIN, END]}
    offset 8 + N    data buffer     tensor bytes, C order, little-endian; BEGIN and END
                                    are relative to the start of this buffer

The tensors must cover the data buffer exactly, with neither gaps nor overlaps, as the
safetensors library checks. We write the header padded with spaces to a multiple of
HEADER_ALIGN bytes and the tensors in the library's own order (WRITE_ORDER: by dtype,
widest first, then by name), so that every tensor starts at a multiple of its element
size and the same tensors give the same bytes as the library's ``save_file``.

Every length and offset read from a file is checked before use (against the file's size,
the header cap and the tensor's dtype and shape); each problem is a DataLossError naming
the file and, where there is one, the tensor.
"""
from __future__ import annotations

import dataclasses
import json
import mmap as _mmap
import os
import struct

import numpy as np

from flowsaver import errors
from flowsaver.format import dtypes
from flowsaver.format.atomic import discard, uuid_temp_suffix
from flowsaver.format.files import CommitOnExit, open_regular_file, read_exactly
from flowsaver.format.slices import num_elements

HEADER_LENGTH_BYTES = 8          # the leading u64
HEADER_ALIGN = 8                 # we pad the JSON header to this multiple, as the library
MAX_HEADER_BYTES = 100_000_000   # the safetensors library refuses larger headers
MAX_RANK = 254                   # TensorFlow's limit; no real file comes near it
METADATA_KEY = "__metadata__"
_U64 = struct.Struct("<Q")

# safetensors dtype code <-> TensorFlow DataType name, for the types both know.
CODE_TO_TF = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
    "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8",
    "BOOL": "bool", "C64": "complex64",
    "F8_E5M2": "float8_e5m2", "F8_E4M3": "float8_e4m3fn",
}
TF_TO_CODE = {tf_name: code for code, tf_name in CODE_TO_TF.items()}
# The library writes tensors sorted by dtype in this order, last first, then by name.
WRITE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32",
               "U32", "F32", "C64", "F64", "I64", "U64"]
_RANK = {code: rank for rank, code in enumerate(WRITE_ORDER)}


def code_of(dtype: dtypes.DType) -> str | None:
    """The safetensors dtype code of a TensorFlow dtype; None when safetensors has none."""
    return TF_TO_CODE.get(dtype.name)


@dataclasses.dataclass(frozen=True)
class SafetensorsEntry:
    """One tensor listed in a header. ``dtype`` is None for a code flowsaver cannot hold."""

    name: str
    code: str
    dtype: dtypes.DType | None
    shape: tuple[int, ...]
    begin: int      # relative to the data buffer
    end: int


# --- reading ---------------------------------------------------------------------------------

def _bad(path: str, what: str, name: str | None = None) -> errors.DataLossError:
    where = f"tensor {name!r} in {path}" if name is not None else path
    return errors.DataLossError(f"{where}: {what}")


def _parse_entry(path: str, name: str, item, data_len: int) -> SafetensorsEntry:
    if not isinstance(item, dict):
        raise _bad(path, "header entry is not a JSON object", name)
    code, shape, offsets = item.get("dtype"), item.get("shape"), item.get("data_offsets")
    if not isinstance(code, str):
        raise _bad(path, f"dtype {code!r} is not a string", name)
    if not isinstance(shape, list) or len(shape) > MAX_RANK or \
            any(type(d) is not int or d < 0 for d in shape):
        raise _bad(path, f"shape {shape!r} is not a list of non-negative integers", name)
    if not isinstance(offsets, list) or len(offsets) != 2 or \
            any(type(o) is not int for o in offsets):
        raise _bad(path, f"data_offsets {offsets!r} is not [begin, end]", name)
    begin, end = offsets
    if not 0 <= begin <= end <= data_len:
        raise _bad(path, f"data_offsets [{begin}, {end}] lie outside the data buffer "
                         f"({data_len} bytes)", name)
    tf_name = CODE_TO_TF.get(code)
    dtype = dtypes.BY_NAME[tf_name] if tf_name else None
    if dtype is not None:
        count = num_elements(shape)
        if count > dtypes.MAX_ARRAY_ELEMENTS or count * dtype.numpy.itemsize != end - begin:
            raise _bad(path, f"{end - begin} bytes cannot hold a {code} tensor of shape "
                             f"{shape}", name)
    return SafetensorsEntry(name, code, dtype, tuple(shape), begin, end)


def read_header(fd: int, path: str, file_size: int):
    """``(entries by name, metadata, data start)`` of an open file, every field checked."""
    if file_size < HEADER_LENGTH_BYTES:
        raise _bad(path, f"{file_size} bytes is too short for a safetensors file")
    raw = bytearray(HEADER_LENGTH_BYTES)
    read_exactly(fd, memoryview(raw), 0, "header length", path)
    (length,) = _U64.unpack(raw)
    if length > MAX_HEADER_BYTES or length > file_size - HEADER_LENGTH_BYTES:
        raise _bad(path, f"header length {length} exceeds the file ({file_size} bytes) or "
                         f"the {MAX_HEADER_BYTES}-byte limit")
    text = bytearray(length)
    read_exactly(fd, memoryview(text), HEADER_LENGTH_BYTES, "header", path)
    try:
        header = json.loads(bytes(text).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(path, f"header is not UTF-8 JSON: {exc}") from None
    if not isinstance(header, dict):
        raise _bad(path, "header is not a JSON object")
    metadata = header.pop(METADATA_KEY, None) or {}
    if not isinstance(metadata, dict) or \
            any(not isinstance(v, str) for v in metadata.values()):
        raise _bad(path, f"{METADATA_KEY} is not an object of strings")
    start = HEADER_LENGTH_BYTES + length
    data_len = file_size - start
    entries = {name: _parse_entry(path, name, item, data_len) for name, item in header.items()}
    covered = 0
    for e in sorted(entries.values(), key=lambda e: (e.begin, e.end)):
        if e.begin != covered:
            what = "overlaps the tensor before it" if e.begin < covered else \
                f"leaves bytes {covered}..{e.begin} of the data buffer unused"
            raise _bad(path, f"data_offsets [{e.begin}, {e.end}] {what}", e.name)
        covered = e.end
    if covered != data_len:
        raise _bad(path, f"the tensors cover {covered} of the {data_len} bytes of the data "
                         f"buffer")
    return entries, metadata, start


class SafetensorsReader:
    """The tensors of one ``.safetensors`` file; opening reads only the header.

    With ``mmap=True``, ``get_tensor`` returns read-only views of a memory map of the file
    instead of reading each tensor into a fresh array.

    Example:
      >>> with SafetensorsReader("model.safetensors") as r:
      ...     w = r.get_tensor("dense.weight")
    """

    def __init__(self, path, mmap: bool = False):
        self.path = os.fspath(path)
        self._fd = open_regular_file(self.path)
        self._map = None
        try:
            self.file_size = os.fstat(self._fd).st_size
            self.entries, self.metadata, self._start = read_header(self._fd, self.path,
                                                                    self.file_size)
            if mmap and self.file_size > self._start:
                self._map = _mmap.mmap(self._fd, 0, access=_mmap.ACCESS_READ)
        except BaseException:
            os.close(self._fd)
            raise

    def names(self) -> list[str]:
        """Tensor names, sorted."""
        return sorted(self.entries)

    def entry(self, name: str) -> SafetensorsEntry:
        try:
            return self.entries[name]
        except KeyError:
            raise errors.NotFoundError(f"tensor {name!r} not found in {self.path}") from None

    def get_tensor(self, name: str) -> np.ndarray:
        """The tensor as an array (a read-only view of the map when opened with mmap)."""
        e = self.entry(name)
        if e.dtype is None:
            raise errors.UnimplementedError(f"tensor {name!r} in {self.path}: safetensors "
                                            f"dtype {e.code} has no TensorFlow dtype")
        dtypes.check_array_rank(e.shape, f"tensor {name!r} in {self.path}")
        size = e.end - e.begin
        if self._map is not None and size:
            buf = np.frombuffer(self._map, np.uint8, size, self._start + e.begin)
        else:
            buf = np.empty(size, np.uint8)
            read_exactly(self._fd, memoryview(buf), self._start + e.begin,
                         f"tensor {name!r}", self.path)
        array = buf.view(e.dtype.numpy.newbyteorder("<")).reshape(e.shape)
        return array if np.little_endian else array.astype(e.dtype.numpy)

    def close(self) -> None:
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:   # views are still alive; they keep the map open
                pass
            self._map = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "SafetensorsReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- writing ---------------------------------------------------------------------------------

def header_bytes(specs, metadata: dict | None) -> tuple[bytes, list[tuple[str, int]]]:
    """The padded header for ``[(name, dtype, shape)]``; returns it and the write order
    as ``[(name, nbytes)]``.

    Raises:
      InvalidArgumentError: a dtype safetensors cannot hold, or a repeated name.
    """
    order = sorted(specs, key=lambda s: (-_RANK.get(code_of(s[1]), -1), s[0]))
    header: dict = {}
    if metadata:
        header[METADATA_KEY] = {str(k): str(v) for k, v in metadata.items()}
    offset, plan = 0, []
    for name, dtype, shape in order:
        code = code_of(dtype)
        if code is None:
            raise errors.InvalidArgumentError(f"tensor {name!r}: safetensors cannot hold "
                                              f"dtype {dtype.name}")
        if name in header or name == METADATA_KEY:
            raise errors.InvalidArgumentError(f"tensor name {name!r} is used twice")
        nbytes = num_elements(shape) * dtype.numpy.itemsize
        header[name] = {"dtype": code, "shape": [int(d) for d in shape],
                        "data_offsets": [offset, offset + nbytes]}
        plan.append((name, nbytes))
        offset += nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-(len(text) + HEADER_LENGTH_BYTES) % HEADER_ALIGN)
    return _U64.pack(len(text)) + text, plan


class SafetensorsWriter(CommitOnExit):
    """Writes one ``.safetensors`` file tensor by tensor, in bounded memory.

    The header needs every tensor's dtype and shape, so they are given first; the tensors
    then follow in ``order`` (the library's: widest dtype first, then by name). Each may come as
    one array or as C-order pieces. The file appears under its name only when finish()
    succeeds (written under a temporary name, then renamed).

    Example:
      >>> specs = [("w", dtypes.BY_NAME["float32"], (2, 3))]
      >>> with SafetensorsWriter("out.safetensors", specs, {"source": "x"}) as w:
      ...     w.write("w", np.zeros((2, 3), np.float32))
    """

    def __init__(self, path, specs, metadata: dict | None = None):
        self.path = os.fspath(path)
        self._specs = {name: (dtype, tuple(shape)) for name, dtype, shape in specs}
        head, self._plan = header_bytes(specs, metadata)
        self.order = [name for name, _ in self._plan]
        self._next = 0
        self._tmp = self.path + uuid_temp_suffix()
        self._file = open(self._tmp, "xb")
        try:
            self._file.write(head)
        except BaseException:
            self.abort()
            raise

    def write(self, name: str, value) -> None:
        """Write tensor ``name``: an array, or an iterable of arrays whose bytes in turn
        are its C-order bytes (the dtype of each piece is converted to the declared one)."""
        if self._next >= len(self._plan) or self._plan[self._next][0] != name:
            expected = self._plan[self._next][0] if self._next < len(self._plan) else None
            raise errors.FailedPreconditionError(
                f"{self.path}: tensor {name!r} written out of order (expected {expected!r})")
        dtype, shape = self._specs[name]
        want = self._plan[self._next][1]
        pieces = [value] if isinstance(value, np.ndarray) else value
        written = 0
        for piece in pieces:
            piece = np.asarray(piece)
            if piece.dtype != dtype.numpy.newbyteorder("<"):
                piece = piece.astype(dtype.numpy.newbyteorder("<"))
            data = np.ascontiguousarray(piece).reshape(-1).view(np.uint8)
            if written + data.size > want:
                break
            self._file.write(memoryview(data))
            written += data.size
        if written != want:
            self.abort()
            raise errors.InvalidArgumentError(
                f"tensor {name!r} for {self.path}: got more or fewer bytes than the "
                f"{want} of its declared dtype {dtype.name} and shape {list(shape)}")
        self._next += 1

    def finish(self) -> str:
        """Close the file and move it to its name; returns the path."""
        if self._next != len(self._plan):
            missing = [n for n, _ in self._plan[self._next:]]
            self.abort()
            raise errors.FailedPreconditionError(
                f"{self.path}: {len(missing)} declared tensors were never written "
                f"(first {missing[0]!r})")
        try:
            self._file.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            discard(self._tmp)
            raise
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; nothing at ``path`` changes."""
        if not self._file.closed:
            self._file.close()
        discard(self._tmp)


def save_file(path, tensors: dict, metadata: dict | None = None) -> str:
    """Write ``{name: array}`` as one ``.safetensors`` file; returns the path."""
    arrays = {name: np.asarray(value) for name, value in tensors.items()}
    specs = [(name, dtypes.from_numpy(a.dtype), a.shape) for name, a in arrays.items()]
    with SafetensorsWriter(path, specs, metadata) as writer:
        for name in writer.order:
            writer.write(name, arrays[name])
    return os.fspath(path)
