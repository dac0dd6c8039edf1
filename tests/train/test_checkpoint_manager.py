"""tf.train.CheckpointManager over a Saver: TensorFlow's rules as a pure policy (a table,
no files), and the manager itself: numbering, intervals, background saves (snapshot in
memory, errors re-raised on the next call), keep-best-N, fsynced saves."""
import json
import math
import os

import numpy as np
import pytest

import flowsaver as tf
from flowsaver.train.manager_retention import BestN, ManagedRecord, ManagerPolicy

H = 3600.0


def records(*specs):
    """``("p1", time[, metric])`` tuples -> ManagedRecords, oldest first."""
    return tuple(ManagedRecord(*spec) for spec in specs)


# (policy, records, last_preserved) -> (active paths, delete, preserve, new last_preserved)
SWEEPS = [
    (ManagerPolicy(2), records(("a", 1), ("b", 2), ("c", 3), ("d", 4)), 0.0,
     (["c", "d"], ["a", "b"], [], 0.0)),
    (ManagerPolicy(None), records(("a", 1), ("b", 2), ("c", 3)), 0.0,
     (["a", "b", "c"], [], [], 0.0)),
    (ManagerPolicy(5), records(("a", 1), ("b", 2)), 0.0, (["a", "b"], [], [], 0.0)),
    # keep_checkpoint_every_n_hours: leaving the active set, a checkpoint an hour or more
    # after the last preserved one is preserved and becomes the last preserved.
    (ManagerPolicy(1, 1.0), records(("a", 0.5 * H), ("b", 1.0 * H), ("c", 1.5 * H),
                                    ("d", 2.5 * H)), 0.0,
     (["d"], ["a", "c"], ["b"], 1.0 * H)),
    (ManagerPolicy(1, 1.0), records(("a", 2 * H), ("b", 3.5 * H), ("c", 4 * H)), 0.0,
     (["c"], [], ["a", "b"], 3.5 * H)),
    # keep_best: the best by metric stay besides the newest max_to_keep.
    (ManagerPolicy(2, None, BestN(1)), records(("a", 1, 0.5), ("b", 2, 0.9), ("c", 3, 0.1),
                                               ("d", 4, 0.2)), 0.0,
     (["b", "c", "d"], ["a"], [], 0.0)),
    (ManagerPolicy(1, None, BestN(2, "min")), records(("a", 1, 0.5), ("b", 2, 0.9),
                                                      ("c", 3, 0.1), ("d", 4, 0.7)), 0.0,
     (["a", "c", "d"], ["b"], [], 0.0)),
    # A NaN metric is never best; on a tie the newer wins.
    (ManagerPolicy(1, None, BestN(1)), records(("a", 1, math.nan), ("b", 2, 0.3),
                                               ("c", 3, 0.3), ("d", 4, 0.0)), 0.0,
     (["c", "d"], ["a", "b"], [], 0.0)),
]


@pytest.mark.parametrize("policy,recs,last,want", SWEEPS)
def test_sweep(policy, recs, last, want):
    sweep = policy.sweep(recs, last)
    assert ([r.path for r in sweep.active], list(sweep.delete), list(sweep.preserve),
            sweep.last_preserved) == want


def test_best_n_refuses_nonsense():
    with pytest.raises(ValueError):
        BestN(0)
    with pytest.raises(ValueError):
        BestN(1, "biggest")


def make(values=None):
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.zeros(4, np.float32) if values is None else values, name="v")
        step = tf.Variable(np.int64(0), name="step")
        bump = [v.assign_add(np.ones(4, np.float32)), step.assign_add(1)]
        saver = tf.train.Saver()
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=g)
    sess.run(init)
    return sess, saver, v, step, bump


def test_numbering_retention_and_the_state_file_follow_tensorflow(tmp_path):
    sess, saver, v, step, bump = make()
    manager = tf.train.CheckpointManager(saver, str(tmp_path), max_to_keep=2, session=sess)
    assert manager.save() == str(tmp_path / "ckpt-1")
    assert manager.save(checkpoint_number=10) == str(tmp_path / "ckpt-10")
    sess.run(bump)
    assert manager.save(checkpoint_number=step) == str(tmp_path / "ckpt-1")  # a variable
    assert manager.save() == str(tmp_path / "ckpt-4")    # the counter counted every save
    assert manager.checkpoints == [str(tmp_path / "ckpt-1"), str(tmp_path / "ckpt-4")]
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert list(state.all_model_checkpoint_paths) == manager.checkpoints
    assert len(state.all_model_checkpoint_timestamps) == 2 and state.last_preserved_timestamp
    assert "ckpt-10.index" not in os.listdir(tmp_path)
    again = tf.train.CheckpointManager(saver, str(tmp_path), max_to_keep=2, session=sess)
    assert again.checkpoints == manager.checkpoints
    assert again.save() == str(tmp_path / "ckpt-5")   # numbering goes on after a restart


