"""Fuzz targets over V2 checkpoints: the index and the data files (and the seeds and read
steps every checkpoint target shares; V1 and object graphs: targets_v1_objects.py).

Mutations, besides blind byte edits of a file (which break a checksum, so every value
must still read as the original or fail with a typed error):

- v2_index: one index entry (or key) edited at the protobuf field level, a crafted
  hostile entry, keys deleted, duplicated or put out of order; the table is rewritten
  with valid block checksums (framing.py), one entry a block or all in one.
- v2_data: bytes inside one tensor changed and that tensor's CRC fixed in the index:
  it must read as the fuzzer's own decoding of those bytes, every other as before.
"""
from __future__ import annotations

import os
import struct
import tempfile

import numpy as np

from flowsaver.cli import verify_cmd
from flowsaver.cli.common import dump_json, open_checkpoint
from flowsaver.cli.inspect_cmd import describe, info_json, render_text
from flowsaver.format import dtypes
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.protos import BundleEntryProto
from flowsaver.format.reader import CheckpointReader
from flowsaver.format.slices import TensorSlice, decode_tensor_name_slice
from flowsaver.format.table import TableReader
from flowsaver.format.tensor_sources import CheckpointSource
from tools.fuzz import framing, mutators
from tools.fuzz.runner import Case
from tools.fuzz.target_base import FIXTURES, Seed, check_values, digest, read_tree

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def key_name(key: bytes) -> str:
    return key.decode("utf-8", "surrogateescape")


# --- seeds ----------------------------------------------------------------------------------

def _truth(prefix: str) -> dict:
    with CheckpointReader(prefix) as reader:
        return {n: digest(reader.get_tensor(n)) for n in reader.names()}


def _seed_from(directory, base: str, label: str) -> Seed:
    files = {f"ck/{k}": v for k, v in read_tree(directory, base + ".").items()
             if not k.endswith(".meta")}
    return Seed(label, files, f"ck/{base}", _truth(os.path.join(directory, base)))


def _mixed_bundle(directory: str) -> str:
    prefix = os.path.join(directory, "mixed")
    with BundleWriter(prefix) as w:
        w.add("f32", np.arange(12, dtype=np.float32).reshape(3, 4))
        w.add("i64", np.array([1, -2, 3, 1 << 40, -1], np.int64))
        w.add("str", np.array([b"a", b"", b"\xff\x00"], dtype=object))
        w.add("bool", np.array([True, False]))
        w.add("f16", np.ones((2, 2), np.float16))
        w.add("c64", np.array([1 + 2j, -3j], np.complex64))
        w.add("scalar", np.float64(2.5))
        w.add("empty", np.zeros((0, 3), np.float32))
        w.add("dir/\u00fcber", np.int8([7]))
        for rows in ((0, 2), (2, 1), (3, 3)):
            w.add_slice("part", (6, 2), TensorSlice((rows, (0, -1))),
                        np.full((rows[1], 2), rows[0], np.float32))
    return prefix


def v2_seeds() -> list[Seed]:
    seeds = []
    with tempfile.TemporaryDirectory() as tmp:
        _mixed_bundle(tmp)
        seeds.append(_seed_from(tmp, "mixed", "flowsaver mixed dtypes + partitioned"))
    tf_dir = FIXTURES / "tf"
    for sub, base in (("partitioned", "model.ckpt"), ("sharded", "model.ckpt-3"),
                      ("resource", "model.ckpt-1"), ("dtypes", "dtypes"),
                      ("tf2_object", "ckpt-1")):
        seeds.append(_seed_from(tf_dir / sub, base, f"TensorFlow {sub}"))
    return seeds


# --- the read steps shared by every checkpoint target ----------------------------------------

