"""Reading and writing NumPy ``.npz`` archives one tensor at a time.

Layout (NumPy's own; what ``np.savez`` writes and ``np.load`` reads):

    a ZIP archive (stored, not compressed, when we write it; ZIP64 so that members may
    pass 4 GiB) with one member ``NAME.npy`` per tensor, each an ``.npy`` file:
        6 bytes   magic b"\\x93NUMPY"
        2 bytes   format version (major, minor): 1.0, or 2.0 when the header needs it
        2 or 4    header length, little-endian
        header    a Python dict literal {'descr': '<f4', 'fortran_order': False,
                  'shape': (2, 3)}, padded with spaces and a newline
        data      the array's bytes, C order

``np.savez`` needs every array in memory at once; NpzWriter streams each member in
pieces instead, so a conversion holds one tensor (or one piece of it) at a time.

String tensors are stored as NumPy bytes arrays (dtype ``S``), which NumPy reads back
without pickling; as NumPy strips trailing NUL bytes from such elements, a string ending
in b"\\0" cannot be stored and is refused. Object arrays are never read (no pickle).
"""
from __future__ import annotations

import os
import zipfile

import numpy as np
from numpy.lib import format as npy

from flowsaver import errors
from flowsaver.format import dtypes
from flowsaver.format.atomic import discard, uuid_temp_suffix
from flowsaver.format.files import CommitOnExit
from flowsaver.format.slices import num_elements

MEMBER_SUFFIX = ".npy"
# NumPy dtypes an .npz holds and reads back as themselves (ml_dtypes types are not:
# NumPy writes them as raw void bytes).
NPZ_DTYPES = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
              "uint16", "uint32", "uint64", "bool", "complex64", "complex128", "string"}


def supports(dtype: dtypes.DType) -> bool:
    """Whether an ``.npz`` can hold tensors of ``dtype`` and give them back unchanged."""
    return dtype.name in NPZ_DTYPES


# --- reading ---------------------------------------------------------------------------------

class NpzReader:
    """The arrays of one ``.npz`` file; opening reads only the ZIP directory and the
    ``.npy`` headers, each array is read when asked for.

    Example:
      >>> with NpzReader("weights.npz") as r:
      ...     w = r.get_tensor("dense/kernel")
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise errors.NotFoundError(f"{self.path}: no such file") from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise errors.DataLossError(f"{self.path} is not a readable .npz (ZIP) file: "
                                       f"{exc}") from None
        self._members: dict[str, tuple[zipfile.ZipInfo, np.dtype, tuple[int, ...]]] = {}
        try:
            for info in self._zip.infolist():
                if info.is_dir():
                    continue
                name = info.filename.removesuffix(MEMBER_SUFFIX)
                self._members[name] = (info, *self._header(info, name))
        except BaseException:
            self._zip.close()
            raise

    def _header(self, info: zipfile.ZipInfo, name: str):
        where = f"array {name!r} in {self.path}"
        try:
            with self._zip.open(info) as f:
                version = npy.read_magic(f)
                reader = npy.read_array_header_1_0 if version == (1, 0) \
                    else npy.read_array_header_2_0
                shape, fortran, dtype = reader(f)
                header_len = f.tell()
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise errors.DataLossError(f"{where}: not an .npy member: {exc}") from None
        if dtype.hasobject:
            raise errors.UnimplementedError(f"{where}: object arrays need pickle, which "
                                            f"flowsaver never loads")
        count = num_elements(shape)
        if count > dtypes.MAX_ARRAY_ELEMENTS or \
                header_len + count * dtype.itemsize != info.file_size:
            raise errors.DataLossError(f"{where}: the member holds {info.file_size} bytes, "
                                       f"not a {dtype} array of shape {list(shape)}")
        return dtype, (tuple(shape), fortran)

    def names(self) -> list[str]:
        return sorted(self._members)

    def numpy_dtype(self, name: str) -> np.dtype:
        return self._member(name)[1]

    def shape(self, name: str) -> tuple[int, ...]:
        return self._member(name)[2][0]

    def _member(self, name: str):
        try:
            return self._members[name]
        except KeyError:
            raise errors.NotFoundError(f"array {name!r} not found in {self.path}") from None

    def get_tensor(self, name: str) -> np.ndarray:
        """The array; a bytes or str array comes back as an object array of bytes."""
        info = self._member(name)[0]
        try:
            with self._zip.open(info) as f:   # read_array reads in 256 KiB pieces
                array = npy.read_array(f, allow_pickle=False)
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise errors.DataLossError(f"array {name!r} in {self.path}: {exc}") from None
        if array.dtype.kind in "SU":
            encode = (lambda x: x.encode("utf-8")) if array.dtype.kind == "U" else bytes
            array = np.array([encode(x) for x in array.reshape(-1)],
                             dtype=object).reshape(array.shape)
        return array

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "NpzReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- writing ---------------------------------------------------------------------------------

def _header(dtype: np.dtype, shape) -> dict:
    return {"descr": npy.dtype_to_descr(dtype), "fortran_order": False,
            "shape": tuple(int(d) for d in shape)}


def strings_array(value) -> np.ndarray:
    """A string tensor as a NumPy bytes array; InvalidArgumentError when an element ends
    in a NUL byte, which NumPy would drop."""
    flat = [bytes(x) for x in np.asarray(value, dtype=object).reshape(-1)]
    if any(x.endswith(b"\0") for x in flat):
        raise errors.InvalidArgumentError("a string ending in a NUL byte cannot be stored in "
                                          ".npz (NumPy strips trailing NULs)")
    width = max((len(x) for x in flat), default=0) or 1
    return np.array(flat, dtype=f"S{width}").reshape(np.shape(value))


class NpzWriter(CommitOnExit):
    """Writes an ``.npz`` member by member; the file appears under its name at finish().

    Example:
      >>> with NpzWriter("out.npz") as w:
      ...     w.write("w", np.float32, (2, 3), [np.zeros((2, 3), np.float32)])
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._tmp = self.path + uuid_temp_suffix()
        self._zip = zipfile.ZipFile(self._tmp, "x", zipfile.ZIP_STORED, allowZip64=True)
        self._names: set[str] = set()

    def write(self, name: str, numpy_dtype, shape, pieces) -> None:
        """Add member ``name``: an array of ``numpy_dtype`` and ``shape`` whose C-order
        bytes are those of ``pieces`` in turn (each converted to ``numpy_dtype``)."""
        if name in self._names:
            raise errors.InvalidArgumentError(f"array name {name!r} is used twice")
        self._names.add(name)
        dtype = np.dtype(numpy_dtype)
        want = num_elements(shape) * dtype.itemsize
        written = 0
        with self._zip.open(name + MEMBER_SUFFIX, "w", force_zip64=True) as f:
            try:
                npy.write_array_header_1_0(f, _header(dtype, shape))
            except ValueError:   # a header over 64 KiB needs format 2.0
                npy.write_array_header_2_0(f, _header(dtype, shape))
            for piece in pieces:
                piece = np.ascontiguousarray(np.asarray(piece).astype(dtype, copy=False))
                data = memoryview(piece.reshape(-1).view(np.uint8))
                written += len(data)
                if written > want:
                    break
                f.write(data)
        if written != want:
            raise errors.InvalidArgumentError(f"array {name!r} for {self.path}: got a "
                                              f"different number of bytes than its dtype "
                                              f"{dtype} and shape {list(shape)} need")

    def finish(self) -> str:
        try:
            self._zip.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            discard(self._tmp)
            raise
        return self.path

    def abort(self) -> None:
        try:
            self._zip.close()
        finally:
            discard(self._tmp)
