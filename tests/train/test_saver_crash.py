"""Failures never lose or half-apply state. A process killed (SIGKILL) at a random moment
of a Saver.save loop leaves the state file naming a complete checkpoint with that step's
values, and the next save clears what the killed one left behind; a restore that fails
(missing keys, dtype or shape mismatch, corrupted data) changes no variable."""
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from flowsaver.format import atomic
from test_helpers import alternate_cpus

REPO = str(Path(__file__).resolve().parents[2])
SHAPES = {"big": (512, 512), "mid": (64, 300), "bias": (300,), "count": ()}
MAX_TO_KEEP = 2

# Saves steps 1, 2, ... forever; each step's values are a function of the step, so the
# parent can tell which save it reads back. "ready" is printed once step 1 is saved.
CHILD = f"""
import sys
import numpy as np
import flowsaver as tf
sys.path[:0] = [{os.path.dirname(__file__)!r}, {os.path.dirname(os.path.dirname(__file__))!r}]
from test_saver_crash import build, values
save_dir = sys.argv[1]
variables, assigns, step_ph = build()
saver = tf.train.Saver(max_to_keep={MAX_TO_KEEP})
with tf.Session() as sess:
    step = 1
    while True:
        sess.run(assigns, {{step_ph: step}})
        saver.save(sess, save_dir + "/model", global_step=step)
        if step == 1:
            print("ready", flush=True)
        step += 1
"""


def values(step: int) -> dict:
    """What step ``step`` saves: distinct per step and per variable."""
    out = {}
    for i, (name, shape) in enumerate(sorted(SHAPES.items())):
        size = int(np.prod(shape))
        out[name] = (np.arange(size, dtype=np.float32).reshape(shape) * (i + 1) +
                     np.float32(step * 1000)) if shape else np.int64(step)
    return out


def build():
    """Variables of SHAPES, assign ops setting them to ``values(step)`` computed in-graph."""
    step_ph = tf.placeholder(tf.int64, [], name="step")
    variables, assigns = {}, []
    for i, (name, shape) in enumerate(sorted(SHAPES.items())):
        if shape:
            v = tf.Variable(np.zeros(shape, np.float32), name=name)
            base = tf.constant(np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape))
            value = base * float(i + 1) + tf.cast(step_ph * 1000, tf.float32)
        else:
            v = tf.Variable(np.int64(0), name=name)
            value = step_ph
        variables[name] = v
        assigns.append(tf.assign(v, value))
    return variables, assigns, step_ph


def _run_and_kill(save_dir: str, delay: float) -> None:
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen([sys.executable, "-c", CHILD, save_dir], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = child.stdout.readline()
        assert line == b"ready\n", (line, child.stderr.read().decode()[-2000:])
        time.sleep(delay)
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        child.stderr.close()


def _step_of(prefix: str) -> int:
    return int(re.fullmatch(r".*model-(\d+)", prefix).group(1))


def _assert_holds(prefix: str, step: int) -> None:
    reader = tf.train.load_checkpoint(prefix)
    want = values(step)
    assert sorted(reader.get_variable_to_shape_map()) == sorted(want)
    for name, value in want.items():
        np.testing.assert_array_equal(reader.get_tensor(name), value, err_msg=name)


@pytest.mark.parametrize("seed", range(15))
def test_killed_save_leaves_a_restorable_latest_checkpoint(tmp_path, seed):
    delay = random.Random(seed).uniform(0.0, 0.6)
    _run_and_kill(str(tmp_path), delay)

    killed_with = sorted(os.listdir(tmp_path))  # shown when an assertion fails
    latest = tf.train.latest_checkpoint(str(tmp_path))
    assert latest is not None, killed_with
    step = _step_of(latest)
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert 1 <= len(state.all_model_checkpoint_paths) <= MAX_TO_KEEP, (state, killed_with)
    assert state.all_model_checkpoint_paths[-1] == latest, (state, killed_with)
    for listed in state.all_model_checkpoint_paths:  # every listed checkpoint is complete
        _assert_holds(listed, _step_of(listed))

    g = tf.Graph()
    with g.as_default():
        variables, assigns, step_ph = build()
        saver = tf.train.Saver(max_to_keep=MAX_TO_KEEP)
    with tf.Session(graph=g) as sess:
        saver.restore(sess, latest)
        restored = sess.run(variables)
        for name, value in values(step).items():
            np.testing.assert_array_equal(restored[name], value, err_msg=name)
        # The restarted program saves the next step: the killed save's leftovers go.
        sess.run(assigns, {step_ph: step + 1})
        saver.save(sess, str(tmp_path / "model"), global_step=step + 1)
    # The state file's temporaries are left alone: another Saver sharing the directory
    # could be writing one (the two-savers race), so no save deletes them.
    leftovers = [f for f in os.listdir(tmp_path)
                 if atomic.is_temp_name(f) and not f.startswith("checkpoint.tmp")]
    assert leftovers == [], killed_with
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / f"model-{step + 1}")
    _assert_holds(str(tmp_path / f"model-{step + 1}"), step + 1)


