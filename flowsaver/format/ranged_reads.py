"""Reading the data objects of a bundle in a store with as few ranged requests as possible.

(Local data files are opened and read by files.py: regular files only, positioned reads.)
A data object of a store is read with HTTP range requests. ``RemoteBlob`` stands where a
local file descriptor would, and ``prefetch`` plans the requests for many tensors at once: tensors
close together in one object share a ranged GET, and the GETs run concurrently.
"""
from __future__ import annotations

from flowsaver import errors
from flowsaver.format import storage


def read_object(url: str) -> bytes:
    """A whole object of a store; NotFoundError when it is not there."""
    try:
        return storage.read_bytes(url)
    except FileNotFoundError:
        raise errors.NotFoundError(f"{url}: no such object") from None
    except OSError as exc:
        raise errors.UnavailableError(f"{url}: cannot read: {exc}") from None


class RemoteBlob:
    """A data object of a store, read by byte ranges; stands where a local fd would."""

    def __init__(self, url: str):
        self.url = url
        self._store = storage.store_for(url)

    def read(self, offset: int, size: int, where: str) -> bytes:
        try:
            data = self._store.read_range(self.url, offset, size)
        except OSError as exc:
            raise errors.DataLossError(f"{where}: reading {self.url} at offset {offset} "
                                       f"failed: {exc}") from None
        if len(data) != size:
            raise errors.DataLossError(f"{where}: {self.url} ended after "
                                       f"{offset + len(data)} bytes while reading")
        return data

    def read_many(self, ranges: list[tuple[int, int]], where: str) -> list[bytes]:
        try:
            out = self._store.read_ranges(self.url, ranges)
        except OSError as exc:
            raise errors.DataLossError(f"{where}: reading {self.url} failed: {exc}") from None
        for (offset, size), data in zip(ranges, out):
            if isinstance(data, BaseException) or len(data) != size:
                raise errors.DataLossError(f"{where}: {size} bytes at offset {offset} of "
                                           f"{self.url} could not be read")
        return out


# Neighbouring tensors of a remote bundle share one ranged GET when the bytes between them
# are fewer than this, and a joined range grows to at most _MAX_JOINED_RANGE bytes.
_COALESCE_GAP = 1 << 20
_MAX_JOINED_RANGE = 64 << 20


def _coalesce(extents) -> list[tuple[int, int, list]]:
    """Sorted ``[(offset, size)]`` -> ``[(start, end, members)]`` ranges to fetch."""
    runs: list = []
    for offset, size in extents:
        if runs and offset - runs[-1][1] <= _COALESCE_GAP \
                and offset + size - runs[-1][0] <= _MAX_JOINED_RANGE:
            start, end, members = runs[-1]
            runs[-1] = (start, max(end, offset + size), members + [(offset, size)])
        else:
            runs.append((offset, offset + size, [(offset, size)]))
    return runs


def prefetch(wanted, where: str) -> dict:
    """Fetch ``[(shard_id, blob, offset, size)]`` in joined, concurrent ranged GETs.

    Returns:
      ``{(shard_id, offset, size): memoryview}`` of the fetched bytes.
    """
    by_shard: dict = {}
    for shard_id, blob, offset, size in wanted:
        by_shard.setdefault(shard_id, (blob, set()))[1].add((offset, size))
    out = {}
    for shard_id, (blob, extents) in by_shard.items():
        runs = _coalesce(sorted(extents))
        datas = blob.read_many([(start, end - start) for start, end, _ in runs],
                               f"{len(extents)} tensors of {where}")
        for (start, _, members), data in zip(runs, datas):
            view = memoryview(data)
            for offset, size in members:
                out[(shard_id, offset, size)] = view[offset - start:offset - start + size]
    return out