def checkpoint_steps(prefix: str, seed: Seed, case: Case) -> list:
    def reader():
        with CheckpointReader(prefix) as r:
            values = {}
            for name in r.names():
                r.dtype(name)
                r.shape(name)
                values[name] = digest(r.get_tensor(name))
            r.debug_string()
            r.get_variable_to_shape_map()
            r.get_variable_to_dtype_map()
        check_values(values, seed, case)

    def batch():
        with CheckpointReader(prefix) as r:
            got = r.get_tensors()
        check_values({n: digest(v) for n, v in got.items()}, seed, case)

    def mapped():
        with CheckpointReader(prefix, mmap=True, verify_crc=True) as r:
            check_values({n: digest(r.get_tensor(n)) for n in r.names()}, seed, case)

    def inspect():
        with open_checkpoint(prefix) as opened:
            info = describe(opened)
        render_text(info)
        dump_json(info_json(info))

    def verify():
        dump_json(verify_cmd.result_json(verify_cmd.verify(prefix), strict=True))

    def source():
        with CheckpointSource(prefix, names="path") as src:
            for spec in src.specs():
                src.read(spec.name)

    return [("reader", reader, True), ("get_tensors", batch, True), ("mmap", mapped, True),
            ("inspect", inspect, True), ("verify", verify, True), ("source", source, True)]


class _CheckpointTarget:
    """Shared by the checkpoint targets: steps on the seed's main prefix."""

    def steps(self, directory: str, seed: Seed, case: Case) -> list:
        return checkpoint_steps(os.path.join(directory, seed.main), seed, case)

    def paths(self, directory: str, seed: Seed) -> list[str]:
        return [os.path.join(directory, seed.main)]


def _index_rel(seed: Seed) -> str:
    return seed.main + ".index"


def _names_of_key(key: bytes, items) -> set[str]:
    """The names whose values change when the entry under ``key`` changes."""
    names = {key_name(key)}
    parent = key
    if key.startswith(b"\x00"):
        try:
            parent = decode_tensor_name_slice(key)[0]
        except ValueError:
            return names
        names.add(key_name(parent))
    # a partitioned tensor's slice entries become orphans when its listing changes
    names |= {key_name(k) for k, _ in items if k.startswith(b"\x00")
              and _parent(k) == parent}
    return names


def _parent(key: bytes):
    try:
        return decode_tensor_name_slice(key)[0]
    except ValueError:
        return None


HOSTILE_DTYPES = [1, 7, 21, 10, 14, 19, 99, 20, 0, 101, 23, 17]


def _hostile_entry(rng) -> bytes:
    entry = BundleEntryProto(dtype=rng.choice(HOSTILE_DTYPES),
                             shard_id=rng.choice((0, 0, 0, 1, 5, -1)),
                             offset=rng.choice(mutators.INTERESTING_INTS[:20] + [-4]),
                             size=rng.choice(mutators.INTERESTING_INTS[:22] + [-1]),
                             crc32c=rng.randrange(1 << 32))
    entry.shape.SetInParent()
    for _ in range(rng.choice((0, 1, 2, 3, 300))):
        entry.shape.dim.add(size=rng.choice(mutators.INTERESTING_INTS))
    if rng.random() < 0.3:
        entry.shape.unknown_rank = True
    for _ in range(rng.choice((0, 0, 1, 2))):
        ext = entry.slices.add().extent.add()
        ext.start = rng.choice((0, 1, 5, -1, 1 << 40))
        if rng.random() < 0.5:
            ext.length = rng.choice((0, 1, 2, -2, 1 << 40))
    return entry.SerializeToString()


class V2IndexTarget(_CheckpointTarget):
    name = "v2_index"

    def seeds(self) -> list[Seed]:
        return v2_seeds()

    def mutate(self, seed: Seed, rng) -> Case:
        rel = _index_rel(seed)
        files = dict(seed.files)
        if rng.random() < 0.2:
            files[rel] = mutators.mutate_bytes(seed.files[rel], rng)
            return Case(files, frozenset(), "index bytes")
        items = list(TableReader(seed.files[rel]))
        i = rng.randrange(len(items))
        key, value = items[i]
        touched = _names_of_key(key, items)
        action = rng.random()
        if action < 0.55:
            items[i] = (key, mutators.mutate_proto(value, rng))
            note = "entry fields"
        elif action < 0.7 and key:
            items[i] = (key, _hostile_entry(rng))
            note = "hostile entry"
        elif action < 0.8:
            new_key = rng.choice([mutators.mutate_bytes(key, rng, 1),
                                  rng.choice(mutators.INTERESTING_BYTES), key + b"\x00"])
            touched |= _names_of_key(new_key, items)
            items[i] = (new_key, value)
            note = "key"
        elif action < 0.87:
            del items[i]
            note = "entry deleted"
        elif action < 0.94:
            items.insert(i, items[i])
            note = "entry duplicated"
        else:
            j = rng.randrange(len(items))
            touched |= _names_of_key(items[j][0], items)
            items[i], items[j] = items[j], items[i]
            note = "entries swapped"
        if key == b"":
            touched = None           # the header governs every tensor
        files[rel] = framing.table(items, rng.choice((1, 2, 1 << 30)))
        return Case(files, None if touched is None else frozenset(touched), note)


