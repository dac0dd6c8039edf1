"""PyTorch state dicts (``.pt``, ``.pth``, ``.bin``) as a tensor source and a target.

torch is an optional extra (``pip install 'flowsaver[torch]'``), imported only when a
PyTorch file is read or written. Files are loaded with ``torch.load(weights_only=True)``,
which unpickles nothing but tensors and plain containers: a file that needs any other
class is refused, never executed. Zip-format files (every ``torch.save`` since 1.6) are
memory-mapped (``mmap=True``), so listing one reads no tensor data.

Nested dicts (``{"state_dict": {...}}``, as Lightning writes) are flattened with ``.``
between the keys; values that are not tensors (an epoch number, a config string) are
not tensors of the state dict and are left out, listed in ``TorchSource.ignored``.

Writing streams: each tensor's bytes go into the zip archive as a record as soon as it is
converted (torch's own archive writer, ``PyTorchFileWriter``), and the pickled dict that
names them (``data.pkl``, what ``torch.save`` pickles: ``_rebuild_tensor_v2`` of storage
``i`` for tensor ``i``) is written last, so memory holds one tensor at a time. The file is
what ``torch.save`` of the same dict writes, read by ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import collections
import importlib
import io
import os
import pickle
import sys
import zipfile

import ml_dtypes
import numpy as np

from flowsaver import errors
from flowsaver.format import dtypes
from flowsaver.format.atomic import discard, uuid_temp_suffix
from flowsaver.format.tensor_sources import TensorSource, TensorSpec

EXTRA = "torch"


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, extra: str, purpose: str):
    """``import module``, or MissingExtraError saying which flowsaver extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(f"{purpose} needs the optional dependency {module!r}: "
                                f"pip install 'flowsaver[{extra}]'") from None


def _torch():
    return require("torch", EXTRA, "reading or writing PyTorch files")


# torch dtypes without a NumPy counterpart: the ml_dtypes type to view their bytes as and
# the torch integer type of the same width. torch and TensorFlow name all these alike.
_VIEWED = {
    "bfloat16": (ml_dtypes.bfloat16, "int16"),
    "float8_e4m3fn": (ml_dtypes.float8_e4m3fn, "uint8"),
    "float8_e5m2": (ml_dtypes.float8_e5m2, "uint8"),
    "float8_e4m3fnuz": (ml_dtypes.float8_e4m3fnuz, "uint8"),
    "float8_e5m2fnuz": (ml_dtypes.float8_e5m2fnuz, "uint8"),
}
_DIRECT = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
           "uint16", "uint32", "uint64", "bool", "complex64", "complex128"}


def supports(dtype: dtypes.DType) -> bool:
    """Whether a PyTorch state dict can hold tensors of ``dtype`` unchanged."""
    return dtype.name in _DIRECT or dtype.name in _VIEWED


def _short(torch_dtype) -> str:
    return str(torch_dtype).removeprefix("torch.")


def to_numpy(tensor) -> np.ndarray:
    """A CPU tensor's values as an array of the same type (sharing memory when it can)."""
    name = _short(tensor.dtype)
    tensor = tensor.detach().cpu().contiguous()
    if name in _DIRECT:
        return tensor.numpy()
    if name in _VIEWED:
        np_type, int_name = _VIEWED[name]
        return tensor.view(getattr(_torch(), int_name)).numpy().view(np_type)
    raise errors.UnimplementedError(f"torch dtype {name} has no TensorFlow dtype")


def from_numpy(array: np.ndarray, dtype: dtypes.DType):
    """A tensor holding ``array``'s values (of TensorFlow type ``dtype``)."""
    torch = _torch()
    if not (array.flags.c_contiguous and array.flags.writeable):
        array = array.copy(order="C")   # torch.from_numpy warns on read-only arrays
    if dtype.name in _VIEWED:
        _, int_name = _VIEWED[dtype.name]
        ints = array.view(np.dtype(int_name))
        return torch.from_numpy(ints).view(getattr(torch, dtype.name))
    return torch.from_numpy(array)


def _flatten(value, prefix: str, tensors: dict, ignored: list, torch) -> None:
    if isinstance(value, torch.Tensor):
        tensors[prefix] = value
    elif isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), tensors, ignored,
                     torch)
    else:
        ignored.append(prefix or "(top level)")


