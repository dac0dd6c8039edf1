"""Reading a V2 tensor bundle: ``P.index`` (an SSTable) plus ``P.data-SSSSS-of-NNNNN``.

Index entries (key -> serialized proto):
    ""            BundleHeaderProto {1 num_shards, 2 endianness, 3 version}
    name          BundleEntryProto  {1 dtype, 2 shape, 3 shard_id, 4 offset, 5 size,
                                     6 crc32c (fixed32, masked), 7 slices}
    \\x00name...   one stored slice of a partitioned tensor (see slices.py); the entry
                  under the plain name then has only dtype, full shape and the slices list.

Opening reads only the index. A tensor is read on demand with one positioned read into a
fresh NumPy buffer, checked (offset, size, crc) and viewed as its dtype: no second copy.
Every length and offset from the file is checked against the data file's size first.
Opened with ``mmap=True``, numeric tensors stored whole come back as read-only views of a
memory map of their data file instead (mapped.py), and CRCs are checked only on request.

A prefix that is a URL (``s3://...``) is read with ranged requests (storage.py): the
index with one GET, each data object's size with one HEAD on first use, and a tensor with
one ranged GET of exactly its bytes, so one tensor of a 10 GB checkpoint downloads only
that tensor. ``get_tensors`` joins neighbouring tensors into fewer, larger ranges and
fetches them concurrently. Memory maps do not apply there; ``mmap=True`` is ignored.
No tensor larger than the machine's memory is allocated (ResourceExhaustedError);
``check_tensor`` checks one in constant memory instead. Partitioned tensors are read
through bundle_partitioned.py.
"""
from __future__ import annotations

import os
import threading

import numpy as np

from flowsaver import errors
from flowsaver.format import bundle_partitioned as partitioned
from flowsaver.format import background_crc, dtypes, storage, tensor_codec
from flowsaver.format.background_crc import BackgroundCall
from flowsaver.format.bundle_index import (  # noqa: F401 - re-exported, as before
    CONSUMER_VERSION, HEADER_KEY, MAX_NUM_SHARDS, MAX_RANK, SLICES_TAG, _read_index_items,
    LazyText, data_filename, index_filename, key_to_name, name_to_key, read_index,
    read_table_file, shape_of)
from flowsaver.format.coding import CorruptionError, crc32c, mask
from flowsaver.format.crc_stream import crc32c_combine, crc32c_of_range
# also imported from here by other readers:
from flowsaver.format.files import (open_regular_file, physical_memory_bytes,  # noqa: F401
                                    read_exactly)
from flowsaver.format.mapped import FileMaps
from flowsaver.format.protos import BundleEntryProto
from flowsaver.format.ranged_reads import RemoteBlob, prefetch
from flowsaver.format.slices import (SLICE_KEY_START, TensorSlice, encode_tensor_name_slice,
                                     num_elements)

# A tensor is read in pieces of this size, each piece's CRC taken just after it is read,
# while it is still in the CPU cache. A larger tensor is read by two threads when a core
# is free for the second: the helper thread reads and checks the second half, and the two
# CRCs are combined (crc_stream.crc32c_combine). Measured on 512 MiB in 200 tensors, that
# reads at the speed of one plain read() per tensor (0.99-1.03x), where one thread reading
# and another taking the CRCs behind it reached 0.75x. Must stay below the 2 GiB that one
# read() returns.
READ_PIECE = 1 << 20
PAGE = 4096   # the helper's half starts on a page boundary of the buffer
# No tensor larger than the machine's memory is allocated: the allocation would fail, or
# (with memory overcommit) succeed and then exhaust memory while the bytes are read.
MAX_READ_BYTES = physical_memory_bytes()


