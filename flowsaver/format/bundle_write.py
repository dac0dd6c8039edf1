"""Writing a V2 tensor bundle, byte-identical to TensorFlow's BundleWriter.

Files: ``P.data-00000-of-00001`` (tensor bytes in the order they were added, no padding)
and ``P.index`` (SSTable: the BundleHeaderProto under "", then one BundleEntryProto per
key in bytewise key order; layouts in bundle_read.py and table.py).

Crash safety on a local disk: both files are written under ``<name>.tempstate<random u64>``
and renamed into place when complete, the data file first and the index last, as
TensorFlow does. A checkpoint exists only once its index exists, so a process killed at
any point leaves every other checkpoint untouched and the new one either complete or
absent (only temporary files remain). Overwriting the *same* prefix has one unavoidable
window, since two files cannot be replaced in one atomic step: killed between the two
renames, the old index sits beside the new data file, which the CRCs then report as
DataLossError; wrong values are never returned. Savers avoid it by giving each save its
own prefix (``global_step``). tests/format/test_crash_safety.py kills writers at random
moments. With ``sync=True`` each file is fsynced before its rename and the directory
after it, so the order also holds after a power cut.

The commit protocol on object stores (S3, GCS, ...: no rename, no partial objects):

  1. Data objects first. Each ``P.data-K-of-N`` is uploaded to its final name; it becomes
     visible only when its upload completes (one PUT, or the completion of a multipart
     upload), so no reader ever sees part of one. Shards upload in parallel
     (checkpoint_write.py). A data object without its index belongs to no checkpoint.
  2. The index last, with one PUT: its presence commits the checkpoint. Every reader
     reaches data only through an index (a state file entry, a prefix, or a listing of
     ``*.index`` names), so a reader never opens a half-written checkpoint; the stores
     guarantee read-after-write, so once the index is visible all the data is.
  3. The ``checkpoint`` state file, last of all, with one PUT (state.py): it names only
     committed checkpoints.
  4. Retention deletes, after the state file no longer lists them, only checkpoints this
     saver wrote or adopted in its own directory, file by file by exact name: the
     ``.meta`` and ``.index`` first (uncommitting the checkpoint), the data objects last.
     A save killed at any step leaves at worst data objects without an index, which the
     next save of the same prefix family deletes (saver.py).
"""
from __future__ import annotations

import io
import os

import numpy as np

from flowsaver import errors
from flowsaver.format import background_crc, dtypes, storage, tensor_codec
from flowsaver.format.atomic import tempstate_suffix
from flowsaver.format.background_crc import BackgroundCrc32c
from flowsaver.format.bundle_read import (HEADER_KEY, data_filename, index_filename,
                                          name_to_key)
from flowsaver.format.coding import crc32c, mask
from flowsaver.format.protos import BundleEntryProto, BundleHeaderProto, TensorShapeProto
from flowsaver.format.slices import TensorSlice, encode_tensor_name_slice, num_elements
from flowsaver.format.table import TableBuilder

PRODUCER_VERSION = 1
# From this size on, a tensor's CRC is taken on a helper thread while its bytes are written.
BACKGROUND_CRC_MIN_BYTES = 1 << 20
# Without a helper thread, large tensors are checksummed and written in pieces this size.
INLINE_CRC_PIECE = 1 << 20


def temp_name(path: str) -> str:
    """The temporary name a file is written under before its rename into place."""
    return path + tempstate_suffix()


def shape_proto(shape) -> TensorShapeProto:
    proto = TensorShapeProto()
    for d in shape:
        proto.dim.add(size=d)
    return proto


def header_proto(num_shards: int) -> BundleHeaderProto:
    header = BundleHeaderProto(num_shards=num_shards)
    header.version.producer = PRODUCER_VERSION
    return header


