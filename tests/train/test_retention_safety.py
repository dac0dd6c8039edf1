"""What a Saver may delete: only its own checkpoints, in its own directory, by exact name.

Regression tests for issue 16's "Deleting outside the checkpoint directory" (paths given
to set_last_checkpoints, and paths or glob characters in a state file passed to
recover_last_checkpoints) and "Two Savers with different prefixes in one directory" (a
save deleted the other saver's half-written state file); and for the leftovers of killed
saves, which the next save of the same prefix family removes.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import flowsaver as tf
from flowsaver.format import leftovers

REPO = Path(__file__).resolve().parents[2]
CHECKPOINT_FILES = (".index", ".data-00000-of-00001", ".meta")


def make_checkpoint_files(prefix: Path) -> list[Path]:
    """Files that look like a checkpoint (enough for a glob or a literal match)."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    files = [Path(str(prefix) + suffix) for suffix in CHECKPOINT_FILES]
    for f in files:
        f.write_bytes(b"precious")
    return files


def saver_session(max_to_keep=1):
    g = tf.Graph()
    with g.as_default():
        tf.Variable(np.ones(3, np.float32), name="v")
        saver = tf.train.Saver(max_to_keep=max_to_keep)
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=g)
    sess.run(init)
    return saver, sess


@pytest.mark.parametrize("adopted", ["outside/victim-1", "run/../outside/victim-1",
                                     "/ABS/outside/victim-1"])
def test_set_last_checkpoints_never_deletes_outside_the_directory(tmp_path, adopted, caplog):
    victim = make_checkpoint_files(tmp_path / "outside" / "victim-1")
    adopted = adopted.replace("/ABS", str(tmp_path)) if adopted.startswith("/ABS") else \
        str(tmp_path / adopted)
    saver, sess = saver_session(max_to_keep=1)
    saver.set_last_checkpoints([adopted])
    for step in (1, 2, 3):
        saver.save(sess, str(tmp_path / "run" / "model"), global_step=step)
    assert all(f.exists() for f in victim)
    assert "outside the directory" in caplog.text
    names = sorted(os.listdir(tmp_path / "run"))
    assert names == ["checkpoint", "model-3.data-00000-of-00001", "model-3.index", "model-3.meta"]


def test_recover_last_checkpoints_takes_no_glob_from_a_state_file(tmp_path):
    run = tmp_path / "run"
    outside = make_checkpoint_files(tmp_path / "outside" / "victim-1")
    lookalike = make_checkpoint_files(run / "model-keep-me")   # matches "model-*"
    saver, sess = saver_session(max_to_keep=1)
    saver.save(sess, str(run / "model"), global_step=1)
    # A hostile or careless state file: globs and paths leading out of the directory.
    state_text = (f'model_checkpoint_path: "model-1"\n'
                  f'all_model_checkpoint_paths: "model-*"\n'
                  f'all_model_checkpoint_paths: "../outside/victim-?"\n'
                  f'all_model_checkpoint_paths: "{tmp_path}/outside/*"\n'
                  f'all_model_checkpoint_paths: "model-1"\n')
    (run / "checkpoint").write_text(state_text)
    state = tf.train.get_checkpoint_state(str(run))
    saver2, _ = saver_session(max_to_keep=1)
    saver2.recover_last_checkpoints(state.all_model_checkpoint_paths)
    # One queued checkpoint is settled per save (TensorFlow's rule): four adopted, so the
    # fourth save reaches model-1.
    for step in (2, 3, 4, 5):
        saver2.save(sess, str(run / "model"), global_step=step)
    assert all(f.exists() for f in outside + lookalike)
    assert not (run / "model-1.index").exists()   # its own, recovered: deleted in turn
    assert (run / "model-5.index").exists()


def test_a_save_leaves_another_savers_state_file_temporary_alone(tmp_path):
    saver, sess = saver_session()
    in_flight = tmp_path / ("checkpoint.tmp" + "0123456789abcdef" * 2)
    in_flight.write_text('model_checkpoint_path: "other-7"\n')   # another Saver, mid-write
    saver.save(sess, str(tmp_path / "model"), global_step=1)
    assert in_flight.read_text() == 'model_checkpoint_path: "other-7"\n'


