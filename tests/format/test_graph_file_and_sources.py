"""Finding the graph in a .meta, a GraphDef (.pb/.pbtxt) or a SavedModel directory, and
listing/reading tensors of every source kind the format layer knows."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import text_format

from flowsaver import errors
from flowsaver.format.graph_file import read_graph_file
from flowsaver.format.meta_file import read_meta_graph_file
from flowsaver.format.reader import CheckpointReader
from flowsaver.format.safetensors_file import save_file
from flowsaver.format.graph_file import SavedModel, read_saved_model
from flowsaver.format.saved_model import variables_prefix
from flowsaver.format.tensor_sources import (CheckpointSource, NpzSource, SafetensorsSource,
                                             open_source)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tf"
META = FIXTURES / "refvar" / "model.ckpt-5.meta"
PREFIX = FIXTURES / "refvar" / "model.ckpt-5"


def make_saved_model(directory: Path, text: bool = False) -> Path:
    """A SavedModel directory built from the refvar fixture: its MetaGraph (tagged
    "serve") and its checkpoint as variables/variables."""
    meta = read_meta_graph_file(META)
    meta.meta_info_def.tags.append("serve")
    model = SavedModel(saved_model_schema_version=1)
    model.meta_graphs.add().CopyFrom(meta)
    directory.mkdir()
    if text:
        (directory / "saved_model.pbtxt").write_text(text_format.MessageToString(model))
    else:
        (directory / "saved_model.pb").write_bytes(model.SerializeToString())
    (directory / "variables").mkdir()
    for src in PREFIX.parent.glob(PREFIX.name + ".*"):
        if not src.name.endswith(".meta"):
            suffix = src.name[len(PREFIX.name):]
            shutil.copyfile(src, variables_prefix(directory) + suffix)
    return directory


# --- graphs --------------------------------------------------------------------------------------

def test_meta_and_graph_def_forms(tmp_path):
    meta = read_meta_graph_file(META)
    graph = meta.graph_def
    forms = {
        "m.meta": (META.read_bytes(), "MetaGraph"),
        "m.pbtxt": (text_format.MessageToString(meta).encode(), "MetaGraph"),
        "g.pb": (graph.SerializeToString(), "GraphDef"),
        "g.pbtxt": (text_format.MessageToString(graph).encode(), "GraphDef"),
        "mislabelled_meta.pb": (meta.SerializeToString(), "MetaGraph"),
    }
    for name, (data, kind) in forms.items():
        (tmp_path / name).write_bytes(data)
        loaded = read_graph_file(tmp_path / name)
        assert loaded.kind == kind, name
        assert loaded.graph_def == graph, name


@pytest.mark.parametrize("text", [False, True])
def test_saved_model_directory(tmp_path, text):
    directory = make_saved_model(tmp_path / "sm", text)
    model = read_saved_model(directory)
    assert list(model.meta_graphs[0].meta_info_def.tags) == ["serve"]
    loaded = read_graph_file(directory, ("serve",))
    assert loaded.kind == "SavedModel"
    assert loaded.graph_def == read_meta_graph_file(META).graph_def
    with pytest.raises(errors.NotFoundError, match="no MetaGraph has tags"):
        read_graph_file(directory, ("train",))


def test_files_holding_no_graph(tmp_path):
    (tmp_path / "x.pb").write_bytes(b"\xff\xfe not a proto")
    with pytest.raises(errors.DataLossError, match="neither a GraphDef nor a MetaGraphDef"):
        read_graph_file(tmp_path / "x.pb")
    with pytest.raises(errors.NotFoundError):
        read_graph_file(tmp_path / "missing.pb")
    with pytest.raises(errors.NotFoundError, match="not a SavedModel"):
        read_graph_file(tmp_path)
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"\x12\x03abc")
    with pytest.raises(errors.DataLossError, match="saved_model.pb"):
        read_saved_model(tmp_path / "sm")


# --- sources -------------------------------------------------------------------------------------

def test_saved_model_variables_are_a_checkpoint_source(tmp_path):
    directory = make_saved_model(tmp_path / "sm")
    with open_source(directory) as source, CheckpointReader(str(PREFIX)) as reader:
        assert source.kind == "SavedModel variables"
        assert [s.name for s in source.specs()] == sorted(reader.names())
        for name, value in source:
            np.testing.assert_array_equal(value, reader.get_tensor(name))


def test_tf2_name_modes():
    slots = FIXTURES / "tf2_object" / "slots"
    stored = CheckpointSource(slots)
    assert stored.kind == "TF2 object-based checkpoint"
    assert "_CHECKPOINTABLE_OBJECT_GRAPH" in [s.name for s in stored.specs()]
    path = CheckpointSource(slots, names="path")
    names = [s.name for s in path.specs()]
    assert "model/kernel" in names and "_CHECKPOINTABLE_OBJECT_GRAPH" not in names
    assert "model/kernel/.OPTIMIZER_SLOT/optimizer/m" in names
    np.testing.assert_array_equal(
        path.read("model/kernel"),
        stored.read("model/kernel/.ATTRIBUTES/VARIABLE_VALUE"))
    variable = CheckpointSource(slots, names="variable")
    assert sorted(s.name for s in variable.specs()) == [
        "beta1_power", "beta2_power", "bias", "bias/Adam", "bias/Adam_1", "kernel",
        "kernel/Adam", "kernel/Adam_1"]
    with pytest.raises(errors.InvalidArgumentError, match="both become 'Variable'"):
        CheckpointSource(FIXTURES / "tf2_object" / "ckpt-1", names="variable")
    with pytest.raises(errors.InvalidArgumentError, match="names="):
        CheckpointSource(slots, names="bogus")


def test_name_modes_leave_name_based_checkpoints_alone():
    assert [s.name for s in CheckpointSource(PREFIX, names="path").specs()] == \
        [s.name for s in CheckpointSource(PREFIX).specs()]


def test_file_sources(tmp_path):
    arrays = {"a": np.arange(4, dtype=np.float32), "b": np.array(7, np.int64)}
    save_file(tmp_path / "x.safetensors", arrays, {"m": "1"})
    np.savez(tmp_path / "x.npz", **arrays)
    for source in (open_source(tmp_path / "x.safetensors"), open_source(tmp_path / "x.npz")):
        assert isinstance(source, (SafetensorsSource, NpzSource))
        specs = {s.name: s for s in source.specs()}
        assert specs["a"].dtype.name == "float32" and specs["a"].shape == (4,)
        assert specs["a"].nbytes == 16
        assert {n: v.tolist() for n, v in source} == {n: v.tolist() for n, v in arrays.items()}
        source.close()
    (tmp_path / "w.pt").write_bytes(b"x")
    with pytest.raises(errors.UnimplementedError, match="torch"):
        open_source(tmp_path / "w.pt")