def test_leftovers_are_never_a_checkpoint_and_the_next_save_removes_them(tmp_path):
    g = tf.Graph()
    with g.as_default():
        variables, assigns, step_ph = build()
        saver = tf.train.Saver()
    sess = tf.Session(graph=g)
    sess.run(assigns, {step_ph: 1})
    good = saver.save(sess, str(tmp_path / "model"), global_step=1)
    # What saves killed at various points leave: bundle files of the step being saved,
    # the `.meta` of a step whose state update went through, the state file's temporary.
    leftovers = ["model-2.index.tempstate12345678901234567",
                 "model-2.data-00000-of-00001.tempstate42", "model-1.meta.tmp" + "ab" * 16,
                 "checkpoint.tmp" + "cd" * 16]
    for name in leftovers:
        (tmp_path / name).write_bytes(b"partial")
    assert tf.train.latest_checkpoint(str(tmp_path)) == good
    assert not tf.train.checkpoint_exists(str(tmp_path / "model-2"))
    # Not ours to delete: another prefix's temporaries, a file that merely looks alike,
    # and the state file's temporary (another Saver in the directory may be writing it).
    others = ["other-3.index.tempstate7", "model-3.index.tempstate-not-a-number"]
    for name in others:
        (tmp_path / name).write_bytes(b"someone else's")
    sess.run(assigns, {step_ph: 3})
    saver.save(sess, str(tmp_path / "model"), global_step=3)
    assert sorted(f for f in os.listdir(tmp_path) if atomic.is_temp_name(f)) == \
        sorted([leftovers[3], others[0]])
    assert sorted(os.listdir(tmp_path)).count(others[1]) == 1
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model-3")
    _assert_holds(str(tmp_path / "model-3"), 3)


# ---- failed restores change nothing ------------------------------------------------------------

def _graph(values):
    g = tf.Graph()
    with g.as_default():
        variables = {k: tf.Variable(v, name=k) for k, v in values.items()}
    return g, variables


def _initialized(sess, variable) -> bool:
    with sess.graph.as_default():
        return bool(sess.run(tf.is_variable_initialized(variable)))


_SAVED = {"layer1/w": np.arange(4, dtype=np.float32).reshape(2, 2),
          "layer1/b": np.array([5, 6], np.float32), "step": np.int64(9)}


def _checkpoint(tmp_path):
    g, v = _graph(_SAVED)
    with g.as_default():
        saver = tf.train.Saver()
        init = tf.global_variables_initializer()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        return saver.save(sess, str(tmp_path / "ckpt"))