def test_the_next_save_removes_leftovers_of_killed_saves_of_its_family(tmp_path):
    def touch(name):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")

    gone = ["model-3.data-00000-of-00001",                        # index never committed
            "model-4.data-00000-of-00002", "model-4.data-00001-of-00002",   # half deleted
            "model-5.index.tempstate123", "model-5.meta.tmp" + "ab" * 16,
            "model.data-00000-of-00001",                          # the step-less prefix
            "model-6_temp/part-00000-of-00002.data-00000-of-00001",
            "model-6_temp/part-00001-of-00002.index.tempstate9",
            "model-2.part-00001-of-00002.index"]   # merged (model-2.index), not deleted
    kept = ["model-2.index", "model-2.data-00000-of-00001",       # complete, unrecorded
            "other-3.data-00000-of-00001", "model-x.data-00000-of-00001",
            "modelling-3.data-00000-of-00001", "model-3.data-00000-of-00001.bak",
            "checkpoint.tmp" + "cd" * 16]
    for name in gone + kept:
        touch(name)
    assert [os.path.relpath(p, tmp_path) for p in
            leftovers.find_leftovers(str(tmp_path / "model"))] == sorted(gone)
    saver, sess = saver_session(max_to_keep=5)
    saver.save(sess, str(tmp_path / "model"), global_step=7)
    remaining = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    for name in gone:
        assert name not in remaining
    assert "model-6_temp" not in remaining
    for name in kept:
        assert name in remaining



class Killed(BaseException):
    """Stands for a SIGKILL at a chosen point of a save: nothing after it runs."""


def _kill_at(monkeypatch, module, name):
    def die(*args, **kwargs):
        raise Killed(name)
    monkeypatch.setattr(module, name, die)


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_a_save_killed_before_retention_deletes_leaves_it_to_the_next_save(
        tmp_path, monkeypatch):
    """The state file stops listing model-1, then the process dies before deleting it:
    without the sidecar model-1 would be a complete checkpoint no one lists or deletes."""
    from flowsaver.train import saver as saver_module
    saver, sess = saver_session(max_to_keep=1)
    saver.save(sess, str(tmp_path / "model"), global_step=1)
    with monkeypatch.context() as m:
        _kill_at(m, saver_module, "delete_owned_checkpoint")
        with pytest.raises(Killed):
            saver.save(sess, str(tmp_path / "model"), global_step=2)
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == ["model-2"]
    assert "model-1.index" in _listing(tmp_path)
    assert (tmp_path / "model.retiring").read_text() == "model-1\n"
    # The restarted program: a new Saver, which knows nothing of model-1.
    saver, sess = saver_session(max_to_keep=1)
    saver.save(sess, str(tmp_path / "model"), global_step=3)
    names = _listing(tmp_path)
    assert not [n for n in names if n.startswith("model-1.")]
    assert "model.retiring" not in names
    assert "model-2.index" in names and "model-3.index" in names   # the new Saver's to judge
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model-3")


def test_a_save_killed_before_its_state_file_keeps_what_the_state_file_lists(
        tmp_path, monkeypatch):
    """Killed after noting model-1 as retiring but before the state file stopped listing
    it: model-1 is still a listed checkpoint, and the next save keeps it."""
    from flowsaver.train import saver as saver_module
    saver, sess = saver_session(max_to_keep=1)
    saver.save(sess, str(tmp_path / "model"), global_step=1)
    with monkeypatch.context() as m:
        _kill_at(m, saver_module.ckpt_state, "update_checkpoint_state")
        with pytest.raises(Killed):
            saver.save(sess, str(tmp_path / "model"), global_step=2)
    assert (tmp_path / "model.retiring").read_text() == "model-1\n"
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model-1")
    saver, sess = saver_session(max_to_keep=5)
    saver.save(sess, str(tmp_path / "model"), global_step=3)
    names = _listing(tmp_path)
    assert "model-1.index" in names and "model.retiring" not in names


