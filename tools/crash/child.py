"""The process the crash campaign kills: a training loop that restores the latest
checkpoint, then saves with ``tf.train.Saver`` (global_step, retention) until killed.

    python -m tools.crash.child DIR --kill KIND:N [--saves S]

Each step's values are a function of the step (``values``), so whoever reads a
checkpoint back can tell which save wrote it and whether it is whole. With ``--kill``,
the process kills itself with SIGKILL at a chosen point of its own saves:

    write:N           halfway through the N-th chunk of tensor data written to a data file
    replace-before:N  just before the N-th os.replace (data, index, .meta, state file)
    replace-after:N   just after it
    remove-before:N   just before the N-th file deletion (retention, temporary files)
    remove-after:N    just after it
    none              never (the campaign's own timer kills it, at a random moment)

Output lines, for the campaign: ``restored STEP`` or ``fresh``, ``ready``, then
``saved STEP`` after each save returns (a save that returned must survive the kill).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys

import numpy as np

SHAPES = {"big": (384, 384), "bias": (1000,), "step": ()}
MAX_TO_KEEP = 3


def values(step: int) -> dict:
    """What step ``step`` saves: distinct per step and per variable."""
    out = {}
    for i, (name, shape) in enumerate(sorted(SHAPES.items())):
        if not shape:
            out[name] = np.int64(step)
            continue
        size = int(np.prod(shape))
        out[name] = (np.arange(size, dtype=np.float32).reshape(shape) * (i + 1)
                     + np.float32(step * 1000))
    return out


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install_kill(spec: str) -> None:
    """Arranges the self-kill ``spec`` by wrapping the calls it names."""
    if spec == "none":
        return
    kind, _, count = spec.partition(":")
    left = [int(count)]

    def due() -> bool:
        left[0] -= 1
        return left[0] == 0

    if kind == "write":
        from flowsaver.format.bundle_write import BundleWriter
        original = BundleWriter._write_all

        def write_all(self, chunk):
            if due():
                view = memoryview(chunk).cast("B")
                self._file.write(view[:len(view) // 2])
                self._file.flush()
                _die()
            return original(self, chunk)
        BundleWriter._write_all = write_all
        return
    name, _, when = kind.partition("-")
    functions = {"replace": ("replace", "rename"), "remove": ("remove", "unlink")}[name]
    for function in functions:
        original = getattr(os, function)

        def wrapped(*args, _original=original, **kwargs):
            hit = due()
            if hit and when == "before":
                _die()
            result = _original(*args, **kwargs)
            if hit:
                _die()
            return result
        setattr(os, function, wrapped)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--kill", default="none")
    parser.add_argument("--saves", type=int, default=1000)
    args = parser.parse_args(argv)
    import flowsaver as tf
    with tf.Graph().as_default():     # a fresh graph, even in a forked process
        return _run(tf, args)


def _run(tf, args) -> int:
    step_ph = tf.placeholder(tf.int64, [], name="step_value")
    assigns = []
    for i, (name, shape) in enumerate(sorted(SHAPES.items())):
        if shape:
            v = tf.Variable(np.zeros(shape, np.float32), name=name)
            base = tf.constant(np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape))
            value = base * float(i + 1) + tf.cast(step_ph * 1000, tf.float32)
        else:
            v = tf.Variable(np.int64(0), name=name)
            value = step_ph
        assigns.append(tf.assign(v, value))
    saver = tf.train.Saver(max_to_keep=MAX_TO_KEEP)
    prefix = os.path.join(args.directory, "model")
    with tf.Session() as sess:
        latest = tf.train.latest_checkpoint(args.directory)
        if latest:
            saver.restore(sess, latest)     # raises on a damaged checkpoint
            step = int(sess.run("step:0"))
            state = tf.train.get_checkpoint_state(args.directory)
            saver.recover_last_checkpoints(list(state.all_model_checkpoint_paths))
            print(f"restored {step}", flush=True)
        else:
            sess.run(tf.global_variables_initializer())
            step = 0
            print("fresh", flush=True)
        install_kill(args.kill)
        print("ready", flush=True)
        for _ in range(args.saves):
            step += 1
            sess.run(assigns, {step_ph: step})
            saver.save(sess, prefix, global_step=step)
            print(f"saved {step}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
