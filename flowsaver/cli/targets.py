"""Where tensors can come from and go to: every source kind, PyTorch included, and one
writer ("sink") per target format, all with the same small interface.

A sink is made with the full list of ``(name, dtype, shape)`` it will receive (the
safetensors header needs it up front), says in ``order`` the order it wants them in, and
takes each tensor as C-order pieces: ``write(name, dtype, shape, pieces)``. ``finish()``
puts the file in place (every writer writes under a temporary name first); ``abort()``
leaves nothing behind.
"""
from __future__ import annotations

import os

import numpy as np

from flowsaver import errors
from flowsaver.format import dtypes, npz_file, storage
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.paths import INDEX_SUFFIX
from flowsaver.format.safetensors_file import SafetensorsWriter, code_of
from flowsaver.format.tensor_sources import (NPZ_SUFFIX, SAFETENSORS_SUFFIX, TensorSource,
                                             is_torch_path, open_source)

TARGET_KINDS = ("bundle", "safetensors", "npz", "torch")


def open_any(path, names: str = "stored", mmap: bool = False) -> TensorSource:
    """A TensorSource for any readable path, PyTorch files included (needs torch)."""
    if is_torch_path(path) and os.path.isfile(path):
        from flowsaver.cli.torch_io import TorchSource
        return TorchSource(path)
    return open_source(path, names=names, mmap=mmap)


def target_kind(path, to: str | None = None) -> str:
    """``to`` if given, else from the suffix: .safetensors, .npz, .pt/.pth/.bin, and
    anything else a V2 checkpoint prefix."""
    if to is not None:
        if to not in TARGET_KINDS:
            raise errors.InvalidArgumentError(f"unknown target format {to!r}: use one of "
                                              f"{', '.join(TARGET_KINDS)}")
        return to
    lower = os.fspath(path).lower()
    if lower.endswith(SAFETENSORS_SUFFIX):
        return "safetensors"
    if lower.endswith(NPZ_SUFFIX):
        return "npz"
    if is_torch_path(lower):
        return "torch"
    return "bundle"


class BundleSink:
    """A V2 checkpoint (one shard) that TensorFlow reads; every dtype fits."""

    kind = "V2 checkpoint"

    def __init__(self, path, specs, metadata=None):
        prefix = os.fspath(path)
        if storage.isdir(prefix):
            raise errors.InvalidArgumentError(
                f"{prefix} is a directory; give a checkpoint prefix in it, such as "
                f"{os.path.join(prefix, 'model.ckpt')}")
        self.path = prefix.removesuffix(INDEX_SUFFIX)
        self.order = [name for name, _, _ in specs]
        self._writer = BundleWriter(self.path)

    @staticmethod
    def supports(dtype: dtypes.DType) -> bool:
        return dtype.kind in ("memcpy", "string", "variant")

    def write(self, name, dtype, shape, pieces) -> None:
        self._writer.add_pieces(name, dtype, shape, pieces)

    def finish(self) -> str:
        return self._writer.finish()

    def abort(self) -> None:
        self._writer.abort()


class SafetensorsSink:
    """A ``.safetensors`` file; ``metadata`` goes into its header."""

    kind = "safetensors"

    def __init__(self, path, specs, metadata=None):
        self._writer = SafetensorsWriter(path, specs, metadata)
        self.path = self._writer.path
        self.order = self._writer.order

    @staticmethod
    def supports(dtype: dtypes.DType) -> bool:
        return code_of(dtype) is not None

    def write(self, name, dtype, shape, pieces) -> None:
        self._writer.write(name, pieces)

    def finish(self) -> str:
        return self._writer.finish()

    def abort(self) -> None:
        self._writer.abort()


class NpzSink:
    """A NumPy ``.npz``; strings become NumPy bytes arrays."""

    kind = "npz"

    def __init__(self, path, specs, metadata=None):
        self._writer = npz_file.NpzWriter(path)
        self.path = self._writer.path
        self.order = [name for name, _, _ in specs]

    @staticmethod
    def supports(dtype: dtypes.DType) -> bool:
        return npz_file.supports(dtype)

    def write(self, name, dtype, shape, pieces) -> None:
        if dtype.kind == "string":
            parts = [np.asarray(p, dtype=object).reshape(-1) for p in pieces]
            whole = np.concatenate(parts) if parts else np.empty(0, object)
            try:
                array = npz_file.strings_array(whole.reshape(shape))
            except errors.InvalidArgumentError as exc:
                raise errors.InvalidArgumentError(f"tensor {name!r}: {exc}") from None
            self._writer.write(name, array.dtype, shape, [array])
        else:
            self._writer.write(name, dtype.numpy, shape, pieces)

    def finish(self) -> str:
        return self._writer.finish()

    def abort(self) -> None:
        self._writer.abort()


def sink_class(kind: str):
    """The sink class for a target kind (the PyTorch one imports nothing until made)."""
    if kind == "torch":
        from flowsaver.cli.torch_io import TorchSink
        return TorchSink
    return {"bundle": BundleSink, "safetensors": SafetensorsSink, "npz": NpzSink}[kind]