def string_tensor(items: list[bytes]) -> tuple[bytes, int]:
    """A DT_STRING tensor's stored bytes and masked entry CRC (tensor_codec.py layout),
    written independently of the code under test."""
    lengths = b"".join(framing.varint(len(s)) for s in items)
    width = 8 if any(len(s) > 0xFFFFFFFF for s in items) else 4
    length_crc = framing.crc32c(b"".join(len(s).to_bytes(width, "little") for s in items))
    masked = struct.pack("<I", framing.mask(length_crc))
    crc = framing.crc32c(masked + b"".join(items), length_crc)
    return lengths + masked + b"".join(items), framing.mask(crc)


def decode_strings(data: bytes, count: int) -> list[bytes] | None:
    """The fuzzer's own decoding of a DT_STRING tensor's bytes; None when malformed."""
    lengths, pos = [], 0
    try:
        for _ in range(count):
            value = shift = 0
            while True:
                byte = data[pos]
                pos += 1
                value |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            lengths.append(value)
        pos += 4
        out = []
        for n in lengths:
            out.append(data[pos:pos + n])
            pos += n
    except IndexError:
        return None
    return out if pos == len(data) and all(len(s) == n for s, n in zip(out, lengths)) \
        else None


class V2DataTarget(_CheckpointTarget):
    name = "v2_data"

    def seeds(self) -> list[Seed]:
        return v2_seeds()

    def mutate(self, seed: Seed, rng) -> Case:
        files = dict(seed.files)
        data_rels = sorted(k for k in files if ".data-" in k)
        if rng.random() < 0.4:
            rel = rng.choice(data_rels)
            files[rel] = mutators.mutate_bytes(files[rel], rng)
            return Case(files, frozenset(), "data bytes")
        rel_index = _index_rel(seed)
        items = list(TableReader(files[rel_index]))
        stored = [(i, BundleEntryProto.FromString(v)) for i, (k, v) in enumerate(items)
                  if k and not BundleEntryProto.FromString(v).slices]
        stored = [(i, e) for i, e in stored if e.size > 0]
        i, entry = rng.choice(stored)
        key = items[i][0]
        rel = data_rels[entry.shard_id] if len(data_rels) > entry.shard_id else data_rels[0]
        blob = bytearray(files[rel])
        window = bytes(blob[entry.offset:entry.offset + entry.size])
        for _ in range(rng.choice((1, 2, 4))):
            window = rng.choice([mutators.flip_bit, mutators.set_byte,
                                 mutators.overwrite_int])(window, rng)
        blob[entry.offset:entry.offset + entry.size] = window
        files[rel] = bytes(blob)
        info = dtypes.BY_ENUM[entry.dtype]
        shape = tuple(d.size for d in entry.shape.dim)
        expect = {}
        if info.kind == "memcpy":
            entry.crc32c = framing.mask(framing.crc32c(window))
            if not key.startswith(b"\x00"):
                expect[key_name(key)] = digest(np.frombuffer(window, info.numpy).reshape(shape))
        elif info.kind == "string":
            count = int(np.prod(shape, dtype=np.int64))
            decoded = decode_strings(window, count)
            if decoded is not None:
                entry.crc32c = string_tensor(decoded)[1]
                if not key.startswith(b"\x00"):
                    value = np.array(decoded + [b""], dtype=object)[:-1].reshape(shape)
                    expect[key_name(key)] = digest(value[()] if shape == () else value)
        items[i] = (key, entry.SerializeToString())
        files[rel_index] = framing.table(items)
        return Case(files, frozenset(_names_of_key(key, items)), "tensor bytes, CRC fixed",
                    expect)


TARGETS = [V2IndexTarget, V2DataTarget]
