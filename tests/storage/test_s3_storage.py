"""Checkpoints on S3, against a real S3 API server (moto in server mode, on 127.0.0.1).

The server's meter (tests/storage/s3_server.py) says what each operation really cost:
ranged reads download only the tensor asked for, in a handful of requests; shards upload
concurrently; a save killed at random moments never damages the latest checkpoint, and
the next save deletes what the killed one left; retention deletes only its own objects.
"""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.checkpoint_write import TensorToSave, write_checkpoint
from flowsaver.format.shared_checkpoint import merge_shards, write_shard

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import save_loop  # noqa: E402

MIB = 1 << 20


def _names(url: str) -> list[str]:
    try:
        return sorted(storage.listdir(url))
    except FileNotFoundError:
        return []


def _total(meter: dict, key: str) -> int:
    return sum(v[key] for v in meter.values())


def test_sharded_saves_restores_and_retention_that_deletes_only_its_own(s3_bucket):
    run = s3_bucket + "/run"
    foreign = [run + "/other-1.index", run + "/model-notes.txt", s3_bucket + "/far/model-1.index"]
    for url in foreign:
        storage.write_atomic(url, b"not the saver's")
    g = tf.Graph()
    with g.as_default():
        with tf.device("/cpu:0"):
            w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
        with tf.device("/cpu:1"):
            emb = tf.get_variable("emb", [8, 4], tf.float32, partitioner=tf.fixed_size_partitioner(2),
                                  initializer=tf.constant_initializer(0.25))
        saver = tf.train.Saver(sharded=True, max_to_keep=2)
        init = tf.global_variables_initializer()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        # An adopted path outside the directory must never be deleted by retention.
        saver.set_last_checkpoints_with_time([(s3_bucket + "/far/model-1", 0.0)])
        for step in range(1, 5):
            sess.run(w.assign_add(np.ones((2, 3), np.float32)))
            saver.save(sess, run + "/model", global_step=step)
        sess.run(w.assign(np.zeros((2, 3), np.float32)))
        saver.restore(sess, tf.train.latest_checkpoint(run))
        assert sess.run(w).tolist() == (np.arange(6).reshape(2, 3) + 4).tolist()
        assert np.all(sess.run(emb.as_tensor()) == 0.25)
    names = _names(run)
    assert [n for n in names if n.startswith("model-") and n.endswith(".index")] == \
        ["model-3.index", "model-4.index"]
    assert len([n for n in names if n.startswith("model-4.data-")]) == 2
    assert not [n for n in names if ".part-" in n]
    for url in foreign:
        assert storage.read_bytes(url) == b"not the saver's", url