class BundleReader:
    """Random access to the tensors of one V2 checkpoint prefix.

    Example:
      >>> with BundleReader("model.ckpt-1000") as r:
      ...     w = r.get_tensor("dense/kernel")
    """

    def __init__(self, prefix: str, verify_crc: bool | None = None, mmap: bool = False):
        """``mmap=True``: numeric tensors stored whole are read-only views of a memory map
        (zero-copy). ``verify_crc`` defaults to True, or to False with ``mmap`` (checking
        a CRC reads every byte); pass True to check each tensor's CRC when it is read."""
        self.prefix = prefix
        self.verify_crc = (not mmap) if verify_crc is None else verify_crc
        self._remote = storage.is_url(prefix)
        self._maps = FileMaps() if mmap and not self._remote else None
        self._prefetched: dict = {}
        self.header, self._entries = _read_index_items(prefix)
        self._big_endian = self.header.endianness == 1
        self._visible: dict | None = None    # {key: name}, found on first use
        self._files: dict[int, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._slice_cache: dict = {}

    # --- metadata ------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Tensor names in key order, slice keys hidden."""
        return list(self._visible_keys().values())

    def has_tensor(self, name) -> bool:
        key = name_to_key(name)
        if not key.startswith(SLICE_KEY_START):   # never hidden: no need to list them all
            return key in self._entries
        return key in self._visible_keys()

    def _visible_keys(self) -> dict:
        """``{key: name}`` of every tensor in key order: every key but the stored slices
        that partitioned tensors list (decoding the whole index once)."""
        if self._visible is None:
            keys = self._entries.key_list()
            hidden = set()
            # Entries holding the slices tag byte may list slices (the byte may also be
            # inside another field); the others do not.
            for key in self._entries.holding(SLICES_TAG[0]):
                for s in self._entries[key].slices:
                    hidden.add(encode_tensor_name_slice(key, self._slice(s, key)))
            self._visible = {key: key_to_name(key) for key in keys if key not in hidden}
        return self._visible

    def entry(self, name) -> BundleEntryProto:
        try:
            return self._entries[name_to_key(name)]
        except KeyError:
            raise errors.NotFoundError(
                f"Key {name} not found in checkpoint {self.prefix}") from None

    def raw_entries(self) -> dict:
        """Every index entry, slice keys included: ``{key bytes: BundleEntryProto}``."""
        return self._entries.parse_all()

    def dtype(self, name) -> dtypes.DType:
        entry = self.entry(name)
        try:
            return dtypes.info(entry.dtype)
        except KeyError:
            raise errors.DataLossError(f"{self._where(name)}: unknown dtype enum "
                                       f"{entry.dtype}") from None

    def shape(self, name) -> tuple[int, ...]:
        return shape_of(self.entry(name).shape, LazyText(self._where, name))

    def shape_map(self) -> dict[str, tuple[int, ...]]:
        """``{name: shape}`` of every tensor, checked: one pass over the index."""
        entries = self._entries.parse_all()
        return {name: shape_of(entries[key].shape, LazyText(self._where, key))
                for key, name in self._visible_keys().items()}

    def dtype_map(self) -> dict[str, dtypes.DType]:
        """``{name: DType}`` of every tensor (DataLossError for an unknown dtype)."""
        entries = self._entries.parse_all()
        by_enum = dtypes.BY_ENUM
        out = {}
        for key, name in self._visible_keys().items():
            enum = entries[key].dtype
            out[name] = by_enum[enum] if enum in by_enum else self.dtype(name)
        return out

    def _where(self, name) -> str:
        return f"tensor {key_to_name(name_to_key(name))!r} in {index_filename(self.prefix)}"

    def _slice(self, proto, key) -> TensorSlice:
        try:
            return TensorSlice.from_proto(proto)
        except CorruptionError as exc:
            raise errors.DataLossError(f"{self._where(key)}: {exc}") from None

    # --- data ----------------------------------------------------------------------------
    def get_tensor(self, name) -> np.ndarray:
        """The whole tensor, assembled from its slices when it was saved partitioned."""
        entry = self.entry(name)
        if entry.slices:
            shape = self.shape(name)
            return self.get_slice(name, TensorSlice.full(len(shape)))
        return self._read_entry(name_to_key(name), entry)

    def get_slice(self, name, tslice: TensorSlice) -> np.ndarray:
        """The part ``tslice`` of tensor ``name``, whether it was stored whole or in slices."""
        key = name_to_key(name)
        entry = self.entry(name)
        full_shape = self.shape(name)
        try:
            want = tslice.resolve(full_shape)
        except ValueError as exc:
            raise errors.InvalidArgumentError(f"{self._where(name)}: {exc}") from None
        if not entry.slices:
            whole = self._read_entry(key, entry)
            return whole[tuple(slice(s, s + n) for s, n in want)]
        layout = self._layout(key, entry, full_shape)
        return partitioned.assemble(self, key, entry, layout, want)

    def read_stored_slice(self, name, tslice: TensorSlice) -> np.ndarray:
        """One stored slice of a partitioned tensor, as stored: O(1) in the slice count
        once the tensor's slices have been checked (what `flowsaver verify` reads)."""
        key = name_to_key(name)
        entry = self.entry(name)
        layout = self._layout(key, entry, self.shape(name))
        return partitioned.read_stored_slice(self, key, entry, layout, tslice)

    def _layout(self, key, entry, full_shape) -> partitioned.SliceLayout:
        """The checked slices of a partitioned tensor, computed once per key."""
        cached = self._slice_cache.get(key)
        if cached is None:
            cached = self._slice_cache[key] = partitioned.slice_layout(self, key, entry,
                                                                        full_shape)
        return cached

    def _index_path(self) -> str:
        return index_filename(self.prefix)

    def _data_path_of(self, shard_id: int) -> str:
        return data_filename(self.prefix, shard_id, self.header.num_shards)

    def _check_extent(self, entry, info, count: int, where: str) -> None:
        """The entry's bytes lie inside its data file and can hold ``count`` elements."""
        _, file_size = self._data_file(entry.shard_id, where)
        fits = entry.size == count * info.numpy.itemsize if info.kind == "memcpy" \
            else count == 0 or entry.size >= count
        if not fits or entry.offset < 0 or entry.offset + entry.size > file_size:
            raise errors.DataLossError(
                f"{where}: {entry.size} bytes at offset {entry.offset} of "
                f"{self._data_path(entry)} ({file_size} bytes) cannot hold {count} "
                f"{info.name} elements or run past the end of the file")

    def get_tensors(self, names) -> dict:
        """Several whole tensors; faster than one get_tensor call each for large tensors.

        Each tensor's CRC is checked while the next tensor is read; every check has passed
        before anything is returned.

        Raises:
          DataLossError: a tensor's bytes do not match its checksum (named in the message).
        """
        out, pending = {}, []
        names = list(names)
        if self._remote:
            self._prefetch([self.entry(name) for name in names])
        try:
            for name in names:
                entry = self.entry(name)
                if entry.slices:
                    out[name] = self.get_tensor(name)
                else:
                    out[name] = self._read_entry(name_to_key(name), entry, pending=pending)
        finally:
            self._prefetched.clear()
        for job, entry, where in pending:
            crc = job.result()
            if mask(crc) != entry.crc32c:
                self._crc_error(entry, mask(crc), where)
        return out

    def _prefetch(self, entries) -> None:
        """Fetch the bytes of many stored-whole entries of a remote bundle at once."""
        wanted = []
        for entry in entries:
            if entry.slices or entry.size <= 0:
                continue
            blob, file_size = self._data_file(entry.shard_id, f"shard {entry.shard_id}")
            # An extent outside its object is left out: reading it alone raises the
            # precise error.
            if 0 <= entry.offset and entry.offset + entry.size <= file_size:
                wanted.append((entry.shard_id, blob, entry.offset, entry.size))
        self._prefetched.update(prefetch(wanted, str(self.prefix)))

    def _entry_info(self, key: bytes, entry, label: str | None):
        """``(info, shape, count, where)`` of an entry: dtype, shape and size checked."""
        where = LazyText(self._label_where, key, label)
        try:
            info = dtypes.info(entry.dtype)
        except KeyError:
            raise errors.DataLossError(f"{where}: unknown dtype enum {entry.dtype}") from None
        shape = shape_of(entry.shape, where)
        count = num_elements(shape)
        if info.kind == "memcpy":
            expected = count * info.numpy.itemsize
            if entry.size != expected:
                raise errors.DataLossError(
                    f"Invalid size in bundle entry: key {label or key_to_name(key)}; stored "
                    f"size {entry.size}; "
                    f"expected size {expected} (shape {list(shape)}, {info.name}), in "
                    f"{index_filename(self.prefix)}")
        elif info.kind == "none":
            raise errors.DataLossError(f"{where}: dtype {info.name} cannot be stored")
        return info, shape, count, where

    def _label_where(self, key: bytes, label: str | None) -> str:
        return f"tensor {label or key_to_name(key)!r} in {index_filename(self.prefix)}"

    def check_tensor(self, name, tslice: TensorSlice | None = None) -> None:
        """Checks tensor ``name`` (or its stored slice ``tslice``) as reading it would,
        without holding a numeric one in memory: its bytes are streamed through the CRC,
        holes of sparse files included (crc_stream.py). Strings are read and decoded.

        Raises:
          DataLossError, NotFoundError: what reading it would raise.
        """
        key, entry = name_to_key(name), self.entry(name)
        if tslice is not None or entry.slices:
            if tslice is None:
                self.get_tensor(name)
                return
            layout = self._layout(key, entry, self.shape(name))
            key, entry, label = partitioned.stored_slice_entry(self, key, entry, layout,
                                                               tslice)
        else:
            label = None
        info, _, _, where = self._entry_info(key, entry, label)
        if info.kind != "memcpy":
            self._read_entry(key, entry, label)
            return
        fd, file_size = self._data_file(entry.shard_id, where)
        if isinstance(fd, RemoteBlob):   # an object in a store: read it as get_tensor does
            self._read_entry(key, entry, label)
            return
        path = self._data_path(entry)
        self._check_range(entry, file_size, where, path)
        crc = crc32c_of_range(fd, entry.offset, entry.size,
                              lambda view, at: read_exactly(fd, view, at, where, path))
        if mask(crc) != entry.crc32c:
            self._crc_error(entry, mask(crc), where)

    def _read_entry(self, key: bytes, entry, label: str | None = None,
                    pending: list | None = None) -> np.ndarray:
        """One stored entry's value. With ``pending``, a large numeric tensor's CRC check is
        left to the caller: ``(job, entry, where)`` is appended instead of awaited."""
        info, shape, count, where = self._entry_info(key, entry, label)
        dtypes.check_array_rank(shape, where)
        if info.kind == "memcpy" and self._maps is not None and not self._big_endian:
            return self._mapped_entry(entry, info, shape, where)
        want_crc = self.verify_crc and info.kind == "memcpy"
        like = (shape, info.numpy) if info.kind == "memcpy" else None
        buf, crc = self._read_bytes(entry, where, want_crc, defer=pending is not None,
                                    like=like)
        if isinstance(crc, _SplitCrc):
            pending.append((crc, entry, where))
        elif want_crc and mask(crc) != entry.crc32c:
            self._crc_error(entry, mask(crc), where)
        if info.kind == "memcpy":
            return buf.byteswap() if self._big_endian else buf
        try:
            if info.kind == "string":
                array, crc = tensor_codec.decode_strings(memoryview(buf), count)
            else:
                if self._big_endian:
                    raise errors.UnimplementedError(f"{where}: big-endian variant tensors "
                                                    f"cannot be read")
                array, crc = tensor_codec.decode_variants(memoryview(buf), count)
        except CorruptionError as exc:
            raise errors.DataLossError(f"{where}, stored in {self._data_path(entry)}: {exc}") \
                from None
        if self.verify_crc and mask(crc) != entry.crc32c:
            self._crc_error(entry, mask(crc), where)
        return array.reshape(shape)

    def _mapped_entry(self, entry, info, shape, where: str) -> np.ndarray:
        fd, file_size = self._data_file(entry.shard_id, where)
        buf = self._maps.view(fd, file_size, entry.offset, entry.size, where,
                              self._data_path(entry))
        if self.verify_crc and mask(crc32c(buf)) != entry.crc32c:
            self._crc_error(entry, mask(crc32c(buf)), where)
        return buf.view(info.numpy).reshape(shape)

    def _data_path(self, entry) -> str:
        return data_filename(self.prefix, entry.shard_id, self.header.num_shards)

    def _crc_error(self, entry, actual: int, where: str):
        raise errors.DataLossError(
            f"Checksum does not match for {where}: {entry.size} bytes at offset "
            f"{entry.offset} of {self._data_path(entry)}: stored {entry.crc32c:#010x} vs. "
            f"calculated on the restored bytes {actual:#010x}")

    def _read_bytes(self, entry, where: str, want_crc: bool, defer: bool = False,
                    like: tuple | None = None):
        """The entry's bytes in a fresh buffer, and their CRC32C when ``want_crc`` (else 0).

        With ``like`` = ``(shape, numpy dtype)`` (matching the entry's size), the buffer is
        a fresh array of that shape and dtype that owns its memory, not a view of bytes:
        a kernel given it as the only reference may keep it (a restore's ``Assign`` makes
        it the variable's array without a copy). With ``defer``, a CRC still being computed
        on the helper thread is returned as a ``_SplitCrc`` rather than waited for.
        """
        fd, file_size = self._data_file(entry.shard_id, where)
        offset, size = entry.offset, entry.size
        path = LazyText(self._data_path, entry)
        self._check_range(entry, file_size, where, path)
        if isinstance(fd, RemoteBlob):   # one ranged GET of exactly these bytes
            data = self._prefetched.get((entry.shard_id, offset, size))
            if data is None:
                data = fd.read(offset, size, where)
            buf = np.frombuffer(bytearray(data), dtype=np.uint8)
            crc = crc32c(buf) if want_crc else 0
            return (buf if like is None else buf.view(like[1]).reshape(like[0])), crc
        if size > MAX_READ_BYTES:
            raise errors.ResourceExhaustedError(
                f"{where}: {size} bytes at offset {offset} of {path} are more than this "
                f"machine's memory ({MAX_READ_BYTES} bytes); `flowsaver verify` can still "
                f"check them")
        try:
            out = np.empty(size, dtype=np.uint8) if like is None else np.empty(*like)
        except MemoryError:
            raise errors.ResourceExhaustedError(
                f"{where}: no memory for the {size} bytes at offset {offset} of {path}") \
                from None
        view = memoryview(out.reshape(-1).view(np.uint8))
        if not want_crc:
            read_exactly(fd, view, offset, where, path)
            return out, 0
        if size <= READ_PIECE or not background_crc.worth_it():
            return out, _read_and_crc(fd, view, offset, where, path)
        # Two threads: the helper reads and checks the second half while this one reads
        # and checks the first; each piece's CRC is taken just after it is read.
        tail = (size // 2) & ~(PAGE - 1)
        head = size - tail
        call = BackgroundCall(_read_and_crc, fd, view[head:], offset + head, where, path)
        split = _SplitCrc(_read_and_crc(fd, view[:head], offset, where, path), call, tail)
        return out, (split if defer else split.result())

    @staticmethod
    def _check_range(entry, file_size: int, where: str, path: str) -> None:
        offset, size = entry.offset, entry.size
        if offset < 0 or size < 0 or offset + size > file_size:
            raise errors.DataLossError(
                f"{where}: {size} bytes at offset {offset} run past the end of {path} "
                f"({file_size} bytes)")

    def _data_file(self, shard_id: int, where: str) -> tuple[int, int]:
        cached = self._files.get(shard_id)
        if cached is not None:
            return cached
        with self._lock:
            if shard_id not in self._files and self._remote:
                path = data_filename(self.prefix, shard_id, self.header.num_shards)
                try:
                    size = storage.getsize(path)
                except FileNotFoundError:
                    raise errors.NotFoundError(f"{where}: data file {path} is missing") \
                        from None
                self._files[shard_id] = (RemoteBlob(path), size)
            if shard_id not in self._files:
                path = data_filename(self.prefix, shard_id, self.header.num_shards)
                try:
                    fd = open_regular_file(path)
                except errors.NotFoundError:
                    raise errors.NotFoundError(f"{where}: data file {path} is missing") \
                        from None
                self._files[shard_id] = (fd, os.fstat(fd).st_size)
        return self._files[shard_id]

    def close(self) -> None:
        with self._lock:
            if self._maps is not None:
                self._maps.close()
            for fd, _ in self._files.values():
                if isinstance(fd, int):
                    os.close(fd)
            self._files.clear()

    def __enter__(self) -> "BundleReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "_files", None):
            self.close()


def _read_and_crc(fd: int, view, offset: int, where, path) -> int:
    """Fill ``view`` from ``fd`` at ``offset``; the CRC32C of the bytes read."""
    crc = 0
    for start in range(0, len(view), READ_PIECE):
        piece = view[start:start + READ_PIECE]
        read_exactly(fd, piece, offset + start, where, path)
        crc = crc32c(piece, crc)
    return crc


class _SplitCrc:
    """The CRC32C of a tensor read in two parts: this thread's part's, known, and the
    helper thread's, to come."""

    __slots__ = ("head", "tail_call", "tail_len")

    def __init__(self, head: int, tail_call: BackgroundCall, tail_len: int):
        self.head, self.tail_call, self.tail_len = head, tail_call, tail_len

    def result(self) -> int:
        return crc32c_combine(self.head, self.tail_call.result(), self.tail_len)
