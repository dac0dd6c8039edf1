"""Tensor slices: `shape_and_slices` specs, TensorSliceProto, and the binary slice keys.

A slice is one (start, length) extent per dimension; length -1 means the whole dimension.

Spec strings (SaveV2 / RestoreV2 `shape_and_slices`): "" is the whole tensor; otherwise the
full shape's dims and then the slice, space-separated: "6 2 0,2:-" is rows 0-1 of a [6,2]
tensor, all columns.

Slice keys (the index key of one stored slice of a partitioned tensor), made of
OrderedCode pieces so that they sort right after the header key "":

    key := num(0) | string(name) | num(rank) | (signed(start) signed(length))*rank

    num(v)     one byte L, then v in L big-endian bytes, leading zeros dropped (0 -> 00)
    string(s)  s with 00 -> 00 ff and ff -> ff 00, then the terminator 00 01
    signed(v)  n bytes holding [-2**(7n-1), 2**(7n-1)): the big-endian two's complement of v
               with n one-bits XORed over its top (n = 1..10); 0 -> 80, -1 -> 7f, 100 -> c0 64
A full extent is written as start 0, length -1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flowsaver import errors
from flowsaver.format import dtypes
from flowsaver.format.box_overlap import TooIrregular, first_overlap
from flowsaver.format.coding import CorruptionError
from flowsaver.format.protos import TensorSliceProto

FULL = -1  # extent length meaning "the whole dimension"
MAX_SLICES = 1 << 16  # per tensor; TensorFlow partitions into tens, not tens of thousands
MAX_SPEC_RANK = 254   # TensorFlow's TensorShape limit, for the shapes of spec strings


class SliceSpecError(errors.InvalidArgumentError, ValueError):
    """A malformed slice or ``shape_and_slice`` spec string. An InvalidArgumentError, as
    TensorFlow's RestoreV2 and SaveV2 raise, and a ValueError, as this module raised
    before."""


def _spec_int(text: str, spec: str) -> int:
    """One decimal integer of a spec; SliceSpecError naming the whole spec otherwise."""
    try:
        return int(text)
    except ValueError:
        raise SliceSpecError(f"shape_and_slice spec {spec!r}: {text!r} is not an "
                             f"integer") from None


@dataclass(frozen=True)
class TensorSlice:
    """Per-dimension ``(start, length)`` pairs; ``length == -1`` is a full extent."""

    extents: tuple[tuple[int, int], ...]

    @classmethod
    def full(cls, rank: int) -> "TensorSlice":
        return cls(((0, FULL),) * rank)

    @classmethod
    def parse(cls, spec: str) -> "TensorSlice":
        """From ``"0,2:-"`` form. Raises SliceSpecError (a ValueError) when malformed."""
        extents = []
        for part in spec.split(":"):
            if part == "-":
                extents.append((0, FULL))
                continue
            start, sep, length = part.partition(",")
            if not sep:
                raise SliceSpecError(f"slice extent {part!r} of {spec!r} is neither '-' nor "
                                     f"'start,length'")
            s, n = _spec_int(start, spec), _spec_int(length, spec)
            if s < 0 or n < 0:
                raise SliceSpecError(f"slice extent {part!r} of {spec!r} has a negative "
                                     f"start or length")
            extents.append((s, n))
        return cls(tuple(extents))

    def __str__(self) -> str:
        return ":".join("-" if n == FULL else f"{s},{n}" for s, n in self.extents)

    @property
    def rank(self) -> int:
        return len(self.extents)

    def resolve(self, shape) -> tuple[tuple[int, int], ...]:
        """Concrete ``(start, length)`` per dimension within ``shape``; ValueError if out."""
        if len(shape) != self.rank:
            raise ValueError(f"slice {self} has rank {self.rank}, shape {list(shape)} has "
                             f"rank {len(shape)}")
        out = []
        for (s, n), dim in zip(self.extents, shape):
            if n == FULL:
                s, n = 0, dim
            if s < 0 or n < 0 or s + n > dim:
                raise ValueError(f"slice {self} does not fit in shape {list(shape)}")
            out.append((s, n))
        return tuple(out)

    def is_full(self, shape) -> bool:
        return all(s == 0 and n == d for (s, n), d in zip(self.resolve(shape), shape))

    def to_proto(self) -> TensorSliceProto:
        proto = TensorSliceProto()
        for s, n in self.extents:
            ext = proto.extent.add()
            if s:
                ext.start = s
            if n != FULL:
                ext.length = n
        return proto

    @classmethod
    def from_proto(cls, proto) -> "TensorSlice":
        extents = []
        for ext in proto.extent:
            n = ext.length if ext.HasField("length") else FULL
            if ext.start < 0 or n < FULL:
                raise CorruptionError(f"slice extent has start {ext.start}, length {n}")
            extents.append((ext.start, n))
        return cls(tuple(extents))


def parse_shape_and_slice(spec: str) -> tuple[tuple[int, ...] | None, TensorSlice | None]:
    """``"6 2 0,2:-"`` -> ``((6, 2), TensorSlice)``; ``""`` -> ``(None, None)``.

    Raises:
      SliceSpecError: (an InvalidArgumentError and a ValueError) the spec is malformed, or
        its slice does not fit its shape; the message quotes the spec.
    """
    if not spec:
        return None, None
    parts = spec.split(" ")
    if len(parts) < 2:
        raise SliceSpecError(f"shape_and_slice {spec!r} needs the shape and a slice")
    if len(parts) - 1 > MAX_SPEC_RANK:
        raise SliceSpecError(f"shape_and_slice {spec[:100]!r}... has {len(parts) - 1} "
                             f"dimensions, more than a shape has ({MAX_SPEC_RANK})")
    shape = tuple(_spec_int(p, spec) for p in parts[:-1])
    if any(d < 0 for d in shape):
        raise SliceSpecError(f"shape_and_slice {spec!r} has a negative dimension")
    tslice = TensorSlice.parse(parts[-1])
    try:
        tslice.resolve(shape)
    except ValueError as exc:
        raise SliceSpecError(f"shape_and_slice {spec!r}: {exc}") from None
    return shape, tslice


def format_shape_and_slice(shape, tslice: TensorSlice) -> str:
    return " ".join(str(d) for d in shape) + " " + str(tslice)


# --- OrderedCode -------------------------------------------------------------------------

def _num_increasing(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return bytes([len(body)]) + body


def _escape_both(data: bytes) -> bytes:
    out = bytearray()
    for b in data:
        out += b"\x00\xff" if b == 0 else b"\xff\x00" if b == 0xFF else bytes([b])
    return bytes(out)


def _signed_header(n: int) -> int:
    return (0xFFFF << (16 - n)) & 0xFFFF


def _signed_increasing(value: int) -> bytes:
    x = ~value if value < 0 else value
    if x < 64:
        return bytes([(0x80 ^ value) & 0xFF])
    n = x.bit_length() // 7 + 1
    raw = bytearray((value & ((1 << 80) - 1)).to_bytes(10, "big")[10 - n:])
    header = _signed_header(n)
    raw[0] ^= header >> 8
    raw[1] ^= header & 0xFF
    return bytes(raw)


# Every stored slice's key starts with the increasing encoding of 0, a NUL byte, which
# no tensor name can start with.
SLICE_KEY_START = b"\x00"


def encode_tensor_name_slice(name: bytes, tslice: TensorSlice) -> bytes:
    """The index key of one stored slice of tensor ``name`` (starts with SLICE_KEY_START)."""
    out = bytearray(SLICE_KEY_START)
    out += _escape_both(name) + b"\x00\x01"
    out += _num_increasing(tslice.rank)
    for start, length in tslice.extents:
        out += _signed_increasing(start)
        out += _signed_increasing(length)
    return bytes(out)


class _Cursor:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise CorruptionError("slice key ends early")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def num(self) -> int:
        length = self.take(1)[0]
        if length > 8:
            raise CorruptionError("slice key number is longer than 8 bytes")
        return int.from_bytes(self.take(length), "big")

    def string(self) -> bytes:
        out = bytearray()
        while True:
            b = self.take(1)[0]
            if b == 0:
                nxt = self.take(1)[0]
                if nxt == 1:
                    return bytes(out)
                if nxt != 0xFF:
                    raise CorruptionError("slice key has a bad escape after 00")
                out.append(0)
            elif b == 0xFF:
                if self.take(1)[0] != 0:
                    raise CorruptionError("slice key has a bad escape after ff")
                out.append(0xFF)
            else:
                out.append(b)

    def signed(self) -> int:
        first = self.data[self.pos] if self.pos < len(self.data) else self.take(1)[0]
        negative = not first & 0x80
        norm = (lambda b: b ^ 0xFF) if negative else (lambda b: b)
        if not norm(first) & 0x40:
            n = 1
        else:
            second = self.data[self.pos + 1] if self.pos + 1 < len(self.data) else 0
            bits = (norm(first) << 8) | (norm(second) if self.pos + 1 < len(self.data) else 0)
            n = 0
            while n < 16 and bits & (0x8000 >> n):
                n += 1
            if n > 10:
                raise CorruptionError("slice key signed number is longer than 10 bytes")
        raw = bytearray(self.take(n))
        header = _signed_header(n)
        raw[0] ^= header >> 8
        if n > 1:
            raw[1] ^= header & 0xFF
        return int.from_bytes(raw, "big", signed=True)


def decode_tensor_name_slice(key: bytes) -> tuple[bytes, TensorSlice]:
    """Inverse of :func:`encode_tensor_name_slice`; CorruptionError if malformed."""
    cur = _Cursor(key)
    if cur.num() != 0:
        raise CorruptionError("slice key does not start with 0")
    name = cur.string()
    rank = cur.num()
    if rank < 1 or rank > 64:
        raise CorruptionError(f"slice key has rank {rank}")
    extents = []
    for _ in range(rank):
        start = cur.signed()
        length = cur.signed()
        if start < 0:
            raise CorruptionError(f"slice key has negative start {start}")
        extents.append((start, FULL if length < 0 else length))
    if cur.pos != len(key):
        raise CorruptionError("slice key has trailing bytes")
    return name, TensorSlice(tuple(extents))


# --- assembling a tensor from stored slices --------------------------------------------------

def num_elements(shape) -> int:
    """Product of the dims, as a Python int (no overflow)."""
    n = 1
    for d in shape:
        n *= d
    return n


def check_disjoint(slices, boxes, where: str) -> None:
    """DataLossError unless the stored ``boxes`` (one per TensorSlice) are pairwise disjoint.

    O(n log n) for slices that vary along one or two dimensions (box_overlap.py).

    Raises:
      DataLossError: two slices overlap, or there are more than MAX_SLICES.
      ResourceExhaustedError: three or more dimensions vary in a layout too irregular to
        check in bounded time (no partitioner writes one).
    """
    if len(boxes) > MAX_SLICES:
        raise errors.DataLossError(f"{where}: {len(boxes)} stored slices, more than the "
                                   f"{MAX_SLICES} flowsaver accepts for one tensor")
    try:
        pair = first_overlap(boxes)
    except TooIrregular as exc:
        raise errors.ResourceExhaustedError(f"{where}: {exc}") from None
    if pair is not None:
        i, j = sorted(pair)
        raise errors.DataLossError(f"{where}: stored slices {slices[i]} and {slices[j]} "
                                   f"overlap")


def overlap(a, b):
    """Intersection of two boxes of ``(start, length)``; None when empty."""
    out = []
    for (s1, n1), (s2, n2) in zip(a, b):
        lo, hi = max(s1, s2), min(s1 + n1, s2 + n2)
        if hi <= lo:
            return None
        out.append((lo, hi - lo))
    return tuple(out)


def assemble_slices(want, numpy_dtype, pieces, label: str, described) -> np.ndarray:
    """Copy the parts of stored slices that fall in box ``want`` into one new array.

    Args:
      want: ``((start, length), ...)`` per dimension, resolved against the full shape.
      numpy_dtype: the output's dtype.
      pieces: ``(box, read)`` per stored slice; ``read()`` returns that box's array and is
        only called when the box meets ``want``. The boxes must not overlap.
      label, described: for the error message ("partitioned tensor X in F"; the slice
        texts, or a function returning them, called only for the message).

    Raises:
      InvalidArgumentError: the stored slices do not cover ``want``.
      DataLossError: a piece read has the wrong shape.
    """
    size = tuple(n for _, n in want)
    dtypes.check_array_rank(size, label)
    needed = num_elements(size)
    common = [(box, read, overlap(box, want)) for box, read in pieces]
    covered = sum(num_elements(n for _, n in c) for _, _, c in common if c is not None)
    if covered != needed:
        raise errors.InvalidArgumentError(
            f"Does not have sufficient slices for {label}: the stored slices "
            f"{described() if callable(described) else described} "
            f"cover {covered} of the {needed} elements asked for")
    out = np.empty(size, dtype=numpy_dtype)
    for box, read, part in common:
        if part is None or not needed:
            continue
        array = read()
        if array.shape != tuple(n for _, n in box):
            raise errors.DataLossError(f"{label}: a slice holds shape {list(array.shape)}, "
                                       f"expected {[n for _, n in box]}")
        src = tuple(slice(cs - bs, cs - bs + cn) for (cs, cn), (bs, _) in zip(part, box))
        dst = tuple(slice(cs - ws, cs - ws + cn) for (cs, cn), (ws, _) in zip(part, want))
        out[dst] = array[src]
    return out
