"""Read-only memory maps of data files, for zero-copy tensor reads.

A reader opened with ``mmap=True`` hands out NumPy views of a map of the file instead of
reading bytes into fresh arrays: opening a 10 GB checkpoint and slicing one tensor touches
only the pages of that slice. The views are read-only (writing to one raises ValueError).

Every view's extent is checked against the file's size when it is made. A file truncated
*after* that, by another process, cannot be guarded against: touching the lost pages then
ends the process with SIGBUS, as with any memory map. Copy (``np.array(view)``) what must
outlive such a change.

Closing a reader drops its maps; views still alive keep their map (and so the file's
pages) until they are garbage, which is how NumPy's own ``np.memmap`` behaves.
"""
from __future__ import annotations

import mmap

import numpy as np

from flowsaver import errors


class FileMaps:
    """One read-only map per open file descriptor, made on first use."""

    def __init__(self) -> None:
        self._maps: dict[int, mmap.mmap] = {}

    def view(self, fd: int, file_size: int, offset: int, size: int, where: str,
             path: str) -> np.ndarray:
        """A read-only uint8 view of ``size`` bytes at ``offset`` of the file behind ``fd``.

        Raises:
          DataLossError: the bytes run past the end of the file (``file_size``).
        """
        if offset < 0 or size < 0 or offset + size > file_size:
            raise errors.DataLossError(f"{where}: {size} bytes at offset {offset} run past "
                                       f"the end of {path} ({file_size} bytes)")
        if size == 0:   # an empty file cannot be mapped at all
            empty = np.empty(0, np.uint8)
            empty.flags.writeable = False
            return empty
        mapped = self._maps.get(fd)
        if mapped is None:
            mapped = self._maps[fd] = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        if len(mapped) < offset + size:   # the file shrank since its size was taken
            raise errors.DataLossError(f"{where}: {path} is now {len(mapped)} bytes, too "
                                       f"short for {size} bytes at offset {offset}")
        return np.frombuffer(mapped, np.uint8, size, offset)

    def close(self) -> None:
        for mapped in self._maps.values():
            try:
                mapped.close()
            except BufferError:   # live views hold it; it closes when they are gone
                pass
        self._maps.clear()

