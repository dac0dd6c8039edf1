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

On an object store (DIR an ``s3://`` URL) the points are those of the commit protocol
(format/bundle_write.py): each save PUTs the data object, the index (the commit), the
``checkpoint`` state file, then the ``.meta``; retention DELETEs ``.meta``, ``.index``
and the data objects of the oldest checkpoint.

    put-before:N      just before the N-th PUT (so between the data and the index PUT,
                      between the index and the state-file PUT, ...)
    put-after:N       just after it
    upload:N          while the N-th PUT is in flight, at a random moment within it
    delete-before:N   just before the N-th DELETE (retention, leftovers)
    delete-after:N    just after it

Before a self-kill the child prints ``killed WHERE`` (``killed mid PUT of data``, say),
which the campaign counts the kills by.

Output lines, for the campaign: ``restored STEP`` or ``fresh``, ``ready``, then
``saved STEP`` after each save returns (a save that returned must survive the kill).
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import threading
import time

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


def _die(where: str | None = None) -> None:
    if where:
        print(f"killed {where}", flush=True)
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def object_kind(url: str) -> str:
    """What an object of a checkpoint directory is: data, index, meta or state."""
    name = url.rsplit("/", 1)[-1]
    if name.endswith(".index"):
        return "index"
    if ".data-" in name:
        return "data"
    if name.endswith(".meta"):
        return "meta"
    return "state" if name == "checkpoint" else "other"


def install_store_kill(kind: str, count: int) -> None:
    """The self-kill at the N-th PUT or DELETE of an object store (remote.py's calls)."""
    from flowsaver.format import remote
    left = [count]
    # How long the last PUT took: an in-flight kill is drawn within that much time.
    last_put = [0.02]

    def due() -> bool:
        left[0] -= 1
        return left[0] == 0

    def put(url: str, call) -> None:
        what = object_kind(url)
        if not due():
            began = time.monotonic()
            call()
            last_put[0] = time.monotonic() - began
            return
        if kind == "put-before":
            _die(f"before PUT of {what}")
        if kind == "upload":
            state = {"in_flight": True}
            lock = threading.Lock()

            def kill_in_flight():
                with lock:
                    if state["in_flight"]:
                        _die(f"mid PUT of {what}")

            timer = threading.Timer(random.uniform(0.0, last_put[0]), kill_in_flight)
            timer.daemon = True
            timer.start()
            call()
            with lock:
                state["in_flight"] = False
            timer.cancel()
            _die(f"after PUT of {what} (the upload beat the timer)")
        call()
        _die(f"after PUT of {what}")

    commit, write_bytes, remove = (remote.RemoteOutput.commit, remote.ObjectStore.write_bytes,
                                   remote.ObjectStore.remove)

    def commit_wrapped(self):
        if self._done:
            return commit(self)
        return put(self.path, lambda: commit(self))

    def write_bytes_wrapped(self, url, data):
        return put(url, lambda: write_bytes(self, url, data))

    def remove_wrapped(self, url):
        if not due():
            return remove(self, url)
        what = object_kind(url)
        if kind == "delete-before":
            _die(f"before DELETE of {what}")
        remove(self, url)
        _die(f"after DELETE of {what}")

    if kind.startswith("delete"):
        remote.ObjectStore.remove = remove_wrapped
    else:
        remote.RemoteOutput.commit = commit_wrapped
        remote.ObjectStore.write_bytes = write_bytes_wrapped


def install_kill(spec: str) -> None:
    """Arranges the self-kill ``spec`` by wrapping the calls it names."""
    if spec == "none":
        return
    kind, _, count = spec.partition(":")
    if kind in ("put-before", "put-after", "upload", "delete-before", "delete-after"):
        install_store_kill(kind, int(count))
        return
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
                # The output (storage.LocalOutput) is unbuffered: these bytes reach the
                # file before the kill.
                self._file.write(view[:len(view) // 2])
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
    prefix = args.directory.rstrip("/") + "/model"
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
