"""One way to list and read the tensors of any file flowsaver reads, lazily.

A TensorSource lists ``TensorSpec``s (name, dtype, shape) from what a file's header or
index says, without reading tensor bytes, and reads one tensor when asked. Kinds:

    checkpoint      V2 bundles (sharded; partitioned variables come back whole under the
                    variable's name), legacy V1, TF2 object-based, a SavedModel directory
                    (its ``variables/variables`` checkpoint), any path form paths.py takes
    safetensors     ``*.safetensors``
    npz             ``*.npz``

PyTorch files need torch, which the format layer never imports: the CLI adds that kind
(flowsaver/cli/torch_io.py).

Names of TF2 object-based checkpoints, ``names=``:
    "stored"    the keys as stored: ``model/layer/kernel/.ATTRIBUTES/VARIABLE_VALUE``
    "path"      the object path: the ``/.ATTRIBUTES/VARIABLE_VALUE`` tail dropped,
                ``model/layer/kernel``; the object graph tensor left out
    "variable"  the variable's own name recorded in the object graph (``full_name``, e.g.
                ``dense/kernel``); two variables of the same name are an error
"""
from __future__ import annotations

import dataclasses
import os
from typing import Iterator

import numpy as np

from flowsaver import errors
from flowsaver.format import dtypes
from flowsaver.format.npz_file import NpzReader
from flowsaver.format.object_graph import OBJECT_GRAPH_KEY
from flowsaver.format.reader import CheckpointReader
from flowsaver.format.safetensors_file import SafetensorsReader
from flowsaver.format.saved_model import is_saved_model_dir, variables_prefix
from flowsaver.format.slices import num_elements

VARIABLE_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
NAME_MODES = ("stored", "path", "variable")
SAFETENSORS_SUFFIX = ".safetensors"
NPZ_SUFFIX = ".npz"
TORCH_SUFFIXES = (".pt", ".pth", ".bin")


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """What a source says about one tensor before it is read."""

    name: str
    dtype: dtypes.DType | None   # None: a type flowsaver has no DType for
    dtype_label: str             # the source's own name for it ("float32", "F8_E8M0")
    shape: tuple[int, ...]

    @property
    def elements(self) -> int:
        return num_elements(self.shape)

    @property
    def nbytes(self) -> int | None:
        """Bytes of a numeric tensor; None for strings and types flowsaver cannot hold."""
        if self.dtype is None or self.dtype.kind != "memcpy":
            return None
        return self.elements * self.dtype.numpy.itemsize


