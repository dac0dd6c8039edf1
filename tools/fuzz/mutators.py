"""Mutators: blind byte edits, protobuf field-level edits, and text-proto token edits.

Each takes the bytes to mutate and a ``random.Random`` and returns new bytes. None of
them knows a schema: the protobuf mutator walks the wire format (tag, wire type, value)
and descends into length-delimited fields that themselves parse as messages, so nested
messages (a TensorProto in a NodeDef in a GraphDef) are reached without .proto files.
"""
from __future__ import annotations

import random
import re
import struct

from tools.fuzz.framing import varint

# A mutation may grow a field this much at most: readers are linear in a file's size, and
# a 70 MB graph spends the whole CPU budget of an input on legitimate work.
MAX_GROWTH = 1 << 20
# Values that sit on the boundaries readers must check.
INTERESTING_INTS = [0, 1, 2, 7, 8, 127, 128, 255, 256, 1023, 4096, 65535, 65536,
                    (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32, (1 << 40), 10 ** 12,
                    (1 << 62), (1 << 63) - 1, -1, -2, -(1 << 31), -(1 << 63), 500_000_000]
INTERESTING_FLOATS = [0.0, -0.0, 1.0, -1.0, float("nan"), float("inf"), float("-inf"),
                      1e20, -1e20, 1.7e12, 5e-324, 1.7976931348623157e308, 2.0 ** 31]
INTERESTING_BYTES = [b"", b"\x00", b"\xff\xfe", b"\xc3\x28", b"a" * 300, b"..", b"/",
                     b"../../x", b"*", b"[", b"?", b"\\", b"\n", b"\x00\x01", b"-1",
                     b"3 x 0,1:-", b"0,1:-", b"\x80" * 11]


# --- bytes -------------------------------------------------------------------------------

def flip_bit(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return b"\x00"
    out = bytearray(data)
    out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def set_byte(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return bytes([rng.choice((0, 0xFF))])
    out = bytearray(data)
    out[rng.randrange(len(out))] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(len(data) + 1)]


def insert_bytes(data: bytes, rng: random.Random) -> bytes:
    pos = rng.randrange(len(data) + 1)
    chunk = rng.choice([bytes(rng.randrange(1, 9)), rng.randbytes(rng.randrange(1, 17)),
                        rng.choice(INTERESTING_BYTES)])
    return data[:pos] + chunk + data[pos:]


def delete_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    pos = rng.randrange(len(data))
    return data[:pos] + data[pos + rng.randrange(1, 17):]


def duplicate_chunk(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    a = rng.randrange(len(data))
    b = min(len(data), a + rng.randrange(1, 65))
    pos = rng.randrange(len(data) + 1)
    return data[:pos] + data[a:b] * rng.choice((1, 2, 50)) + data[pos:]


def overwrite_int(data: bytes, rng: random.Random) -> bytes:
    """An interesting little-endian 4- or 8-byte integer written over the bytes."""
    width = rng.choice((4, 8))
    if len(data) < width:
        return data
    pos = rng.randrange(len(data) - width + 1)
    value = rng.choice(INTERESTING_INTS) & ((1 << (8 * width)) - 1)
    return data[:pos] + value.to_bytes(width, "little") + data[pos + width:]


BYTE_MUTATORS = [flip_bit, set_byte, truncate, insert_bytes, delete_bytes, duplicate_chunk,
                 overwrite_int]


def mutate_bytes(data: bytes, rng: random.Random, rounds: int | None = None) -> bytes:
    for _ in range(rounds or rng.choice((1, 1, 1, 2, 4))):
        data = rng.choice(BYTE_MUTATORS)(data, rng)
    return data


# --- protobuf wire format ----------------------------------------------------------------

def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("bad varint")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        shift += 7
        if not byte & 0x80:
            return value, pos


def parse_fields(data: bytes) -> list[tuple[int, int, bytes]] | None:
    """``[(field number, wire type, raw value bytes)]``, or None when not a message."""
    fields, pos = [], 0
    try:
        while pos < len(data):
            key, pos = _read_varint(data, pos)
            number, wire = key >> 3, key & 7
            if number == 0:
                return None
            if wire == 0:
                _, end = _read_varint(data, pos)
            elif wire == 1:
                end = pos + 8
            elif wire == 5:
                end = pos + 4
            elif wire == 2:
                length, pos = _read_varint(data, pos)
                end = pos + length
            else:
                return None
            if end > len(data):
                return None
            fields.append((number, wire, data[pos:end]))
            pos = end
    except ValueError:
        return None
    return fields


def encode_fields(fields) -> bytes:
    out = bytearray()
    for number, wire, raw in fields:
        out += varint((number << 3) | wire)
        if wire == 2:
            out += varint(len(raw))
        out += raw
    return bytes(out)


def _mutate_scalar(wire: int, raw: bytes, rng: random.Random) -> bytes:
    if wire == 0:
        return varint(rng.choice(INTERESTING_INTS + [rng.randrange(1 << 20)]))
    if wire == 1:
        if rng.random() < 0.5:
            return struct.pack("<d", rng.choice(INTERESTING_FLOATS))
        return (rng.choice(INTERESTING_INTS) & ((1 << 64) - 1)).to_bytes(8, "little")
    if wire == 5:
        if rng.random() < 0.5:
            return struct.pack("<f", rng.choice(INTERESTING_FLOATS[:9]))
        return (rng.choice(INTERESTING_INTS) & 0xFFFFFFFF).to_bytes(4, "little")
    # length-delimited, not descended into: a string or packed numbers
    choice = rng.randrange(4)
    if choice == 0:
        return rng.choice(INTERESTING_BYTES)
    if choice == 1:
        return mutate_bytes(raw, rng, 1)
    if choice == 2:   # repeated, but the input stays small: big files only cost time
        return raw * rng.choice((2, 3, 100) if len(raw) < MAX_GROWTH // 100 else (2,))
    return raw[:rng.randrange(len(raw) + 1)]


def mutate_message(data: bytes, rng: random.Random, depth: int = 0) -> bytes:
    """One field-level edit somewhere in the message tree of ``data``."""
    fields = parse_fields(data)
    if not fields or depth > 12:
        return mutate_bytes(data, rng, 1)
    i = rng.randrange(len(fields))
    number, wire, raw = fields[i]
    action = rng.random()
    if wire == 2 and action < 0.55 and parse_fields(raw):
        fields[i] = (number, wire, mutate_message(raw, rng, depth + 1))
    elif action < 0.75:
        fields[i] = (number, wire, _mutate_scalar(wire, raw, rng))
    elif action < 0.82:
        del fields[i]
    elif action < 0.89:
        fields.insert(rng.randrange(len(fields) + 1), fields[i])
    elif action < 0.94:       # the same value under another wire type or field number
        fields[i] = (rng.choice((number, number + 1, rng.randrange(1, 20))),
                     rng.choice((0, 1, 2, 5)), raw)
        if fields[i][1] == 0:
            fields[i] = (fields[i][0], 0, varint(len(raw)))
        elif fields[i][1] in (1, 5):
            fields[i] = (fields[i][0], fields[i][1], (raw + bytes(8))[:8 if fields[i][1] == 1
                                                                      else 4])
    else:                     # a new field of a random number
        wire = rng.choice((0, 2, 5, 1))
        fields.insert(rng.randrange(len(fields) + 1),
                      (rng.randrange(1, 16), wire, _mutate_scalar(wire, b"ab", rng)))
    return encode_fields(fields)


def mutate_proto(data: bytes, rng: random.Random) -> bytes:
    """Field-level edits (mostly), sometimes followed by a byte-level one."""
    for _ in range(rng.choice((1, 1, 2, 3))):
        data = mutate_message(data, rng)
    if rng.random() < 0.1:
        data = mutate_bytes(data, rng, 1)
    return data


# --- text protos -------------------------------------------------------------------------

_TOKEN = re.compile(rb'"(?:[^"\\\n]|\\.)*"|-?[0-9][0-9.eE+\-xXa-fA-F]*|[A-Za-z_][A-Za-z0-9_]*'
                    rb'|[{}:<>\[\],;]|\s+|.', re.S)
TEXT_NUMBERS = [b"0", b"-1", b"4294967296", b"9223372036854775808", b"1e20", b"nan",
                b"inf", b"-inf", b"1.7e12", b"0x7fffffff", b"1e400", b"00", b"-0"]
TEXT_STRINGS = [b'""', b'"\\377\\376"', b'"../../etc/passwd"', b'"*"', b'"model-?[0-9]"',
                b'"\\000"', b'"' + b"a" * 500 + b'"', b'"3 x 0,1:-"', b'"/"', b'"\\\\"']


def mutate_text_proto(data: bytes, rng: random.Random) -> bytes:
    """Token-level edits of protobuf text: numbers, strings, names, lines, nesting."""
    tokens = _TOKEN.findall(data)
    if not tokens:
        return mutate_bytes(data, rng)
    for _ in range(rng.choice((1, 1, 2, 3))):
        if not tokens:
            break
        i = rng.randrange(len(tokens))
        tok = tokens[i]
        action = rng.random()
        if tok[:1] == b'"' and action < 0.7:
            tokens[i] = rng.choice(TEXT_STRINGS)
        elif tok[:1].isdigit() or tok[:1] == b"-":
            tokens[i] = rng.choice(TEXT_NUMBERS)
        elif tok[:1].isalpha() and action < 0.5:
            names = [t for t in tokens if t[:1].isalpha()]
            tokens[i] = rng.choice(names + [b"unknown_field", b"nan", b"true"])
        elif action < 0.6:       # duplicate a line's worth of tokens
            j = min(len(tokens), i + rng.randrange(1, 12))
            tokens[i:i] = tokens[i:j]
        elif action < 0.75:
            del tokens[i:i + rng.randrange(1, 6)]
        elif action < 0.85:      # deep nesting
            depth = rng.choice((10, 200, 5000))
            tokens[i:i] = [b" a { "] * depth + [b" } "] * depth
        else:
            tokens[i] = mutate_bytes(tok, rng, 1)
    return b"".join(tokens)