def write_index_output(prefix: str, header, entries: dict, sync: bool = False):
    """Write the index of ``{key: BundleEntryProto}`` to an uncommitted output; returns it.

    Nothing at the final name changes until the caller commits the output, so a failure
    here costs no existing checkpoint.
    """
    buf = io.BytesIO()
    table = TableBuilder(buf)
    table.add(HEADER_KEY, header.SerializeToString())
    for key in sorted(entries):
        table.add(key, entries[key].SerializeToString())
    table.finish()
    out = storage.open_output(index_filename(prefix), tempstate_suffix, sync)
    try:
        view = buf.getbuffer()
        while view:
            view = view[out.write(view):]
        out.finish()
    except BaseException:
        out.abort()
        raise
    return out


def write_index(prefix: str, header, entries: dict) -> str:
    """Write ``P.index`` atomically; returns its path."""
    write_index_output(prefix, header, entries).commit()
    return index_filename(prefix)


def make_parent_dir(prefix: str) -> None:
    """Create the prefix's directory, one level only, as TensorFlow does (object stores
    have no directories: nothing to do there)."""
    parent = os.path.dirname(prefix)
    if parent and not storage.is_url(prefix) and not os.path.isdir(parent):
        try:
            os.mkdir(parent)
        except FileNotFoundError:
            raise errors.NotFoundError(
                f"cannot create checkpoint directory {parent!r}: its parent does not exist "
                f"(only one missing level is created)") from None
        except FileExistsError:
            pass


def to_array(value, dtype=None) -> tuple[np.ndarray, dtypes.DType]:
    """A C-contiguous little-endian array of ``value`` and its DataType."""
    if dtype is not None:
        try:
            info = dtypes.BY_NAME[dtype] if isinstance(dtype, str) \
                else dtypes.info(int(getattr(dtype, "as_datatype_enum", dtype)))
        except (KeyError, TypeError, ValueError):
            raise errors.InvalidArgumentError(f"{dtype!r} is not a storable TensorFlow "
                                              f"dtype") from None
        if info.kind == "memcpy":
            array = np.asarray(value)
            if array.dtype != info.numpy:
                array = array.astype(info.numpy)  # converts values (and byte order)
        else:
            array = np.asarray(value, dtype=object)
    else:
        array = np.asarray(value)
        info = dtypes.from_numpy(array.dtype)
        if info.kind == "string":
            # Python bytes (a serialized proto, say) converted anew: NumPy's fixed-width
            # "S" array has already dropped their trailing NUL bytes.
            array = array.astype(object) if isinstance(value, np.ndarray) else \
                np.array(value, dtype=object)
    if info.kind == "none":
        raise errors.InvalidArgumentError(f"dtype {info.name} cannot be stored in a checkpoint")
    if info.kind == "memcpy":
        if not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        if not array.flags.c_contiguous:
            array = array.copy(order="C")  # not ascontiguousarray: it makes 0-d arrays 1-d
    return array, info


