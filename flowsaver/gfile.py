"""``tf.gfile``: TensorFlow 1.x's names for the file functions of ``tf.io.gfile``
(flowsaver.format.gfile), with TF1's argument names; the TF2 names too. Paths or URLs."""
from flowsaver.format import gfile as _gfile
from flowsaver.format.filesystems import FileStatistics  # noqa: F401
from flowsaver.format.gfile import (GFile, copy, exists, get_registered_schemes,  # noqa: F401
                                    glob, isdir, join, listdir, makedirs, mkdir, remove,
                                    rename, rmtree, stat, walk)

__all__ = ["Copy", "DeleteRecursively", "Exists", "FastGFile", "GFile", "Glob", "IsDirectory",
           "ListDirectory", "MakeDirs", "MkDir", "Open", "Remove", "Rename", "Stat", "Walk"]

FastGFile = GFile   # TF1's "fast" variant has been the same class since TensorFlow 1.x
Open = GFile


def Copy(oldpath, newpath, overwrite=False) -> None:  # noqa: N802 - TensorFlow's name
    """Copy a file (``tf.io.gfile.copy``)."""
    _gfile.copy(oldpath, newpath, overwrite)


def DeleteRecursively(dirname) -> None:  # noqa: N802
    """Delete a directory tree (``tf.io.gfile.rmtree``)."""
    _gfile.rmtree(dirname)


def Exists(filename) -> bool:  # noqa: N802
    return _gfile.exists(filename)


def Glob(filename) -> list:  # noqa: N802
    return _gfile.glob(filename)


def IsDirectory(dirname) -> bool:  # noqa: N802
    return _gfile.isdir(dirname)


def ListDirectory(dirname) -> list:  # noqa: N802
    return _gfile.listdir(dirname)


def MakeDirs(dirname) -> None:  # noqa: N802
    _gfile.makedirs(dirname)


def MkDir(dirname) -> None:  # noqa: N802
    _gfile.mkdir(dirname)


def Remove(filename) -> None:  # noqa: N802
    _gfile.remove(filename)


def Rename(oldname, newname, overwrite=False) -> None:  # noqa: N802
    _gfile.rename(oldname, newname, overwrite)


def Stat(filename):  # noqa: N802
    return _gfile.stat(filename)


def Walk(top, in_order=True):  # noqa: N802
    """``tf.io.gfile.walk`` with TF1's argument name for ``topdown``."""
    return _gfile.walk(top, topdown=in_order)
