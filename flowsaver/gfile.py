"""``tf.gfile`` (TF1 names) and ``tf.io.gfile`` (TF2 names): files by path or URL."""
from flowsaver.format.gfile import (FileStatistics, GFile, copy, exists, glob, isdir, join,
                                    listdir, makedirs, mkdir, remove, rename, rmtree, stat,
                                    walk)

# TensorFlow 1.x spellings.
Copy = copy
DeleteRecursively = rmtree
Exists = exists
FastGFile = GFile
Glob = glob
IsDirectory = isdir
ListDirectory = listdir
MakeDirs = makedirs
MkDir = mkdir
Open = GFile
Remove = remove
Rename = rename
Stat = stat
Walk = walk

__all__ = ["Copy", "DeleteRecursively", "Exists", "FastGFile", "FileStatistics", "GFile",
           "Glob", "IsDirectory", "ListDirectory", "MakeDirs", "MkDir", "Open", "Remove",
           "Rename", "Stat", "Walk", "copy", "exists", "glob", "isdir", "join", "listdir",
           "makedirs", "mkdir", "remove", "rename", "rmtree", "stat", "walk"]
