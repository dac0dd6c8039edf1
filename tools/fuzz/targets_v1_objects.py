"""Fuzz targets over legacy V1 checkpoints and TF2 object graphs.

- v1: one SavedTensorSlices value (or the meta) edited at field level, the table
  rewritten with valid block checksums; or blind byte edits (a checksum then breaks).
- object_graph: the TrackableObjectGraph proto edited at field level and stored as a new
  string tensor with valid checksums; reading it must agree with protobuf's own parse.
"""
from __future__ import annotations

import os
import tempfile

from flowsaver.cli.object_tree import object_graph_json, object_graph_lines
from flowsaver.format.protos import (BundleEntryProto, SavedTensorSlices, TensorProto,
                                     TrackableObjectGraph)
from flowsaver.format.reader import CheckpointReader
from flowsaver.format.slices import TensorSlice, encode_tensor_name_slice
from flowsaver.format.table import TableReader
from flowsaver.format.tensor_sources import CheckpointSource
from flowsaver.train.restore_check import object_graph_keys
from tools.fuzz import framing, mutators
from tools.fuzz.runner import Case, WrongData
from tools.fuzz.target_base import FIXTURES, Seed, digest
from tools.fuzz.targets_checkpoint import (OBJECT_GRAPH_KEY, _CheckpointTarget, _index_rel,
                                           _parent, _seed_from, _truth, checkpoint_steps,
                                           key_name, string_tensor)


# --- V1 ----------------------------------------------------------------------------------

def v1_seeds() -> list[Seed]:
    seeds = []
    for directory, base in ((FIXTURES / "tf" / "v1", "model.ckpt"),
                            (FIXTURES / "tf_samples" / "s7_v1_format", "v1model.ckpt")):
        if (directory / base).is_file():
            seeds.append(Seed(f"TensorFlow V1 {directory.name}",
                              {f"ck/{base}": (directory / base).read_bytes()}, f"ck/{base}",
                              _truth(str(directory / base))))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "v1")
        with open(path, "wb") as f:
            f.write(framing.table(_v1_items()))
        seeds.append(Seed("fuzzer-built V1", {"ck/v1": open(path, "rb").read()}, "ck/v1",
                          _truth(path)))
    return seeds


def _v1_items() -> list:
    meta = SavedTensorSlices()
    meta.meta.versions.producer = 1
    items = {}
    for name, dtype, shape, parts in (
            ("emb", 1, (4, 2), [("0,2:-", dict(float_val=[1, 2, 3, 4])),
                                ("2,2:-", dict(float_val=[5, 6, 7, 8]))]),
            ("s", 7, (2,), [(None, dict(string_val=[b"x", b"\xff"]))]),
            ("n", 9, (), [(None, dict(int64_val=[1 << 40]))])):
        tensor = meta.meta.tensor.add(name=name, type=dtype)
        tensor.shape.SetInParent()
        for d in shape:
            tensor.shape.dim.add(size=d)
        for spec, values in parts:
            tslice = TensorSlice.full(len(shape)) if spec is None else TensorSlice.parse(spec)
            tensor.slice.add().CopyFrom(tslice.to_proto())
            saved = SavedTensorSlices()
            saved.data.name = name
            saved.data.slice.CopyFrom(tslice.to_proto())
            saved.data.data.CopyFrom(TensorProto(**values))
            items[encode_tensor_name_slice(name.encode(), tslice)] = saved.SerializeToString()
    items[b""] = meta.SerializeToString()
    return sorted(items.items())


class V1Target(_CheckpointTarget):
    name = "v1"

    def seeds(self) -> list[Seed]:
        return v1_seeds()

    def mutate(self, seed: Seed, rng) -> Case:
        files = dict(seed.files)
        if rng.random() < 0.25:
            files[seed.main] = mutators.mutate_bytes(files[seed.main], rng)
            return Case(files, frozenset(), "table bytes")
        items = list(TableReader(files[seed.main]))
        i = rng.randrange(len(items))
        key, value = items[i]
        items[i] = (key, mutators.mutate_proto(value, rng))
        parent = _parent(key) if key else None
        touched = None if parent is None else frozenset({key_name(parent)})
        files[seed.main] = framing.table(items, rng.choice((1, 1 << 30)))
        return Case(files, touched, "meta fields" if not key else "slice fields")


# --- TF2 object graphs --------------------------------------------------------------------

class ObjectGraphTarget(_CheckpointTarget):
    name = "object_graph"

    def seeds(self) -> list[Seed]:
        seeds = []
        for directory, base in ((FIXTURES / "tf" / "tf2_object", "ckpt-1"),
                                (FIXTURES / "tf" / "tf2_object", "slots")):
            seed = _seed_from(directory, base, f"TensorFlow {base}")
            with CheckpointReader(str(directory / base)) as r:
                seed.extra["graph"] = r.get_tensor(OBJECT_GRAPH_KEY)
            seeds.append(seed)
        return seeds

    def mutate(self, seed: Seed, rng) -> Case:
        files = dict(seed.files)
        new = mutators.mutate_proto(seed.extra["graph"], rng)
        rel_index = _index_rel(seed)
        data_rel = sorted(k for k in files if ".data-" in k)[0]
        stored, crc = string_tensor([new])
        items = list(TableReader(files[rel_index]))
        key = OBJECT_GRAPH_KEY.encode()
        for i, (k, v) in enumerate(items):
            if k == key:
                entry = BundleEntryProto.FromString(v)
                entry.shard_id, entry.offset = 0, len(files[data_rel])
                entry.size, entry.crc32c = len(stored), crc
                items[i] = (k, entry.SerializeToString())
        files[data_rel] = files[data_rel] + stored
        files[rel_index] = framing.table(items)
        return Case(files, frozenset({OBJECT_GRAPH_KEY}), "object graph fields",
                    {OBJECT_GRAPH_KEY: digest(new)})

    def steps(self, directory: str, seed: Seed, case: Case) -> list:
        prefix = os.path.join(directory, seed.main)
        new = case.expect[OBJECT_GRAPH_KEY][1] if OBJECT_GRAPH_KEY in case.expect \
            else seed.extra["graph"]                 # digest ("bytes", the graph's bytes)

        def graph():
            with CheckpointReader(prefix) as r:
                got = r.object_graph()
            try:
                want = TrackableObjectGraph.FromString(new)
            except Exception:  # noqa: BLE001 - protobuf's own verdict: not a message
                raise WrongData("the object graph read, but protobuf cannot parse its "
                                "bytes") from None
            if got.SerializeToString() != want.SerializeToString():
                raise WrongData("the object graph read differs from protobuf's parse")
            object_graph_lines(got)
            object_graph_json(got)

        def by_variable():
            with CheckpointSource(prefix, names="variable") as src:
                for spec in src.specs():
                    src.read(spec.name)

        return checkpoint_steps(prefix, seed, case) + [
            ("object_graph", graph, True), ("names_variable", by_variable, True),
            ("object_graph_keys", lambda: object_graph_keys(prefix), True)]


TARGETS = [V1Target, ObjectGraphTarget]
