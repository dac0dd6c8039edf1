"""Checkpoints on an object store, fast: fsspec's in-process ``memory://`` store.

What is checked: every path-taking entry point takes a URL; the bytes written there are
the bytes a local save writes (graph ops or snapshot, sharded or not); the commit order
(data, then index, then state file); a failed save leaves nothing a reader can see; the
extras are named when missing; local paths never import fsspec.
"""
import os
import subprocess
import sys
import uuid
from pathlib import Path

import fsspec
import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from flowsaver.cli.main import main as cli_main
from flowsaver.format import storage
from flowsaver.format.checkpoint_write import TensorToSave, write_checkpoint

REPO = Path(__file__).resolve().parents[2]
MEMORY = fsspec.filesystem("memory")


@pytest.fixture
def url():
    """A fresh directory URL in the memory store, removed afterwards."""
    name = f"memory://t{uuid.uuid4().hex[:12]}/run"
    yield name
    MEMORY.rm(MEMORY._strip_protocol(name.rsplit("/", 1)[0]), recursive=True)


def _objects(url: str) -> dict:
    """``{name: bytes}`` of every object under a directory URL."""
    root = MEMORY._strip_protocol(url)
    return {p[len(root) + 1:]: MEMORY.cat_file(p) for p in MEMORY.find(root)}


def _files(directory: Path) -> dict:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


def build(sharded: bool):
    g = tf.Graph()
    with g.as_default():
        with tf.device("/cpu:0"):
            a = tf.Variable(np.arange(12, dtype=np.float32).reshape(3, 4), name="a")
            s = tf.Variable(np.array([b"x", b"yz"], dtype=object), name="s")
        with tf.device("/cpu:1"):
            b = tf.Variable(np.arange(5, dtype=np.int64), name="b")
            part = tf.get_variable("emb", shape=[6, 2], dtype=tf.float32,
                                   partitioner=tf.fixed_size_partitioner(2),
                                   initializer=tf.constant_initializer(1.5))
        saver = tf.train.Saver(sharded=sharded, max_to_keep=2)
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=g)
    sess.run(init)
    return g, sess, saver, {"a": a, "b": b, "s": s}, part


@pytest.mark.parametrize("sharded", [False, True])
def test_a_save_to_a_url_writes_the_bytes_of_a_local_save(tmp_path, url, sharded):
    _, sess, saver, _, _ = build(sharded)
    local = saver.save(sess, str(tmp_path / "model"), global_step=3, write_meta_graph=False)
    remote = saver.save(sess, url + "/model", global_step=3, write_meta_graph=False)
    assert remote == url + "/model-3" and local.endswith("model-3")
    on_disk = {n: b for n, b in _files(tmp_path).items() if n != "checkpoint"}
    stored = {n: b for n, b in _objects(url).items() if n != "checkpoint"}
    assert stored == on_disk
    assert len([n for n in stored if ".data-" in n]) == (2 if sharded else 1)


def test_the_graph_ops_write_the_same_bytes_to_a_url(tmp_path, url):
    # SaveV2 + MergeV2Checkpoints run directly (an imported TensorFlow graph does this).
    _, sess, saver, _, _ = build(sharded=True)
    for prefix in (str(tmp_path / "m"), url + "/m"):
        sess.run(saver.saver_def.save_tensor_name, {saver.saver_def.filename_tensor_name: prefix})
    assert _objects(url) == _files(tmp_path)
    assert not [n for n in _objects(url) if "part" in n]   # the parts are gone


def test_save_restore_latest_and_retention_on_a_url(url):
    _, sess, saver, variables, part = build(sharded=True)
    for step in range(1, 5):
        sess.run(variables["b"].assign(np.full(5, step, np.int64)))
        saver.save(sess, url + "/model", global_step=step)
    names = sorted(_objects(url))
    assert [n for n in names if n.endswith(".index")] == ["model-3.index", "model-4.index"]
    state = tf.train.get_checkpoint_state(url)
    assert state.model_checkpoint_path == url + "/model-4"
    assert list(state.all_model_checkpoint_paths) == [url + "/model-3", url + "/model-4"]
    # The state file holds relative entries, as TensorFlow writes them for URLs.
    assert b'model_checkpoint_path: "model-4"' in _objects(url)["checkpoint"]
    sess.run(variables["b"].assign(np.zeros(5, np.int64)))
    saver.restore(sess, tf.train.latest_checkpoint(url))
    assert sess.run(variables["b"]).tolist() == [4] * 5
    assert np.array_equal(sess.run(part.as_tensor()), np.full((6, 2), 1.5, np.float32))
    reader = tf.train.load_checkpoint(url)
    assert reader.get_tensor("a").tolist() == np.arange(12).reshape(3, 4).tolist()
    assert tf.train.list_variables(url + "/model-3")[0] == ("a", [3, 4])