class TensorSource:
    """Base of every source: ``specs()`` without reading data, ``read(name)`` one tensor."""

    path: str
    kind: str

    def specs(self) -> list[TensorSpec]:
        raise NotImplementedError

    def read(self, name: str) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        """``(name, array)`` pairs in name order, each read only when reached."""
        for spec in self.specs():
            yield spec.name, self.read(spec.name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def as_array(value) -> np.ndarray:
    """A reader's value as an array (0-d arrays for scalars, object arrays for strings)."""
    if isinstance(value, bytes):
        return np.array(value, dtype=object)
    return value if isinstance(value, np.ndarray) else np.asarray(value)


class CheckpointSource(TensorSource):
    """A TensorFlow checkpoint (V1, V2, TF2 object-based) or a SavedModel's variables."""

    def __init__(self, path, names: str = "stored"):
        if names not in NAME_MODES:
            raise errors.InvalidArgumentError(f"names={names!r}: use one of {NAME_MODES}")
        self.path = os.fspath(path)
        saved_model = is_saved_model_dir(self.path)
        self._reader = CheckpointReader(variables_prefix(self.path) if saved_model
                                        else self.path)
        stored = self._reader.names()
        object_based = OBJECT_GRAPH_KEY in stored
        self.kind = ("SavedModel variables" if saved_model else
                     "V1 checkpoint" if self._reader.version == 1 else
                     "TF2 object-based checkpoint" if object_based else "V2 checkpoint")
        self._stored_of = self._name_map(stored, names if object_based else "stored")

    def _name_map(self, stored: list[str], mode: str) -> dict[str, str]:
        """``{shown name: stored key}``."""
        if mode == "stored":
            return {key: key for key in stored}
        keys = [k for k in stored if k != OBJECT_GRAPH_KEY]
        if mode == "path":
            shown = {key: key.removesuffix(VARIABLE_VALUE_SUFFIX) for key in keys}
        else:
            graph = self._reader.object_graph()
            full = {a.checkpoint_key: a.full_name for node in graph.nodes
                    for a in node.attributes if a.full_name}
            shown = {key: full.get(key, key) for key in keys}
        by_shown: dict[str, str] = {}
        for key, name in shown.items():
            if name in by_shown:
                raise errors.InvalidArgumentError(
                    f"{self.path}: {by_shown[name]!r} and {key!r} both become {name!r} with "
                    f"names={mode!r}; use names='path' or 'stored'")
            by_shown[name] = key
        return by_shown

    def specs(self) -> list[TensorSpec]:
        out = []
        for name in sorted(self._stored_of):
            key = self._stored_of[name]
            try:
                dtype = self._reader.dtype(key)
                label = dtype.name
            except errors.DataLossError:   # an enum flowsaver does not know
                dtype, label = None, "unknown DataType"
            out.append(TensorSpec(name, dtype, label, tuple(self._reader.shape(key))))
        return out

    def read(self, name: str) -> np.ndarray:
        key = self._stored_of.get(name)
        if key is None:
            raise errors.NotFoundError(f"tensor {name!r} not found in {self.path}")
        return as_array(self._reader.get_tensor(key))

    def object_graph(self):
        return self._reader.object_graph()

    def close(self) -> None:
        self._reader.close()


class SafetensorsSource(TensorSource):
    kind = "safetensors"

    def __init__(self, path, mmap: bool = False):
        self.path = os.fspath(path)
        self._reader = SafetensorsReader(self.path, mmap=mmap)
        self.metadata = dict(self._reader.metadata)

    def specs(self) -> list[TensorSpec]:
        return [TensorSpec(e.name, e.dtype, e.dtype.name if e.dtype else e.code, e.shape)
                for e in (self._reader.entries[n] for n in self._reader.names())]

    def read(self, name: str) -> np.ndarray:
        return self._reader.get_tensor(name)

    def close(self) -> None:
        self._reader.close()


class NpzSource(TensorSource):
    kind = "npz"

    def __init__(self, path):
        self.path = os.fspath(path)
        self._reader = NpzReader(self.path)

    def specs(self) -> list[TensorSpec]:
        out = []
        for name in self._reader.names():
            np_dtype = self._reader.numpy_dtype(name)
            try:
                dtype, label = dtypes.from_numpy(np_dtype), None
            except TypeError:
                dtype, label = None, str(np_dtype)
            out.append(TensorSpec(name, dtype, label or dtype.name, self._reader.shape(name)))
        return out

    def read(self, name: str) -> np.ndarray:
        return self._reader.get_tensor(name)

    def close(self) -> None:
        self._reader.close()


def is_torch_path(path) -> bool:
    return os.fspath(path).lower().endswith(TORCH_SUFFIXES)


def open_source(path, names: str = "stored", mmap: bool = False) -> TensorSource:
    """The source for ``path``, by its suffix (``.safetensors``, ``.npz``), else a
    checkpoint or SavedModel directory. ``names`` applies to TF2 object-based checkpoints;
    ``mmap`` to safetensors files.

    Raises:
      UnimplementedError: a PyTorch file (open it through flowsaver.cli.sources).
      NotFoundError, DataLossError: from the readers, naming the file.
    """
    path = os.fspath(path)
    lower = path.lower()
    if lower.endswith(SAFETENSORS_SUFFIX):
        return SafetensorsSource(path, mmap=mmap)
    if lower.endswith(NPZ_SUFFIX):
        return NpzSource(path)
    if is_torch_path(path) and os.path.isfile(path):
        raise errors.UnimplementedError(f"{path}: PyTorch files are read by "
                                        f"flowsaver.cli.sources.open_any (needs torch)")
    return CheckpointSource(path, names=names)