class TorchSource(TensorSource):
    """The tensors of a PyTorch state dict file, loaded with ``weights_only=True``."""

    kind = "PyTorch state dict"

    def __init__(self, path):
        torch = _torch()
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise errors.NotFoundError(f"{self.path}: no such file")
        try:
            loaded = torch.load(self.path, map_location="cpu", weights_only=True,
                                mmap=zipfile.is_zipfile(self.path))
        except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError...
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise errors.DataLossError(
                f"{self.path} is not a PyTorch file that loads with weights_only=True "
                f"({type(exc).__name__}: {first[:300]})") from None
        self._tensors: dict = {}
        self.ignored: list[str] = []
        _flatten(loaded, "", self._tensors, self.ignored, torch)

    def specs(self) -> list[TensorSpec]:
        out = []
        for name in sorted(self._tensors):
            t = self._tensors[name]
            short = _short(t.dtype)
            dtype = dtypes.BY_NAME[short] if short in _DIRECT or short in _VIEWED else None
            out.append(TensorSpec(name, dtype, short, tuple(t.shape)))
        return out

    def read(self, name: str) -> np.ndarray:
        try:
            tensor = self._tensors[name]
        except KeyError:
            raise errors.NotFoundError(f"tensor {name!r} not found in {self.path}") from None
        return to_numpy(tensor)

    def close(self) -> None:
        self._tensors.clear()


class TorchSink:
    """Writes a PyTorch state dict one tensor at a time, then the dict (atomically)."""

    kind = "PyTorch state dict"

    def __init__(self, path, specs, metadata: dict | None = None):
        self._torch = _torch()
        self.path = os.fspath(path)
        self.order = [name for name, _, _ in specs]
        self._tmp = self.path + uuid_temp_suffix()
        self._writer = self._torch._C.PyTorchFileWriter(self._tmp)
        self._stored: dict = {}

    @staticmethod
    def supports(dtype: dtypes.DType) -> bool:
        return supports(dtype)

    def write(self, name: str, dtype: dtypes.DType, shape, pieces) -> None:
        parts = [np.asarray(p).astype(dtype.numpy, copy=False).reshape(-1) for p in pieces]
        flat = np.concatenate(parts) if len(parts) != 1 else parts[0]
        tensor = from_numpy(flat, dtype)
        key = str(len(self._stored))
        self._writer.write_record(f"data/{key}", tensor.untyped_storage(), flat.nbytes)
        self._stored[name] = _Stored(_StorageRef(key, tensor.dtype, flat.size),
                                     tuple(int(d) for d in shape))

    def finish(self) -> str:
        try:
            buffer = io.BytesIO()
            _StatePickler(buffer, self._torch).dump(self._stored)
            for record, data in (("data.pkl", buffer.getvalue()), (".format_version", b"1"),
                                 ("byteorder", sys.byteorder.encode())):
                self._writer.write_record(record, data, len(data))
            self._writer.write_end_of_file()
            self._writer = None
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        finally:
            self._stored = {}
        return self.path

    def abort(self) -> None:
        self._stored = {}
        self._writer = None    # closes the archive
        discard(self._tmp)


class _StorageRef:
    """One ``data/<key>`` record: what the pickle names as a persistent storage id."""

    def __init__(self, key: str, torch_dtype, numel: int):
        self.key, self.torch_dtype, self.numel = key, torch_dtype, numel


class _Stored:
    """A tensor already written as a record: pickles as torch's own tensors do."""

    def __init__(self, ref: _StorageRef, shape: tuple):
        self.ref, self.shape = ref, shape

    def __reduce__(self):
        from torch._utils import _rebuild_tensor_v2
        strides, step = [], 1
        for size in reversed(self.shape):
            strides.append(step)
            step *= size
        return (_rebuild_tensor_v2, (self.ref, 0, self.shape, tuple(reversed(strides)), False,
                                     collections.OrderedDict()))


class _StatePickler(pickle.Pickler):
    """Pickle protocol 2 (torch.save's), storages as ("storage", type, key, "cpu", numel)."""

    def __init__(self, file, torch):
        super().__init__(file, protocol=2)
        self._torch = torch

    def persistent_id(self, obj):
        if not isinstance(obj, _StorageRef):
            return None
        kind = self._torch.empty(0, dtype=obj.torch_dtype)._typed_storage()
        storage_type = getattr(self._torch, kind._pickle_storage_type())
        return ("storage", storage_type, obj.key, "cpu", obj.numel)