def test_meta_graphs_round_trip_through_a_url(url):
    g, sess, saver, _, _ = build(sharded=False)
    path = saver.save(sess, url + "/model", global_step=1)
    assert storage.isfile(path + ".meta")
    with tf.Graph().as_default() as g2:
        restorer = tf.train.import_meta_graph(path + ".meta")
        with tf.Session(graph=g2) as sess2:
            restorer.restore(sess2, path)
            assert sess2.run("b:0").tolist() == list(range(5))
    tf.train.export_meta_graph(url + "/exported.meta", graph=g)
    assert tf.train.import_meta_graph is not None and storage.getsize(url + "/exported.meta") > 0


def test_the_commit_order_is_data_then_index_then_state_file(url):
    _, sess, saver, _, _ = build(sharded=True)
    saver.save(sess, url + "/model", global_step=1, write_meta_graph=False)
    root = MEMORY._strip_protocol(url)
    created = {p.rsplit("/", 1)[1]: MEMORY.info(p)["created"] for p in MEMORY.find(root)}
    data = [t for n, t in created.items() if ".data-" in n]
    assert len(data) == 2
    assert max(data) <= created["model-1.index"] <= created["checkpoint"]


def test_a_save_that_fails_midway_leaves_nothing_a_reader_sees(url):
    good = [[TensorToSave("w", "", np.ones(4, np.float32))]]
    write_checkpoint(url + "/model-1", good)
    tf.train.update_checkpoint_state(url, url + "/model-1")

    class Unstorable:   # fails when the writer converts it, after other tensors went out
        def __array__(self, *args, **kwargs):
            raise RuntimeError("cannot convert")

    bad = [[TensorToSave("a", "", np.ones(1000, np.float32))],
           [TensorToSave("b", "", np.zeros(3)), TensorToSave("c", "", Unstorable())]]
    with pytest.raises(RuntimeError, match="cannot convert"):
        write_checkpoint(url + "/model-2", bad)
    assert sorted(_objects(url)) == ["checkpoint", "model-1.data-00000-of-00001",
                                     "model-1.index"]
    assert tf.train.latest_checkpoint(url) == url + "/model-1"


def test_cli_commands_take_urls(url, capsys):
    _, sess, saver, _, _ = build(sharded=True)
    saver.save(sess, url + "/model", global_step=2)
    assert cli_main(["inspect", url]) == 0
    assert "model-2" in capsys.readouterr().out
    assert cli_main(["verify", url + "/model-2"]) == 0
    assert cli_main(["inspect", url + "/model-2.meta"]) == 0


def test_gfile_and_summaries_on_a_url(url):
    with tf.gfile.GFile(url + "/notes.txt", "w") as f:
        f.write("line 1\n")
    with tf.io.gfile.GFile(url + "/notes.txt", "a") as f:
        f.write("line 2\n")
    assert tf.io.gfile.GFile(url + "/notes.txt").read() == "line 1\nline 2\n"
    assert tf.gfile.Glob(url + "/*.txt") == [url + "/notes.txt"]
    tf.gfile.Rename(url + "/notes.txt", url + "/moved.txt")
    assert tf.io.gfile.listdir(url) == ["moved.txt"]
    assert tf.gfile.Stat(url + "/moved.txt").length == 14
    with pytest.raises(errors.NotFoundError):
        tf.gfile.Remove(url + "/notes.txt")
    writer = tf.summary.FileWriter(url + "/logs")
    writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="loss", simple_value=0.5)]), 7)
    writer.flush()
    (name,) = tf.io.gfile.listdir(url + "/logs")
    events = list(tf.train.summary_iterator(f"{url}/logs/{name}"))
    assert [e.step for e in events if e.HasField("summary")] == [7]
    writer.close()


BLOCKED = """
import sys
for name in sys.argv[2:]:
    sys.modules[name] = None          # as if the package were not installed
from flowsaver.format import storage
try:
    storage.exists(sys.argv[1])
except ImportError as exc:
    print(exc)
"""


@pytest.mark.parametrize("url,blocked,extra", [
    ("s3://bucket/run", ["s3fs"], "flowsaver[s3]"),
    ("gs://bucket/run", ["gcsfs"], "flowsaver[gcs]"),
    ("s3://bucket/run", ["fsspec"], "flowsaver[s3]"),
])
def test_a_missing_package_is_named_with_its_extra(url, blocked, extra):
    done = subprocess.run([sys.executable, "-c", BLOCKED, url, *blocked], capture_output=True,
                          text=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert extra in done.stdout and blocked[0] in done.stdout


LOCAL_ONLY = """
import sys
import numpy as np
import flowsaver as tf
from flowsaver.cli.main import main
d = sys.argv[1]
v = tf.Variable(np.ones(3, np.float32), name="v")
saver = tf.train.Saver()
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    path = saver.save(sess, d + "/model", global_step=1)
    saver.restore(sess, tf.train.latest_checkpoint(d))
tf.train.load_checkpoint(d).get_tensor("v")
tf.train.get_checkpoint_state(d)
with tf.Graph().as_default():
    tf.train.import_meta_graph(path + ".meta")
tf.gfile.Exists(d)
main(["inspect", d])
print("fsspec" in sys.modules)
"""


def test_local_paths_never_import_fsspec(tmp_path):
    done = subprocess.run([sys.executable, "-c", LOCAL_ONLY, str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