def _failed_restore(prefix, values, error, initialized=("layer1/b",)):
    """Restore into ``values``' variables (only ``initialized`` set first): ``error`` is
    raised, its message returned, and no variable has changed."""
    g, v = _graph(values)
    with g.as_default():
        saver = tf.train.Saver()
    with tf.Session(graph=g) as sess:
        for name in initialized:
            sess.run(v[name].initializer)
        before = sess.run({n: v[n] for n in initialized})
        with pytest.raises(error) as info:
            saver.restore(sess, prefix)
        after = sess.run({n: v[n] for n in initialized})
        for name in initialized:
            np.testing.assert_array_equal(after[name], before[name], err_msg=name)
        for name in set(values) - set(initialized):
            assert not _initialized(sess, v[name]), f"{name} was set by a failed restore"
    return str(info.value)


def test_missing_keys_are_all_listed_with_near_names(tmp_path):
    prefix = _checkpoint(tmp_path)
    message = _failed_restore(prefix, {"layer1/b": np.zeros(2, np.float32),
                                       "layer_1/w": np.zeros((2, 2), np.float32),
                                       "stepp": np.int64(0)}, errors.NotFoundError)
    assert "'layer_1/w'" in message and "'stepp'" in message
    assert "'layer1/w'" in message and "'step'" in message  # the near names
    listed = [line for line in message.splitlines() if line.startswith("  '")]
    assert [line.split("'")[1] for line in listed] == ["layer_1/w", "stepp"]


def test_dtype_mismatch_names_variable_and_both_dtypes(tmp_path):
    prefix = _checkpoint(tmp_path)
    message = _failed_restore(prefix, {"layer1/b": np.zeros(2, np.float32),
                                       "layer1/w": np.zeros((2, 2), np.float64),
                                       "step": np.int64(0)}, errors.InvalidArgumentError)
    assert "layer1/w" in message and "float64" in message and "float32" in message


def test_shape_mismatch_names_variable_and_both_shapes(tmp_path):
    prefix = _checkpoint(tmp_path)
    message = _failed_restore(prefix, {"layer1/b": np.zeros(2, np.float32),
                                       "layer1/w": np.zeros((3, 2), np.float32),
                                       "step": np.int64(0)}, errors.InvalidArgumentError)
    assert "layer1/w" in message and "[3, 2]" in message and "[2, 2]" in message


def test_corrupted_data_file_is_data_loss_and_changes_nothing(tmp_path):
    prefix = _checkpoint(tmp_path)
    data = tmp_path / "ckpt.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    data.write_bytes(bytes(raw))
    _failed_restore(prefix, {k: np.zeros_like(v) for k, v in _SAVED.items()},
                    errors.DataLossError)


def test_failing_second_shard_puts_the_first_shards_values_back(tmp_path):
    def build():
        g = tf.Graph()
        with g.as_default(), tf.device(alternate_cpus()):
            v = {k: tf.Variable(np.full(3, i + 1, np.float32), name=k)
                 for i, k in enumerate("wxyz")}
            saver = tf.train.Saver(sharded=True)
        return g, v, saver
    g, v, saver = build()
    with tf.Session(graph=g) as sess:
        sess.run([x.initializer for x in v.values()])
        prefix = saver.save(sess, str(tmp_path / "m"))
    data = tmp_path / "m.data-00001-of-00002"
    raw = bytearray(data.read_bytes())
    raw[-1] ^= 0x01
    data.write_bytes(bytes(raw))
    g, v, saver = build()
    with tf.Session(graph=g) as sess:
        with g.as_default():
            sess.run([v["w"].assign(np.full(3, -1, np.float32)),
                      v["x"].assign(np.full(3, -2, np.float32))])
        with pytest.raises(errors.DataLossError):
            saver.restore(sess, prefix)
        np.testing.assert_array_equal(sess.run(v["w"]), [-1, -1, -1])
        np.testing.assert_array_equal(sess.run(v["x"]), [-2, -2, -2])
        assert not _initialized(sess, v["y"]) and not _initialized(sess, v["z"])