def test_checkpoint_interval_skips_saves(tmp_path):
    sess, saver, v, step, bump = make()
    manager = tf.train.CheckpointManager(saver, str(tmp_path), max_to_keep=5,
                                         step_counter=step, checkpoint_interval=3,
                                         session=sess)
    saved = []
    for _ in range(7):
        saved.append(manager.save() is not None)
        sess.run(bump)
    assert saved == [True, False, False, True, False, False, True]
    assert manager.save() is None                            # step 7: not 3 past step 6
    assert manager.save(check_interval=False) is not None    # forced
    assert manager.save(check_interval=False) is None        # step 7 is saved already


def test_async_saves_write_the_values_of_the_moment_of_save(tmp_path):
    sess, saver, v, step, bump = make(np.zeros(300_000, np.float32))
    manager = tf.train.CheckpointManager(saver, str(tmp_path), max_to_keep=3,
                                         async_save=True, session=sess)
    for i in range(3):
        sess.run(v.assign(np.full(300_000, i, np.float32)))
        manager.save()
        sess.run(v.assign(np.full(300_000, -1, np.float32)))   # training goes on at once
    manager.wait_until_finished()
    for i, path in enumerate(manager.checkpoints):
        assert np.all(tf.train.load_variable(path, "v") == i), path
    assert manager.latest_checkpoint == str(tmp_path / "ckpt-3")


def test_an_async_save_that_fails_raises_on_the_next_call(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    sess, saver, *_ = make()
    manager = tf.train.CheckpointManager(saver, str(tmp_path / "file" / "run"), max_to_keep=2,
                                         async_save=True, session=sess)
    assert manager.save() is not None          # returns at once; the write fails later
    with pytest.raises(OSError):
        manager.save()                         # reports it, and saves nothing
    manager.wait_until_finished()              # reported once: nothing left
    assert manager.save() is not None
    with pytest.raises(OSError):
        manager.wait_until_finished()          # the failed third save, reported here
    assert manager.latest_checkpoint is None


def test_keep_best_keeps_the_best_and_survives_a_restart(tmp_path):
    sess, saver, *_ = make()
    manager = tf.train.CheckpointManager(saver, str(tmp_path), max_to_keep=1, keep_best=2,
                                         best_mode="min", session=sess)
    for loss in (0.9, 0.2, 0.5, 0.1, 0.7):
        manager.save(metric=loss)
    assert [os.path.basename(p) for p in manager.checkpoints] == ["ckpt-2", "ckpt-4", "ckpt-5"]
    with pytest.raises(ValueError, match="metric"):
        manager.save()
    metrics = json.loads((tmp_path / "checkpoint.metrics.json").read_text())
    assert metrics == {"ckpt-2": 0.2, "ckpt-4": 0.1, "ckpt-5": 0.7}
    again = tf.train.CheckpointManager(saver, str(tmp_path), max_to_keep=1, keep_best=2,
                                       best_mode="min", session=sess)
    again.save(metric=0.15)
    assert [os.path.basename(p) for p in again.checkpoints] == ["ckpt-4", "ckpt-6"]
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".index")) == \
        ["ckpt-4.index", "ckpt-6.index"]


def test_sync_saves_fsync_data_index_directory_and_state_file(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", recording_fsync)
    sess, saver, *_ = make()
    manager = tf.train.CheckpointManager(saver, str(tmp_path), max_to_keep=2, sync=True,
                                         session=sess)
    manager.save()
    names = [os.path.basename(p) for p in synced]
    data = [i for i, n in enumerate(names) if n.startswith("ckpt-1.data-") and "tempstate" in n]
    index = [i for i, n in enumerate(names) if n.startswith("ckpt-1.index.tempstate")]
    state = [i for i, n in enumerate(names) if n.startswith("checkpoint.tmp")]
    directory = [i for i, p in enumerate(synced) if p == str(tmp_path)]
    assert data and index and state and directory
    assert data[0] < index[0] < directory[0] < state[0]


def test_restore_or_initialize(tmp_path):
    sess, saver, v, step, bump = make()
    calls = []
    manager = tf.train.CheckpointManager(saver, str(tmp_path), max_to_keep=2,
                                         init_fn=lambda: calls.append("init"), session=sess)
    assert manager.restore_or_initialize() is None and calls == ["init"]
    sess.run(bump)
    path = manager.save()
    sess.run(bump)
    assert manager.restore_or_initialize() == path
    assert sess.run(v).tolist() == [1.0] * 4 and calls == ["init"]


def test_only_a_saver_and_positive_max_to_keep():
    with pytest.raises(TypeError):
        tf.train.CheckpointManager(object(), "/tmp/x", max_to_keep=1)
    sess, saver, *_ = make()
    with pytest.raises(ValueError):
        tf.train.CheckpointManager(saver, "/tmp/x", max_to_keep=0)
    with pytest.raises(ValueError):
        tf.train.CheckpointManager(saver, "/tmp/x", max_to_keep=1, checkpoint_interval=5)
