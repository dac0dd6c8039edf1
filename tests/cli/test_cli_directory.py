"""`flowsaver inspect DIR`: what a checkpoint directory holds beyond its state file."""
from __future__ import annotations

import json

import numpy as np

import flowsaver as tf
from flowsaver.cli.main import main


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def inspect_json(capsys, path) -> dict:
    code, out, err = cli(capsys, "inspect", "--json", path)
    assert (code, err) == (0, "")
    return json.loads(out)


def test_inspect_directory_names_complete_checkpoints_the_state_file_does_not_list(
        capsys, tmp_path):
    """A directory's listing says which whole checkpoints no state file entry covers
    (saved with write_state=False here; a killed retention leaves such ones too)."""
    g = tf.Graph()
    with g.as_default():
        tf.Variable(np.arange(3, dtype=np.float32), name="w")
        saver = tf.train.Saver()
        init = tf.global_variables_initializer()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        saver.save(sess, str(tmp_path / "model"), global_step=1, write_state=False)
        saver.save(sess, str(tmp_path / "model"), global_step=2)
        saver.save(sess, str(tmp_path / "model"), global_step=3)
    (tmp_path / "model-9.data-00000-of-00001").write_bytes(b"no index: not a checkpoint")
    code, out, _ = cli(capsys, "inspect", tmp_path)
    assert code == 0
    assert "  model-1  (complete, not in the state file)" in out
    assert "model-2  (complete" not in out and "model-9" not in out
    doc = inspect_json(capsys, tmp_path)
    assert doc["unlisted_checkpoints"] == ["model-1"]
    # A single checkpoint, not a directory: no directory listing to speak of.
    assert inspect_json(capsys, tmp_path / "model-3")["unlisted_checkpoints"] == []