def test_a_retiring_sidecar_names_only_checkpoints_of_the_family_by_plain_name(tmp_path):
    """Whatever else a sidecar holds (paths, globs, another family, the state file) is
    skipped: the next save deletes only unlisted checkpoints of its own family."""
    for prefix in ("model-1", "model-2", "other-1", "sub/model-1", "modelx-1"):
        make_checkpoint_files(tmp_path / prefix)
    outside = make_checkpoint_files(tmp_path.parent / (tmp_path.name + "-outside") / "model-1")
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "model-2"\n'
                                         'all_model_checkpoint_paths: "model-2"\n')
    (tmp_path / "model.retiring").write_text(
        "model-1\nmodel-2\nother-1\nsub/model-1\nmodel-*\n../" + tmp_path.name +
        "-outside/model-1\n" + str(outside[0])[:-len(".index")] + "\ncheckpoint\nmodelx-1\n")
    saver, sess = saver_session(max_to_keep=5)
    saver.save(sess, str(tmp_path / "model"), global_step=3)
    names = _listing(tmp_path)
    assert not [n for n in names if n.startswith("model-1.")]       # named, unlisted: gone
    assert "model-2.index" in names                                 # listed: kept
    for kept in ("other-1.index", "modelx-1.index", "checkpoint", "model-3.index"):
        assert kept in names
    assert (tmp_path / "sub" / "model-1.index").exists()
    assert all(f.read_bytes() == b"precious" for f in outside)
    assert "model.retiring" not in names


def test_retention_without_a_kill_leaves_no_sidecar(tmp_path):
    saver, sess = saver_session(max_to_keep=1)
    for step in range(1, 5):
        saver.save(sess, str(tmp_path / "model"), global_step=step)
    assert [n for n in _listing(tmp_path) if n.startswith("model")] == \
        ["model-4.data-00000-of-00001", "model-4.index", "model-4.meta"]


TWO_SAVERS = """
import sys
import numpy as np
import flowsaver as tf
directory, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
tf.Variable(np.arange(100, dtype=np.float32), name="v")
saver = tf.train.Saver(max_to_keep=2)
failures = 0
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(1, count + 1):
        try:
            saver.save(sess, f"{directory}/{prefix}", global_step=step)
        except Exception as exc:
            failures += 1
            print(f"{prefix}-{step}: {type(exc).__name__}: {exc}", file=sys.stderr)
print(failures)
"""


def run_two_savers(directory: Path, count: int) -> list[subprocess.CompletedProcess]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    children = [subprocess.Popen([sys.executable, "-c", TWO_SAVERS, str(directory), prefix,
                                  str(count)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=env) for prefix in ("alpha", "beta")]
    return [(c, *c.communicate(timeout=600)) for c in children]


def test_two_savers_with_different_prefixes_share_a_directory(tmp_path):
    # Small enough for the suite; bench/stress_two_savers.py runs thousands of saves.
    for child, out, err in run_two_savers(tmp_path, 200):
        assert child.returncode == 0, err
        assert out.strip() == "0", err
    names = os.listdir(tmp_path)
    for prefix in ("alpha", "beta"):   # each one's retention went through
        assert sorted(n for n in names if n.startswith(prefix) and n.endswith(".index")) == \
            [f"{prefix}-199.index", f"{prefix}-200.index"]
    assert not [n for n in names if ".tmp" in n or ".tempstate" in n]


def test_a_killed_retention_is_finished_on_an_object_store_too(monkeypatch):
    """The same on a store without rename (memory://, as S3): the sidecar is one PUT."""
    import uuid
    from flowsaver.format import storage
    from flowsaver.train import saver as saver_module
    directory = f"memory://retiring-{uuid.uuid4().hex}/run"
    saver, sess = saver_session(max_to_keep=1)
    saver.save(sess, directory + "/model", global_step=1)
    with monkeypatch.context() as m:
        _kill_at(m, saver_module, "delete_owned_checkpoint")
        with pytest.raises(Killed):
            saver.save(sess, directory + "/model", global_step=2)
    assert storage.read_bytes(directory + "/model.retiring") == b"model-1\n"
    saver, sess = saver_session(max_to_keep=1)
    saver.save(sess, directory + "/model", global_step=3)
    names = storage.listdir(directory)
    assert not [n for n in names if n.startswith("model-1.")]
    assert "model.retiring" not in names and "model-3.index" in names


def test_a_save_reads_no_sidecar_that_its_directory_listing_does_not_show(
        tmp_path, monkeypatch):
    """On an object store every read is a request: the sidecar is looked for in the
    listing the save makes anyway, and read only when it is there."""
    from flowsaver.format import storage
    reads = []
    real = storage.read_bytes
    monkeypatch.setattr(storage, "read_bytes",
                        lambda path, *a, **k: reads.append(path) or real(path, *a, **k))
    saver, sess = saver_session(max_to_keep=1)
    for step in range(1, 4):
        saver.save(sess, str(tmp_path / "model"), global_step=step)
    assert not [p for p in reads if str(p).endswith(".retiring")]
