"""Reading legacy V1 checkpoints (``Saver(write_version=SaverDef.V1)``, TensorSliceWriter).

A V1 checkpoint is one SSTable file named exactly the prefix ``P``, or shards named
``P-SSSSS-of-NNNNN`` (TensorFlow's sharded Saver returns the pattern ``P-?????-of-NNNNN``),
each a complete table of its own. Keys and values (SavedTensorSlices protos, protos.py):

    ""          SavedTensorSlices {1 meta SavedTensorSliceMeta {
                    1 tensor repeated SavedSliceMeta {1 name, 2 shape, 3 type,
                                                      4 slice repeated TensorSliceProto}
                    2 versions VersionDef {1 producer, 2 min_consumer, 3 bad_consumers}}}
    slice key   SavedTensorSlices {2 data SavedSlice {1 name, 2 slice, 3 data TensorProto}}
                key = encode_tensor_name_slice(name, slice)  (slices.py; a scalar's is
                00 name 00 01 00)

The data TensorProto has neither dtype nor shape (the meta has them). TensorFlow writes
exactly one value per element of the slice in the dtype's typed field (float_val,
int_val, half_val, string_val, ...): a short field is corruption here, not a fill. A
tensor listed in several shards has its slices in each; all must agree on dtype and shape
and no two slices may overlap.

Opening reads every table and parses the metas; slice data is parsed on demand.
"""
from __future__ import annotations

import glob
import os
import re

import numpy as np

from flowsaver import errors
from flowsaver.format import dtypes
from flowsaver.format.bundle_read import name_to_key, num_elements, read_table_file, \
    shape_of
from flowsaver.format.coding import CorruptionError
from flowsaver.format.protos import SavedTensorSlices
from flowsaver.format.slices import (MAX_SLICES, TensorSlice, assemble_slices,
                                     check_disjoint, encode_tensor_name_slice)
from flowsaver.format.tensor_proto import to_array

META_KEY = b""
# TensorFlow's checkpoint versions (TF_CHECKPOINT_VERSION and its minimum producer).
CHECKPOINT_VERSION = 1
CHECKPOINT_VERSION_MIN_PRODUCER = 0
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})$")
_SHARD_GLOB = "-?????-of-?????"
_SHARD_PATTERN = re.compile(r"-\?{5}-of-(\d{5})$")


