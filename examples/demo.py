"""flowsaver's main job, end to end: train, save, restart, restore, continue, save again.

    python examples/demo.py OUTDIR

1. Train a small MLP on synthetic data (Adam), saving every epoch with
   ``Saver(max_to_keep=3)`` and ``global_step``: the older checkpoints are deleted.
2. In a fresh process: ``import_meta_graph`` + ``restore(latest_checkpoint)``, evaluate,
   continue training a few steps, save again.
``make demo`` then runs ``flowsaver inspect`` on OUTDIR. TensorFlow can load every file
this writes; no TensorFlow is needed here.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np

import flowsaver as tf

EPOCHS = 5
STEPS_PER_EPOCH = 40
BATCH = 64


def synthetic_data(seed: int = 0):
    """Points in 2-D, labelled by which of three rays from the origin they lie nearest."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1024, 2)).astype(np.float32)
    angles = np.arctan2(x[:, 1], x[:, 0])
    y = ((angles + np.pi) / (2 * np.pi / 3)).astype(np.int64) % 3
    return x, y


def build_model():
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    with tf.variable_scope("hidden"):
        w1 = tf.get_variable("w", [2, 32])
        b1 = tf.get_variable("b", [32], initializer=tf.zeros_initializer())
    h = tf.nn.relu(tf.matmul(x, w1) + b1)
    with tf.variable_scope("logits"):
        w2 = tf.get_variable("w", [32, 3])
        b2 = tf.get_variable("b", [3], initializer=tf.zeros_initializer())
    logits = tf.add(tf.matmul(h, w2), b2, name="logits")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=logits), name="loss")
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32),
                              name="accuracy")
    step = tf.train.get_or_create_global_step()
    tf.train.AdamOptimizer(0.05).minimize(loss, global_step=step, name="train")
    return accuracy


def train(directory: str) -> None:
    x, y = synthetic_data()
    build_model()
    saver = tf.train.Saver(max_to_keep=3)
    train_op = tf.get_collection("train_op")[0]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        rng = np.random.default_rng(1)
        for epoch in range(1, EPOCHS + 1):
            for _ in range(STEPS_PER_EPOCH):
                idx = rng.integers(0, len(x), BATCH)
                sess.run(train_op, {"x:0": x[idx], "y:0": y[idx]})
            loss, acc, step = sess.run(["loss:0", "accuracy:0",
                                        tf.train.get_global_step()], {"x:0": x, "y:0": y})
            path = saver.save(sess, os.path.join(directory, "model"), global_step=step)
            print(f"epoch {epoch}: loss {loss:.3f}, accuracy {acc:.2%} -> saved "
                  f"{os.path.basename(path)}")
    kept = sorted(f for f in os.listdir(directory) if f.endswith(".index"))
    print(f"max_to_keep=3 kept {', '.join(f[:-6] for f in kept)}")


def resume(directory: str) -> None:
    x, y = synthetic_data()
    latest = tf.train.latest_checkpoint(directory)
    print(f"fresh process: import_meta_graph({os.path.basename(latest)}.meta), "
          f"restore({os.path.basename(latest)})")
    saver = tf.train.import_meta_graph(latest + ".meta")
    # A new Saver knows nothing of earlier saves (as in TensorFlow); hand it the state
    # file's list so that max_to_keep goes on counting them.
    saver.recover_last_checkpoints(tf.train.get_checkpoint_state(directory)
                                   .all_model_checkpoint_paths)
    train_op = tf.get_collection("train_op")[0]
    with tf.Session() as sess:
        saver.restore(sess, latest)
        feeds = {"x:0": x, "y:0": y}
        loss, acc = sess.run(["loss:0", "accuracy:0"], feeds)
        print(f"restored: loss {loss:.3f}, accuracy {acc:.2%} (no initializer ran)")
        for _ in range(20):
            sess.run(train_op, feeds)
        loss, acc, step = sess.run(["loss:0", "accuracy:0", "global_step:0"], feeds)
        path = saver.save(sess, os.path.join(directory, "model"), global_step=step)
        print(f"20 more steps: loss {loss:.3f}, accuracy {acc:.2%} -> saved "
              f"{os.path.basename(path)}; kept "
              f"{', '.join(map(os.path.basename, saver.last_checkpoints))}")


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "--resume":
        resume(argv[2])
        return 0
    if len(argv) != 2:
        print(__doc__)
        return 2
    directory = argv[1]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    train(directory)
    # The second half runs in a new interpreter: nothing of this graph survives.
    return subprocess.call([sys.executable, os.path.abspath(__file__), "--resume", directory])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
