"""Fuzz targets over graph files: binary and text ``.meta``, GraphDef ``.pb``/``.pbtxt``,
and SavedModel directories.

These files carry no checksum, so any mutation may legitimately change what they say.
Wrong data is then a disagreement with the file itself: after a successful import, the
graph must hold exactly the nodes (name and op type) of the MetaGraphDef or GraphDef the
file parses to, and a SavedModel's variables (whose files the mutation leaves alone)
must read as before.
"""
from __future__ import annotations

import os
import re

from google.protobuf import text_format

import flowsaver as tf
from flowsaver.cli import meta_cmd
from flowsaver.cli.common import dump_json
from flowsaver.cli.graph_dot import graph_to_dot
from flowsaver.format.graph_file import SavedModel, read_graph_file, read_saved_model
from flowsaver.format.graph_protos import MetaGraphDef
from flowsaver.format.meta_file import read_meta_graph_file
from flowsaver.format.tensor_sources import CheckpointSource
from tools.fuzz import mutators
from tools.fuzz.runner import Case, WrongData
from tools.fuzz.target_base import FIXTURES, Seed, check_values, digest, read_tree


# protobuf's text parser takes about a second for 100 KB on a busy machine: text seeds are
# kept small so that each input costs milliseconds, not seconds.
MAX_TEXT_SEED = 45_000
# The SavedModel directory's name, long enough that no message holds it by chance.
EXPORT = "exported-model"


def _meta_sources() -> list[tuple[str, MetaGraphDef]]:
    out = []
    for sub in ("refvar", "resource", "partitioned", "sharded"):
        for path in sorted((FIXTURES / "tf" / sub).glob("*.meta")):
            out.append((f"TensorFlow {sub}", MetaGraphDef.FromString(path.read_bytes())))
    for sample in ("s1_resource_adam", "s2_refvar_momentum"):
        path = FIXTURES / "tf_samples" / sample / "model.pbtxt"
        if path.is_file():
            meta = MetaGraphDef()
            text_format.Parse(path.read_text(), meta)
            out.append((f"TensorFlow {sample}", meta))
    return out


_NEW_SAVER = re.compile(r"save(_\d+)?/")


def _check_import(graph, graph_def, scope: str = "", before: dict | None = None,
                  new_saver: bool = False) -> None:
    """WrongData unless the graph holds exactly the GraphDef's nodes (and ``before``);
    with ``new_saver`` (a MetaGraphDef without a SaverDef, for which import_meta_graph
    builds a Saver as TensorFlow does), also that Saver's save/ ops."""
    want = {(scope + "/" if scope else "") + n.name: n.op for n in graph_def.node}
    want.update(before or {})
    got = {op.name: op.type for op in graph.get_operations()}
    if new_saver:
        got = {k: v for k, v in got.items() if k in want or not _NEW_SAVER.match(k)}
    if got != want:
        extra = sorted(set(got.items()) - set(want.items()))[:3]
        missing = sorted(set(want.items()) - set(got.items()))[:3]
        raise WrongData(f"the imported graph differs from the file's nodes: extra {extra}, "
                        f"missing {missing}")


class _MetaTarget:
    text = False

    def seeds(self) -> list[Seed]:
        seeds = []
        for label, meta in _meta_sources():
            data = text_format.MessageToString(meta).encode() if self.text \
                else meta.SerializeToString()
            if len(data) <= MAX_TEXT_SEED:
                seeds.append(Seed(label, {"model.meta": data}, "model.meta"))
        return seeds

    def mutate(self, seed: Seed, rng) -> Case:
        data = seed.files[seed.main]
        if self.text:
            new = mutators.mutate_text_proto(data, rng)
        elif rng.random() < 0.8:
            new = mutators.mutate_proto(data, rng)
        else:
            new = mutators.mutate_bytes(data, rng)
        return Case({seed.main: new}, None, "text tokens" if self.text else "fields")

    def paths(self, directory: str, seed: Seed) -> list[str]:
        return [os.path.join(directory, seed.main)]

    def steps(self, directory: str, seed: Seed, case: Case) -> list:
        path = os.path.join(directory, seed.main)

        def import_meta():
            meta = read_meta_graph_file(path)
            with tf.Graph().as_default() as graph:
                tf.train.import_meta_graph(path)
            _check_import(graph, meta.graph_def, new_saver=not meta.HasField("saver_def"))

        def import_scoped():
            meta = read_meta_graph_file(path)
            with tf.Graph().as_default() as graph:
                tf.constant(1.0, name="pre")
                tf.train.import_meta_graph(path, import_scope="imp", clear_devices=True)
            _check_import(graph, meta.graph_def, "imp", {"pre": "Const"},
                          new_saver=not meta.HasField("saver_def"))

        def inspect():
            doc = meta_cmd.describe(path)
            meta_cmd.render(doc)
            dump_json(doc)

        def draw():
            graph_to_dot(read_graph_file(path).graph_def)

        steps = [("read", lambda: read_meta_graph_file(path), True),
                 ("inspect", inspect, True), ("import", import_meta, True),
                 ("graph_file", draw, True)]
        # Scoped imports differ only after parsing: binary inputs, cheaper to parse, cover them.
        return steps if self.text else steps + [("import_scoped", import_scoped, True)]