def test_one_tensor_of_a_big_checkpoint_downloads_only_its_bytes(s3_bucket, s3_server):
    prefix = s3_bucket + "/big/model"
    tensors = {f"t{i:02d}": np.full(MIB // 4, i, np.float32) for i in range(24)}
    write_checkpoint(prefix, [[TensorToSave(n, "", v) for n, v in sorted(tensors.items())]])
    index_size = storage.getsize(prefix + ".index")
    s3_server.meter(reset=True)
    reader = tf.train.load_checkpoint(prefix)
    assert np.array_equal(reader.get_tensor("t07"), tensors["t07"])
    meter = s3_server.meter(reset=True)
    # 24 MiB stored; one 1 MiB tensor read: its bytes, the index, and a few headers.
    assert _total(meter, "sent") <= MIB + index_size + 16 * 1024, meter
    assert _total(meter, "requests") <= 8, meter
    assert meter["GET"]["sent"] >= MIB
    # Six neighbouring tensors come in one joined ranged GET of the data object.
    got = reader.get_tensors([f"t{i:02d}" for i in range(10, 16)])
    meter = s3_server.meter(reset=True)
    assert all(np.array_equal(got[n], tensors[n]) for n in got)
    assert meter["GET"]["requests"] == 1, meter
    assert _total(meter, "sent") <= 6 * MIB + 16 * 1024, meter


def test_shards_upload_concurrently(s3_bucket, s3_server):
    shards = [[TensorToSave(f"s{k}", "", np.full(4 * MIB // 4, k, np.float32))]
              for k in range(4)]
    s3_server.meter(reset=True)
    # Each PUT waits at the server until another is in flight too: uploads sent together
    # meet there however loaded the machine is; uploads sent one by one never do (each
    # then waits out the gate's time alone, and "concurrent" stays 1).
    s3_server.gate("PUT", 2)
    write_checkpoint(s3_bucket + "/par/model", shards)
    meter = s3_server.meter(reset=True)
    assert meter["PUT"]["requests"] == 5, meter        # four data objects, one index
    assert meter["PUT"]["concurrent"] >= 2, meter      # data objects in flight together
    reader = tf.train.load_checkpoint(s3_bucket + "/par/model")
    assert [float(reader.get_tensor(f"s{k}")[0]) for k in range(4)] == [0, 1, 2, 3]


def _child_env(s3_server) -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO), **s3_server.env())


def test_a_save_killed_anywhere_leaves_the_latest_checkpoint_whole(s3_bucket, s3_server):
    run = s3_bucket + "/kill"
    rng = random.Random(16)
    start = 1
    for _ in range(2):   # a longer campaign: tools/save_loop.py under `make crash`
        child = subprocess.Popen([sys.executable, str(REPO / "tools" / "save_loop.py"), run,
                                  "--start", str(start), "--mb", "2"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=_child_env(s3_server))
        first = child.stdout.readline()
        assert first.startswith("saved"), child.stderr.read()
        time.sleep(rng.uniform(0.0, 1.0))   # then kill it wherever it is
        child.send_signal(signal.SIGKILL)
        child.wait()
        step = save_loop.check_latest(run, mb=2)   # complete, with its step's values
        start = step + 1
    # A restarted program saves the next step: what the killed saves left (data objects
    # without an index) goes, and nothing but complete checkpoints and the state file stays.
    save_loop.save_steps(run, start, 1, mb=2, report=lambda line: None)
    assert save_loop.check_latest(run, mb=2) == start
    names = _names(run)
    indexed = {n[:-len(".index")] for n in names if n.endswith(".index")}
    for name in names:
        assert name == "checkpoint" or name.split(".")[0] in indexed, names


def test_the_many_writers_example_on_s3(s3_bucket, s3_server):
    done = subprocess.run([sys.executable, str(REPO / "examples" / "many_writers.py"),
                           s3_bucket + "/mw", "--writers", "2"], capture_output=True,
                          text=True, env=_child_env(s3_server), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all values as written: True" in done.stdout
    names = _names(s3_bucket + "/mw")
    assert names == ["checkpoint", "model.ckpt-100.data-00000-of-00002",
                     "model.ckpt-100.data-00001-of-00002", "model.ckpt-100.index"]


KILLED_WRITER = """
import os, signal, sys
import numpy as np
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.merge import part_prefix
writer = BundleWriter(part_prefix(sys.argv[1], 1, 2))
writer.add("half", np.ones(1 << 18, np.float32))
os.kill(os.getpid(), signal.SIGKILL)   # dies before its part is complete
"""


@pytest.mark.parametrize("where", ["local", "s3"])
def test_a_killed_writer_leaves_no_visible_checkpoint(tmp_path, where, request):
    if where == "s3":
        server = request.getfixturevalue("s3_server")
        base, env = "s3://" + server.make_bucket() + "/run", _child_env(server)
    else:
        base, env = str(tmp_path), dict(os.environ, PYTHONPATH=str(REPO))
    prefix = base + "/model-5"
    write_shard(prefix, 0, 2, {"a": np.arange(4, dtype=np.float32)})
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, prefix], env=env,
                          capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    with pytest.raises(errors.NotFoundError, match="part-00001-of-00002"):
        merge_shards(prefix, 2)
    assert not storage.exists(prefix + ".index")
    assert tf.train.latest_checkpoint(base) is None
    # The writer is run again; now the merge goes through and the checkpoint appears.
    write_shard(prefix, 1, 2, {"b": np.ones(3, np.int32)})
    merge_shards(prefix, 2)
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(base))
    assert reader.get_tensor("a").tolist() == [0, 1, 2, 3]
    assert reader.get_tensor("b").tolist() == [1, 1, 1]


def test_an_async_checkpoint_manager_on_s3(s3_bucket):
    run = s3_bucket + "/managed"
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.zeros(1000, np.float32), name="v")
        bump = v.assign_add(np.ones(1000, np.float32))
        saver = tf.train.Saver()
        init = tf.global_variables_initializer()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        manager = tf.train.CheckpointManager(saver, run, max_to_keep=2, async_save=True,
                                             session=sess)
        for _ in range(3):
            sess.run(bump)
            manager.save()
        manager.wait_until_finished()
        assert manager.checkpoints == [run + "/ckpt-2", run + "/ckpt-3"]
        assert _names(run) == ["checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index",
                               "ckpt-3.data-00000-of-00001", "ckpt-3.index"]
        assert tf.train.load_checkpoint(run).get_tensor("v")[0] == 3.0
