"""TF1 SavedModels cross between flowsaver and TensorFlow both ways: ``simple_save`` and
``SavedModelBuilder`` (two MetaGraphs, two signatures, an asset, a main op) written by
each load in the other and their signatures give equal outputs; the files are
TensorFlow's byte for byte (but for the producer's name); TensorFlow's ``saved_model_cli``
reads flowsaver's SavedModels as it reads its own."""
from __future__ import annotations

import os

import numpy as np
import pytest

import flowsaver
from flowsaver.format.saved_model_file import read_saved_model
from parity import tf1_mode
from saved_model_programs import X, builder_save, load_and_run, simple_save, write_asset


def _write(tf, system: str, path, program, *args) -> str:
    path = str(path)
    if system == "flowsaver":
        program(flowsaver, path, *args)
    else:
        with tf1_mode(tf) as v1:
            program(v1, path, *args)
    return path


def _load(tf, system: str, path, tags, key, feeds):
    if system == "flowsaver":
        return load_and_run(flowsaver, path, tags, key, feeds)
    with tf1_mode(tf) as v1:
        return load_and_run(v1, path, tags, key, feeds)


def _files(directory) -> dict:
    out = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, directory)] = f.read()
    return out


def _normalized(directory) -> bytes:
    """saved_model.pb with the producer's git version blanked (it names the writer)."""
    model = read_saved_model(directory)
    for meta in model.meta_graphs:
        meta.meta_info_def.tensorflow_git_version = ""
    return model.SerializeToString(deterministic=True)


@pytest.mark.parametrize("writer,reader", [("flowsaver", "tensorflow"),
                                           ("tensorflow", "flowsaver")])
def test_simple_save_crosses(tf, tmp_path, writer, reader):
    path = _write(tf, writer, tmp_path / "model", simple_save)
    ours = _load(tf, reader, path, ["serve"], "serving_default", {"x": X})
    theirs = _load(tf, writer, path, ["serve"], "serving_default", {"x": X})
    assert set(ours) == {"probs", "logits"}
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-6)


def test_simple_save_writes_tensorflows_files(tf, tmp_path):
    ours = _write(tf, "flowsaver", tmp_path / "ours", simple_save)
    theirs = _write(tf, "tensorflow", tmp_path / "theirs", simple_save)
    assert sorted(_files(ours)) == sorted(_files(theirs)) == [
        "saved_model.pb", "variables/variables.data-00000-of-00001",
        "variables/variables.index"]
    for name in ("variables/variables.index", "variables/variables.data-00000-of-00001"):
        assert _files(ours)[name] == _files(theirs)[name], name
    assert _normalized(ours) == _normalized(theirs)


@pytest.mark.parametrize("as_text", [False, True], ids=["binary", "text"])
@pytest.mark.parametrize("writer,reader", [("flowsaver", "tensorflow"),
                                           ("tensorflow", "flowsaver")])
def test_builder_with_assets_and_two_meta_graphs_crosses(tf, tmp_path, writer, reader,
                                                         as_text):
    source = write_asset(tmp_path)
    path = _write(tf, writer, tmp_path / "model", builder_save, source, as_text)
    os.remove(source)     # loading must read the copy under assets/
    assert open(os.path.join(path, "assets", "vocab.txt")).read() == "alpha\nbeta\n"
    for tags, key, feeds in ((["serve"], "serving_default", {"x": X}),
                             (["serve"], "features", {"inputs": X}),
                             (["gpu", "train"], "loss", {"x": X})):
        ours = _load(tf, reader, path, tags, key, feeds)
        theirs = _load(tf, writer, path, tags, key, feeds)
        assert sorted(ours) == sorted(theirs)
        for name, value in ours.items():
            if name == "vocab":
                assert value == theirs[name] == b"alpha\nbeta\n"
            else:
                np.testing.assert_allclose(value, theirs[name], rtol=1e-6)


@pytest.mark.parametrize("as_text", [False, True], ids=["binary", "text"])
def test_builder_writes_tensorflows_files(tf, tmp_path, as_text):
    source = write_asset(tmp_path)
    ours = _write(tf, "flowsaver", tmp_path / "ours", builder_save, source, as_text)
    theirs = _write(tf, "tensorflow", tmp_path / "theirs", builder_save, source, as_text)
    our_files, their_files = _files(ours), _files(theirs)
    assert sorted(our_files) == sorted(their_files)
    for name in our_files:
        if not name.startswith("saved_model."):
            assert our_files[name] == their_files[name], name
    assert _normalized(ours) == _normalized(theirs)


def show_all(directory) -> str:
    """What ``saved_model_cli show --all --dir DIRECTORY`` prints, run in this process (so
    that the set of op types prints in the same order for any two directories)."""
    import contextlib
    import io

    from tensorflow.python.tools import saved_model_cli
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        saved_model_cli._show_all(str(directory))
    return out.getvalue()


def test_saved_model_cli_reads_flowsaver_saved_models(tf, tmp_path):
    """saved_model_cli's own show code (run in this process: a subprocess importing
    TensorFlow again would take longer than the rest of this file) prints the same for
    flowsaver's SavedModel as for TensorFlow's."""
    import contextlib
    import io

    from tensorflow.python.tools import saved_model_cli
    source = write_asset(tmp_path)
    ours = _write(tf, "flowsaver", tmp_path / "ours", builder_save, source)
    theirs = _write(tf, "tensorflow", tmp_path / "theirs", builder_save, source)
    shown = show_all(ours)
    assert "signature_def['features']" in shown and "Method name is: custom/features" in shown
    assert shown == show_all(theirs)
    tag_sets = io.StringIO()
    with contextlib.redirect_stdout(tag_sets):
        saved_model_cli._show_tag_sets(ours)
    assert tag_sets.getvalue().splitlines()[1:] == ["'serve'", "'gpu, train'"]
