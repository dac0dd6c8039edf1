"""One reader for every checkpoint form: what ``tf.train.load_checkpoint`` returns.

It resolves the path a user gives (prefix, directory, .index, .data-*, .meta, V1 file;
see paths.py), then reads a V2 bundle (bundle_read.py) or a legacy V1 table (v1.py).
Object-based (TF2) checkpoints are V2 bundles and read the same way; their
``_CHECKPOINTABLE_OBJECT_GRAPH`` key is listed like any other, as TensorFlow lists it.
"""
from __future__ import annotations

import difflib
import os

import numpy as np

from flowsaver import errors
from flowsaver.format import dtypes
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.object_graph import OBJECT_GRAPH_KEY, parse_object_graph
from flowsaver.format.paths import resolve_checkpoint_prefix
from flowsaver.format.protos import DATA_TYPES

_ENUM_NAMES = {enum: name for name, enum in DATA_TYPES.items()}


def missing_tensor_error(name: str, names: list[str], prefix: str) -> errors.NotFoundError:
    """NotFoundError for a tensor the checkpoint lacks, naming the closest names it holds."""
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f" Closest names: {', '.join(close)}." if close else ""
    return errors.NotFoundError(f"Key {name} not found in checkpoint {prefix} "
                                f"({len(names)} tensors).{hint}")


def _enum_name(enum: int) -> str:
    """A DataType enum as the listing shows it; an enum no TensorFlow version defines is
    listed by number (the listing is how a user finds such an entry)."""
    info = dtypes.BY_ENUM.get(enum)
    if info is not None:
        return info.proto_name
    return _ENUM_NAMES.get(enum, f"unknown DataType {enum}")


class CheckpointReader:
    """Reads the tensors of a checkpoint; only the index is read when it opens.

    Example:
      >>> r = CheckpointReader("runs/model.ckpt-1000")
      >>> r.get_variable_to_shape_map()["dense/kernel"]
      [784, 10]
    """

    def __init__(self, path, verify_crc: bool | None = None, mmap: bool = False):
        """``mmap=True`` (V2 only; V1 tensors are protos and are always parsed): numeric
        tensors stored whole come back as read-only memory-mapped views, and CRCs are
        checked only with ``verify_crc=True``. Otherwise every CRC is checked."""
        resolved = resolve_checkpoint_prefix(os.fspath(path))
        self.prefix = resolved.prefix
        self.version = resolved.version
        if resolved.is_v2:
            self._impl = BundleReader(resolved.prefix, verify_crc=verify_crc, mmap=mmap)
        else:
            from flowsaver.format.v1 import V1Reader
            self._impl = V1Reader(resolved.prefix)

    def names(self) -> list[str]:
        """Tensor names in sorted key order (slice keys hidden)."""
        return list(self._impl.names())

    def has_tensor(self, name: str) -> bool:
        return self._impl.has_tensor(name)

    def _check(self, name: str) -> None:
        if not self._impl.has_tensor(name):
            raise missing_tensor_error(name, self._impl.names(), self.prefix)

    def get_tensor(self, name: str):
        """The tensor's value: an ndarray; a NumPy scalar (or bytes) for 0-d tensors."""
        self._check(name)
        value = self._impl.get_tensor(name)
        return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value

    def get_tensors(self, names=None) -> dict:
        """``{name: value}`` for ``names`` (default: every tensor), read in one pass; each
        value as get_tensor returns it. Faster than get_tensor in a loop for big tensors."""
        names = self.names() if names is None else list(names)
        for name in names:
            self._check(name)
        if isinstance(self._impl, BundleReader):
            values = self._impl.get_tensors(names)
        else:
            values = {name: self._impl.get_tensor(name) for name in names}
        return {n: v[()] if isinstance(v, np.ndarray) and v.ndim == 0 else v
                for n, v in values.items()}

    def get_slice(self, name: str, tslice):
        self._check(name)
        return self._impl.get_slice(name, tslice)

    def shape(self, name: str) -> tuple[int, ...]:
        self._check(name)
        return self._impl.shape(name)

    def dtype(self, name: str) -> dtypes.DType:
        self._check(name)
        return self._impl.dtype(name)

    def get_variable_to_shape_map(self) -> dict[str, list[int]]:
        return {name: list(shape) for name, shape in self._impl.shape_map().items()}

    def get_variable_to_dtype_map(self) -> dict[str, dtypes.DType]:
        return self._impl.dtype_map()

    def debug_string(self) -> bytes:
        """``key (DT_X) [d0,d1]`` lines, as TensorFlow's reader prints them.

        Like TensorFlow, a partitioned tensor is shown as its stored slices, each under its
        raw binary slice key, and not under its own name.
        """
        if not isinstance(self._impl, BundleReader):
            lines = [(n.encode("utf-8", "surrogateescape"), self._impl.dtype(n).proto_name,
                      self._impl.shape(n)) for n in self._impl.names()]
        else:
            lines = [(key, _enum_name(entry.dtype), [d.size for d in entry.shape.dim])
                     for key, entry in sorted(self._impl.raw_entries().items())
                     if not entry.slices]
        return b"".join(key + f" ({dtype}) [{','.join(map(str, shape))}]\n"
                        .encode() for key, dtype, shape in lines)

    def object_graph(self):
        """The TrackableObjectGraph of a TF2 object-based checkpoint; None for others."""
        if not self._impl.has_tensor(OBJECT_GRAPH_KEY):
            return None
        return parse_object_graph(self._impl.get_tensor(OBJECT_GRAPH_KEY),
                                  f"{OBJECT_GRAPH_KEY} in checkpoint {self.prefix}")

    def close(self) -> None:
        self._impl.close()

    def __enter__(self) -> "CheckpointReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