class BundleWriter:
    """Writes one checkpoint prefix. Use as a context manager, or call finish().

    Example:
      >>> with BundleWriter("/tmp/model.ckpt") as w:
      ...     w.add("dense/kernel", np.ones((3, 2), np.float32))
    """

    def __init__(self, prefix: str, sync: bool = False, shard: int = 0, num_shards: int = 1):
        """``sync``: fsync each file before it is committed (and the directory after).
        ``shard``/``num_shards``: write data file K of N of a checkpoint whose index
        another writer joins (checkpoint_write.py). Entries count shards from 0, as a
        part bundle's do; merge.merge_entries renumbers them."""
        self.prefix = prefix
        make_parent_dir(prefix)
        self._sync = sync
        self._data_path = data_filename(prefix, shard, num_shards)
        self._file = storage.open_output(self._data_path, tempstate_suffix, sync)
        self._offset = 0
        self._entries: dict[bytes, BundleEntryProto] = {}
        self._done = False
        self._failed: str | None = None

    def add(self, name: str, value, dtype=None) -> None:
        """Add a whole tensor. ``dtype`` overrides the NumPy dtype (e.g. ``"qint8"``)."""
        key = self._new_key(name)
        array, info = to_array(value, dtype)
        self._entries[key] = self._write(array, info)

    def add_pieces(self, name: str, dtype: dtypes.DType, shape, pieces) -> None:
        """Add a whole tensor given as pieces whose C-order elements, in turn, are its own:
        a numeric tensor is written piece by piece, so memory holds one piece at a time.
        Each piece is converted to ``dtype``.

        Raises:
          InvalidArgumentError: the pieces hold more or fewer elements than ``shape``.
        """
        shape = tuple(int(d) for d in shape)
        if dtype.kind != "memcpy":   # strings and variants are encoded whole
            parts = [np.asarray(p, dtype=object).reshape(-1) for p in pieces]
            whole = np.concatenate(parts) if parts else np.empty(0, object)
            self.add(name, whole.reshape(shape), dtype.enum)
            return
        key = self._new_key(name)
        expected = num_elements(shape) * dtype.numpy.itemsize
        background = BackgroundCrc32c() \
            if expected >= BACKGROUND_CRC_MIN_BYTES and background_crc.worth_it() else None
        crc = size = 0
        try:
            for piece in pieces:
                array, _ = to_array(piece, dtype.enum)
                data = memoryview(array.reshape(-1).view(np.uint8))
                if background is not None:
                    background.update(data)
                else:
                    crc = crc32c(data, crc)
                size += self._write_all(data)
            if size != expected:
                raise errors.InvalidArgumentError(
                    f"tensor {name!r}: the pieces hold {size} bytes, not the {expected} of "
                    f"a {dtype.name} tensor of shape {list(shape)}")
        except BaseException as exc:
            self._failed = f"{type(exc).__name__}: {exc}"  # offsets no longer match the file
            raise
        if background is not None:
            crc = background.result()
        self._entries[key] = BundleEntryProto(dtype=dtype.enum, shape=shape_proto(shape),
                                              offset=self._offset, size=size,
                                              crc32c=mask(crc))
        self._offset += size

    def add_slice(self, name: str, full_shape, tslice: TensorSlice, value, dtype=None) -> None:
        """Add one slice of a partitioned tensor, as TensorFlow's AddSlice does."""
        key = name_to_key(name)
        array, info = to_array(value, dtype)
        full_shape = tuple(int(d) for d in full_shape)
        try:
            box = tslice.resolve(full_shape)
        except ValueError as exc:
            raise errors.InvalidArgumentError(f"slice of {name!r}: {exc}") from None
        if array.shape != tuple(n for _, n in box):
            raise errors.InvalidArgumentError(
                f"slice {tslice} of {name!r} has shape {[n for _, n in box]}, the value "
                f"{list(array.shape)}")
        if tslice.is_full(full_shape):
            self.add(name, array, info.enum)
            return
        self._check_open()
        full = self._entries.get(key)
        if full is None:
            self._new_key(name)
        elif not full.slices or full.dtype != info.enum \
                or tuple(d.size for d in full.shape.dim) != full_shape:
            raise errors.InvalidArgumentError(
                f"slice {tslice} of {name!r} does not match the tensor already added under "
                f"that name")
        slice_key = encode_tensor_name_slice(key, tslice)
        if slice_key in self._entries:
            raise errors.InvalidArgumentError(f"Adding duplicate slice {tslice} of {name!r}")
        written = self._write(array, info)  # may raise; nothing is recorded before it
        if full is None:
            full = self._entries[key] = BundleEntryProto(dtype=info.enum,
                                                         shape=shape_proto(full_shape))
        full.slices.append(tslice.to_proto())
        self._entries[slice_key] = written

    def _new_key(self, name: str) -> bytes:
        self._check_open()
        if not name:
            raise errors.InvalidArgumentError("a tensor name may not be empty")
        key = name_to_key(name)
        if key in self._entries:
            raise errors.InvalidArgumentError(f"Adding duplicate key: {name}")
        return key

    def _check_open(self) -> None:
        self._check_usable()
        if self._done:
            raise errors.FailedPreconditionError(f"writer for {self.prefix} is already finished")

    def _write(self, array: np.ndarray, info: dtypes.DType) -> BundleEntryProto:
        entry = BundleEntryProto(dtype=info.enum, shape=shape_proto(array.shape))
        background, inline = None, False
        if info.kind == "memcpy":
            data = memoryview(array.reshape(-1).view(np.uint8))
            if len(data) >= BACKGROUND_CRC_MIN_BYTES and background_crc.worth_it():
                background = BackgroundCrc32c()
                background.update(data)
                chunks = [data]
            else:   # no spare core: each piece's CRC just before it is written, from cache
                chunks = [data[i:i + INLINE_CRC_PIECE]
                          for i in range(0, len(data), INLINE_CRC_PIECE)] or [data]
                crc, inline = 0, True
        elif info.kind == "string":  # even when empty: TF writes the 4-byte length crc
            chunks, crc = tensor_codec.encode_strings(array)
        else:
            chunks, crc = tensor_codec.encode_variants(array)
        try:
            size = 0
            for chunk in chunks:
                if inline:
                    crc = crc32c(chunk, crc)
                size += self._write_all(chunk)
        except BaseException as exc:
            self._failed = f"{type(exc).__name__}: {exc}"  # offsets no longer match the file
            raise
        if background is not None:
            crc = background.result()
        entry.offset = self._offset
        entry.size = size
        entry.crc32c = mask(crc)
        self._offset += size
        return entry

    def _write_all(self, chunk) -> int:
        # One write() moves at most 2 GiB - 4 KiB on Linux; a bigger tensor needs several.
        view = memoryview(chunk).cast("B")
        done = 0
        while done < len(view):
            done += self._file.write(view[done:])
        return done

    def finish(self) -> str:
        """Close the data file and write the index; returns the prefix."""
        if self._done:
            return self.prefix
        self._check_usable()
        self._done = True
        index = None
        try:
            self._file.finish()
            # Everything is written before the first commit, so that a failure (a full
            # disk, say) leaves any checkpoint already at this prefix as it was.
            index = write_index_output(self.prefix, header_proto(1), self._entries,
                                       self._sync)
            self._file.commit()
            index.commit()
        except BaseException:
            self._file.abort()
            if index is not None:
                index.abort()
            raise
        return self.prefix

    def finish_data(self) -> dict:
        """Complete the data file without publishing it; returns the index entries.

        For writers of one shard of a checkpoint whose index is written by someone else:
        call ``commit_data`` (or ``abort``) afterwards.
        """
        self._check_usable()
        self._done = True
        try:
            self._file.finish()
        except BaseException:
            self._file.abort()
            raise
        return self._entries

    def commit_data(self) -> None:
        """Publish the data file completed by ``finish_data``."""
        self._file.commit()

    def _check_usable(self) -> None:
        if self._failed is not None:
            raise errors.FailedPreconditionError(
                f"writer for {self.prefix} failed earlier ({self._failed}); its data file "
                f"is incomplete, so nothing more can be added or finished")

    def abort(self) -> None:
        """Discard everything written; the previous checkpoint (if any) is untouched."""
        self._done = True
        self._file.abort()

    def __enter__(self) -> "BundleWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish()
        elif not self._done:
            self.abort()


def save_tensors(prefix: str, tensors: dict) -> str:
    """Write ``{name: array}`` as one checkpoint, in key order (as TF's Saver does)."""
    with BundleWriter(prefix) as writer:
        for name in sorted(tensors, key=name_to_key):
            writer.add(name, tensors[name])
    return prefix
