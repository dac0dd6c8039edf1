"""Saves to a path or URL, for kill campaigns: run it, SIGKILL it anywhere, check.

    python tools/save_loop.py DIR_OR_URL [--start 1] [--count N] [--mb 4] [--sharded]
        saves steps start, start+1, ... (forever without --count) with a Saver keeping
        two checkpoints; prints "saved STEP" after each save returns
    python tools/save_loop.py DIR_OR_URL --check [--mb 4] [--sharded]
        prints "ok STEP" when the latest checkpoint holds exactly step STEP's values,
        else exits 1 naming what is wrong

Every value is a function of the step, so a checker knows what a checkpoint must hold.
A URL (``s3://bucket/run``) goes through the object-store commit protocol (data objects,
then the index, then the state file). Used by tests/storage/test_s3_storage.py; ``make
crash`` can drive the same functions (``save_steps``, ``check_latest``) for S3 by pointing
them at a URL.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

MAX_TO_KEEP = 2


def shapes(mb: float) -> dict:
    rows = max(1, int(mb * (1 << 20) / 4 / 256))
    return {"big": (rows, 256), "bias": (256,), "count": ()}


def values(step: int, mb: float) -> dict:
    """What step ``step`` saves: distinct per step and per variable."""
    out = {}
    for i, (name, shape) in enumerate(sorted(shapes(mb).items())):
        if not shape:
            out[name] = np.int64(step)
            continue
        size = int(np.prod(shape))
        out[name] = (np.arange(size, dtype=np.float32).reshape(shape) * (i + 1)
                     + np.float32(step * 1000))
    return out


def build(mb: float, sharded: bool):
    """Variables, one assign op per variable fed a step, and the Saver."""
    import flowsaver as tf
    variables, assigns = {}, []
    step_ph = tf.placeholder(tf.int64, [], name="step")
    for i, (name, shape) in enumerate(sorted(shapes(mb).items())):
        with tf.device(f"/cpu:{i % 2}"):
            if not shape:
                var = tf.Variable(np.int64(0), name=name)
                assigns.append(var.assign(step_ph))
            else:
                var = tf.Variable(np.zeros(shape, np.float32), name=name)
                size = int(np.prod(shape))
                base = tf.reshape(tf.range(size, dtype=tf.float32), shape) * float(i + 1)
                assigns.append(var.assign(base + tf.cast(step_ph * 1000, tf.float32)))
        variables[name] = var
    return variables, assigns, step_ph, tf.train.Saver(max_to_keep=MAX_TO_KEEP, sharded=sharded)


def save_steps(where: str, start: int = 1, count: int | None = None, mb: float = 4,
               sharded: bool = False, report=print) -> None:
    """Saves steps ``start``, ``start + 1``, ... to ``where/model`` (``count`` of them)."""
    import flowsaver as tf
    _, assigns, step_ph, saver = build(mb, sharded)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        step = start
        while count is None or step < start + count:
            sess.run(assigns, {step_ph: step})
            saver.save(sess, where + "/model", global_step=step, write_meta_graph=False)
            report(f"saved {step}")
            step += 1


def check_latest(where: str, mb: float = 4) -> int:
    """The step of the latest checkpoint, after checking that it holds that step's values.

    Raises:
      AssertionError: no latest checkpoint, or one whose values are not its step's.
    """
    import re
    from flowsaver.format.reader import CheckpointReader
    from flowsaver.format.state import get_checkpoint_state, latest_checkpoint
    latest = latest_checkpoint(where)
    assert latest is not None, f"{where}: no latest checkpoint"
    step = int(re.search(r"-(\d+)$", latest).group(1))
    reader = CheckpointReader(latest)
    for name, value in values(step, mb).items():
        got = reader.get_tensor(name)
        assert np.array_equal(got, value), f"{latest}: {name} is not step {step}'s value"
    state = get_checkpoint_state(where)
    for listed in state.all_model_checkpoint_paths:
        listed_step = int(re.search(r"-(\d+)$", listed).group(1))
        assert np.array_equal(CheckpointReader(listed).get_tensor("count"), listed_step), listed
    return step


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("where")
    parser.add_argument("--start", type=int, default=1)
    parser.add_argument("--count", type=int)
    parser.add_argument("--mb", type=float, default=4)
    parser.add_argument("--sharded", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        try:
            print(f"ok {check_latest(args.where, args.mb)}")
        except AssertionError as exc:
            print(f"damaged: {exc}")
            return 1
        return 0
    save_steps(args.where, args.start, args.count, args.mb, args.sharded,
               report=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