class MetaBinaryTarget(_MetaTarget):
    name = "meta_binary"


class MetaTextTarget(_MetaTarget):
    name = "meta_text"
    text = True


class GraphDefTarget:
    name = "graphdef_pb"

    def seeds(self) -> list[Seed]:
        seeds = []
        for label, meta in _meta_sources():
            seeds.append(Seed(label, {"graph.pb": meta.graph_def.SerializeToString()},
                              "graph.pb"))
            text = text_format.MessageToString(meta.graph_def).encode()
            if len(text) <= MAX_TEXT_SEED:
                seeds.append(Seed(label + " (text)", {"graph.pbtxt": text}, "graph.pbtxt"))
        return seeds

    def mutate(self, seed: Seed, rng) -> Case:
        data = seed.files[seed.main]
        if seed.main.endswith(".pbtxt"):
            new = mutators.mutate_text_proto(data, rng)
        else:
            new = mutators.mutate_proto(data, rng) if rng.random() < 0.8 \
                else mutators.mutate_bytes(data, rng)
        return Case({seed.main: new}, None, "graph")

    def paths(self, directory: str, seed: Seed) -> list[str]:
        return [os.path.join(directory, seed.main)]

    def steps(self, directory: str, seed: Seed, case: Case) -> list:
        path = os.path.join(directory, seed.main)

        def import_graph():
            loaded = read_graph_file(path)
            with tf.Graph().as_default() as graph:
                tf.import_graph_def(loaded.graph_def, name="")
            _check_import(graph, loaded.graph_def)

        return [("graph_file", lambda: graph_to_dot(read_graph_file(path).graph_def), True),
                ("import_graph_def", import_graph, False)]


class SavedModelTarget:
    name = "saved_model"

    def seeds(self) -> list[Seed]:
        seeds = []
        variables = read_tree(FIXTURES / "tf" / "refvar", "model.ckpt-5.")
        files = {f"{EXPORT}/variables/variables{k[len('model.ckpt-5'):]}": v
                 for k, v in variables.items() if not k.endswith(".meta")}
        with CheckpointSource(FIXTURES / "tf" / "refvar" / "model.ckpt-5") as src:
            truth = {spec.name: digest(src.read(spec.name)) for spec in src.specs()}
        for label, meta in _meta_sources()[:1]:
            meta.meta_info_def.tags.append("serve")
            model = SavedModel(saved_model_schema_version=1)
            model.meta_graphs.add().CopyFrom(meta)
            binary = dict(files, **{f"{EXPORT}/saved_model.pb": model.SerializeToString()})
            text = dict(files, **{f"{EXPORT}/saved_model.pbtxt":
                                  text_format.MessageToString(model).encode()})
            seeds.append(Seed(label, binary, f"{EXPORT}/saved_model.pb", truth))
            seeds.append(Seed(label + " (text)", text, f"{EXPORT}/saved_model.pbtxt", truth))
        return seeds

    def mutate(self, seed: Seed, rng) -> Case:
        files = dict(seed.files)
        data = files[seed.main]
        files[seed.main] = mutators.mutate_text_proto(data, rng) \
            if seed.main.endswith(".pbtxt") else mutators.mutate_proto(data, rng)
        # The variables' files are left alone: they must read as before.
        return Case(files, frozenset(), "saved_model message")

    def paths(self, directory: str, seed: Seed) -> list[str]:
        return [os.path.join(directory, EXPORT), os.path.join(directory, seed.main)]

    def steps(self, directory: str, seed: Seed, case: Case) -> list:
        export_dir = os.path.join(directory, EXPORT)

        def variables():
            with CheckpointSource(export_dir) as src:
                values = {spec.name: digest(src.read(spec.name)) for spec in src.specs()}
            check_values(values, seed, case)

        def import_graph():
            loaded = read_graph_file(export_dir, tags=("serve",))
            with tf.Graph().as_default() as graph:
                tf.import_graph_def(loaded.graph_def, name="")
            _check_import(graph, loaded.graph_def)

        return [("read", lambda: read_saved_model(export_dir), True),
                ("graph_file", lambda: graph_to_dot(
                    read_graph_file(export_dir).graph_def), True),
                ("import", import_graph, False), ("variables", variables, True)]


TARGETS = [MetaBinaryTarget, MetaTextTarget, GraphDefTarget, SavedModelTarget]
