"""TensorFlow reads what flowsaver writes to object stores and across processes.

TensorFlow 2.21 has no S3 file system of its own (it moved to tensorflow-io), so the
bytes a flowsaver Saver stored on S3 (moto, in server mode) are downloaded as they are,
and TensorFlow opens the copy: the state file, the index and every data shard.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import flowsaver as fs_tf

REPO = Path(__file__).resolve().parents[2]


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tensorflow_reads_a_sharded_checkpoint_saved_to_s3(tf, s3_bucket, tmp_path):
    run = s3_bucket + "/run"
    g = fs_tf.Graph()
    with g.as_default():
        with fs_tf.device("/cpu:0"):
            fs_tf.Variable(np.arange(12, dtype=np.float32).reshape(3, 4), name="dense/w")
            fs_tf.Variable(np.array([b"alpha", b"", b"\xff\x00"], dtype=object), name="s")
        with fs_tf.device("/cpu:1"):
            fs_tf.get_variable("emb", [10, 3], fs_tf.float64,
                               partitioner=fs_tf.fixed_size_partitioner(3),
                               initializer=fs_tf.random_normal_initializer(seed=1))
            fs_tf.Variable(np.int64(42), name="global_step")
        saver = fs_tf.train.Saver(sharded=True)
        init = fs_tf.global_variables_initializer()
    with fs_tf.Session(graph=g) as sess:
        sess.run(init)
        saver.save(sess, run + "/model.ckpt", global_step=42)
    ours = fs_tf.train.load_checkpoint(run)
    expected = {name: ours.get_tensor(name) for name in ours.names()}
    for name in fs_tf.gfile.listdir(run):   # download every object, bytes as they are
        fs_tf.gfile.copy(f"{run}/{name}", str(tmp_path / name))
    latest = tf.train.latest_checkpoint(str(tmp_path))
    assert latest == str(tmp_path / "model.ckpt-42")
    reader = tf.train.load_checkpoint(latest)
    assert sorted(reader.get_variable_to_shape_map()) == sorted(expected)
    for name, value in expected.items():
        got = reader.get_tensor(name)
        if value.dtype == object:
            assert list(got) == list(value), name
        else:
            np.testing.assert_array_equal(got, value, err_msg=name)
    assert reader.get_tensor("emb").shape == (10, 3)


def test_tensorflow_reads_the_merged_checkpoint_of_many_writers(tf, tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "examples" / "many_writers.py"),
                           str(tmp_path), "--writers", "3", "--step", "7"],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 0, done.stdout + done.stderr
    expected = _example("many_writers").expected_tensors(3, 7)
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path)))
    assert sorted(reader.get_variable_to_shape_map()) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(reader.get_tensor(name), value, err_msg=name)


def test_checkpoint_managers_adopt_each_others_state_files(tf, tmp_path):
    ours_dir, theirs_dir = tmp_path / "ours", tmp_path / "theirs"
    g = fs_tf.Graph()
    with g.as_default():
        fs_tf.Variable(np.ones(3, np.float32), name="v")
        saver = fs_tf.train.Saver()
        init = fs_tf.global_variables_initializer()
    with fs_tf.Session(graph=g) as sess:
        sess.run(init)
        manager = fs_tf.train.CheckpointManager(saver, str(ours_dir), max_to_keep=3,
                                                session=sess)
        for _ in range(5):
            manager.save()
        adopted = tf.train.CheckpointManager(tf.train.Checkpoint(), str(ours_dir),
                                             max_to_keep=3)
        assert adopted.checkpoints == manager.checkpoints
        assert adopted.latest_checkpoint == manager.latest_checkpoint == str(ours_dir / "ckpt-5")
        theirs = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)),
                                            str(theirs_dir), max_to_keep=2)
        for _ in range(3):
            theirs.save()
        recovered = fs_tf.train.CheckpointManager(saver, str(theirs_dir), max_to_keep=2,
                                                  session=sess)
        assert recovered.checkpoints == theirs.checkpoints
        assert recovered.latest_checkpoint == theirs.latest_checkpoint