def v1_files(path: str) -> list[str]:
    """The files of the V1 checkpoint at ``path``: the file itself, all shards of a shard
    file ``P-KKKKK-of-NNNNN``, the files a glob pattern matches, or ``P-?????-of-?????``.

    Raises:
      NotFoundError: nothing matches, or a shard of ``P-?????-of-NNNNN`` is missing.
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        m = _SHARD.search(path)
        if m is None:
            return [path]
        files = glob.glob(glob.escape(path[:m.start()]) + "-?????-of-" + m.group(2))
    elif (m := _SHARD_PATTERN.search(path)) and \
            (ours := glob.glob(glob.escape(path[:m.start()]) + "-?????-of-" + m.group(1))):
        # Our own shard pattern P-?????-of-NNNNN: only its tail is a pattern, so glob
        # characters in P (a directory "run[1]") match themselves.
        files = ours
    elif glob.has_magic(path) and any(map(os.path.isfile, glob.glob(path))):
        files = glob.glob(path)
    else:
        files = glob.glob(glob.escape(path) + _SHARD_GLOB)
    files = sorted(f for f in files if os.path.isfile(f))
    if not files:
        raise errors.NotFoundError(f"Unsuccessful TensorSliceReader constructor: Failed to "
                                   f"find any matching files for {path}")
    _check_shards_complete(files, path)
    return files


def _check_shards_complete(files: list[str], path: str) -> None:
    shards = [_SHARD.search(f) for f in files]
    if not all(shards):
        return
    totals = {int(m.group(2)) for m in shards}
    if len(totals) == 1:
        total = totals.pop()
        missing = sorted(set(range(total)) - {int(m.group(1)) for m in shards})
        if missing:
            raise errors.NotFoundError(f"V1 checkpoint {path}: shard(s) {missing} of {total} "
                                       f"are missing (found {files})")


class _Tensor:
    """One tensor of the checkpoint: its dtype, shape and stored slices with their file."""

    def __init__(self, name: str, dtype: dtypes.DType, shape: tuple[int, ...]):
        self.name, self.dtype, self.shape = name, dtype, shape
        self.slices: list[tuple[TensorSlice, tuple, int]] = []  # (slice, box, file index)


class V1Reader:
    """Random access to the tensors of a V1 checkpoint, with BundleReader's interface.

    Example:
      >>> with V1Reader("v1model.ckpt") as r:
      ...     r.get_tensor("v")
      array([1., 2., 3.], dtype=float32)
    """

    def __init__(self, path: str):
        self.prefix = os.fspath(path)
        self.files = v1_files(self.prefix)
        self._total_bytes = sum(os.path.getsize(f) for f in self.files)
        self._tables: dict[int, dict[bytes, bytes]] = {}
        self._tensors: dict[str, _Tensor] = {}
        for index in range(len(self.files)):
            self._read_meta(index)
        for tensor in self._tensors.values():
            check_disjoint([s for s, _, _ in tensor.slices], [b for _, b, _ in tensor.slices],
                           f"tensor {tensor.name!r} in {self.prefix}")

    # --- meta ----------------------------------------------------------------------------
    def _table(self, index: int) -> dict[bytes, bytes]:
        table = self._tables.get(index)
        if table is None:
            table = self._tables[index] = dict(read_table_file(self.files[index]))
        return table

    def _read_meta(self, index: int) -> None:
        path = self.files[index]
        raw = self._table(index).get(META_KEY)
        if raw is None:
            raise errors.DataLossError(f"{path}: not a V1 checkpoint: the table has no "
                                       f"SavedTensorSlices meta (key \"\")")
        try:
            saved = SavedTensorSlices.FromString(raw)
        except Exception as exc:  # DecodeError; the message is all we keep
            raise errors.DataLossError(f"{path}: the meta (key \"\") does not parse: "
                                       f"{exc}") from None
        if not saved.HasField("meta"):
            raise errors.DataLossError(f"{path}: the entry under key \"\" holds no meta")
        _check_versions(saved.meta.versions, path)
        for meta in saved.meta.tensor:
            self._register(meta, index)

    def _register(self, meta, index: int) -> None:
        path = self.files[index]
        where = f"tensor {meta.name!r} in {path}"
        try:
            dtype = dtypes.info(meta.type)
        except KeyError:
            raise errors.DataLossError(f"{where}: unknown dtype enum {meta.type}") from None
        if dtype.kind not in ("memcpy", "string"):
            raise errors.DataLossError(f"{where}: dtype {dtype.name} cannot be in a V1 "
                                       f"checkpoint")
        shape = shape_of(meta.shape, where)
        tensor = self._tensors.setdefault(meta.name, _Tensor(meta.name, dtype, shape))
        if tensor.dtype != dtype or tensor.shape != shape:
            raise errors.DataLossError(
                f"{where}: listed as {dtype.name} {list(shape)}, but another shard lists it "
                f"as {tensor.dtype.name} {list(tensor.shape)}")
        for proto in meta.slice:
            try:
                tslice = TensorSlice.from_proto(proto)
                box = tslice.resolve(shape)
            except (CorruptionError, ValueError) as exc:
                raise errors.DataLossError(f"{where}: {exc}") from None
            tensor.slices.append((tslice, box, index))
            if len(tensor.slices) > MAX_SLICES:
                check_disjoint([s for s, _, _ in tensor.slices],
                               [b for _, b, _ in tensor.slices], where)

    def _tensor(self, name) -> _Tensor:
        key = name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else name
        try:
            return self._tensors[key]
        except KeyError:
            raise errors.NotFoundError(
                f"Key {key} not found in checkpoint {self.prefix}") from None

    def names(self) -> list[str]:
        """Tensor names in key (byte) order."""
        return sorted(self._tensors, key=name_to_key)

    def has_tensor(self, name) -> bool:
        try:
            self._tensor(name)
        except errors.NotFoundError:
            return False
        return True

    def dtype(self, name) -> dtypes.DType:
        return self._tensor(name).dtype

    def shape(self, name) -> tuple[int, ...]:
        return self._tensor(name).shape

    def shape_map(self) -> dict[str, tuple[int, ...]]:
        """``{name: shape}`` of every tensor."""
        return {name: self.shape(name) for name in self.names()}

    def dtype_map(self) -> dict[str, dtypes.DType]:
        """``{name: DType}`` of every tensor."""
        return {name: self.dtype(name) for name in self.names()}

    # --- data ----------------------------------------------------------------------------
    def get_tensor(self, name) -> np.ndarray:
        """The whole tensor, assembled from its stored slices."""
        tensor = self._tensor(name)
        return self.get_slice(name, TensorSlice.full(len(tensor.shape)))

    def get_slice(self, name, tslice: TensorSlice) -> np.ndarray:
        """The part ``tslice`` of tensor ``name``."""
        tensor = self._tensor(name)
        try:
            want = tslice.resolve(tensor.shape)
        except ValueError as exc:
            raise errors.InvalidArgumentError(f"tensor {tensor.name!r} in {self.prefix}: "
                                              f"{exc}") from None
        count = num_elements(n for _, n in want)
        # Every stored element takes at least one byte of the files, so a shape asking for
        # more is a lie; checked before the output is allocated.
        if count > self._total_bytes:
            raise errors.DataLossError(
                f"tensor {tensor.name!r} in {self.prefix}: {count} elements asked for, but "
                f"the checkpoint files hold only {self._total_bytes} bytes")
        pieces = [(box, lambda s=s, i=i: self._read_slice(tensor, s, i))
                  for s, box, i in tensor.slices]
        return assemble_slices(want, tensor.dtype.numpy, pieces,
                               f"partitioned tensor {tensor.name} in {self.prefix}",
                               lambda: [str(s) for s, _, _ in tensor.slices])

    def _read_slice(self, tensor: _Tensor, tslice: TensorSlice, index: int) -> np.ndarray:
        path = self.files[index]
        where = f"tensor {tensor.name!r} slice {tslice} in {path}"
        raw = self._table(index).get(encode_tensor_name_slice(name_to_key(tensor.name),
                                                              tslice))
        if raw is None:
            raise errors.DataLossError(f"{where}: listed in the meta, but its entry is "
                                       f"missing")
        try:
            saved = SavedTensorSlices.FromString(raw)
        except Exception as exc:  # DecodeError
            raise errors.DataLossError(f"{where}: entry does not parse: {exc}") from None
        data = saved.data
        if data.name != tensor.name:
            raise errors.DataLossError(f"{where}: entry holds tensor {data.name!r}")
        try:
            stored = TensorSlice.from_proto(data.slice).resolve(tensor.shape)
        except (CorruptionError, ValueError) as exc:
            raise errors.DataLossError(f"{where}: entry slice: {exc}") from None
        box = tslice.resolve(tensor.shape)
        if stored != box:
            raise errors.DataLossError(f"{where}: entry holds slice "
                                       f"{TensorSlice.from_proto(data.slice)}")
        if data.data.dtype not in (0, tensor.dtype.enum):
            raise errors.DataLossError(f"{where}: data has dtype enum {data.data.dtype}, "
                                       f"the meta says {tensor.dtype.name}")
        try:
            return to_array(data.data, dtype=tensor.dtype, shape=[n for _, n in box],
                            fill=False, where=where)
        except (errors.InvalidArgumentError, errors.UnimplementedError) as exc:
            raise errors.DataLossError(str(exc)) from None

    def close(self) -> None:
        """Drops the cached tables; later reads load them again."""
        self._tables.clear()

    def __enter__(self) -> "V1Reader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check_versions(versions, path: str) -> None:
    if versions.producer < CHECKPOINT_VERSION_MIN_PRODUCER \
            or versions.min_consumer > CHECKPOINT_VERSION \
            or CHECKPOINT_VERSION in versions.bad_consumers:
        raise errors.InvalidArgumentError(
            f"{path}: checkpoint versions (producer {versions.producer}, min_consumer "
            f"{versions.min_consumer}, bad_consumers {list(versions.bad_consumers)}) cannot "
            f"be read by this reader (version {CHECKPOINT_VERSION})")
