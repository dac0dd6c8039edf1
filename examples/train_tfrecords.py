"""A TF1-style training script, end to end, with no TensorFlow installed:

    python examples/train_tfrecords.py OUTDIR [--steps N]

1. Writes synthetic 16x16 RGB images (noise with a faint square in one of four
   quadrants; the label is the quadrant) as PNG-encoded ``tf.train.Example`` records in two GZIP TFRecord files.
2. Reads them back with ``tf.data``: TFRecordDataset -> parse_single_example ->
   decode_png -> convert_image_dtype -> shuffle -> batch -> repeat.
3. Trains a small CNN (conv -> max-pool -> conv -> dense) with Adam, writing summaries
   (loss and accuracy scalars, a weight histogram, input images) every 10 steps with
   ``tf.summary.FileWriter`` (the graph too), and checkpoints with ``tf.train.Saver``.

Then ``tensorboard --logdir OUTDIR/logs`` shows the run (see tools/tensorboard_screenshots.py),
and TensorFlow can restore OUTDIR/ckpt/model-*.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

import flowsaver as tf

SIZE, CLASSES = 16, 4


def synthetic_image(rng, label: int) -> np.ndarray:
    """Noise, with a faint 3x3 square somewhere in quadrant ``label``."""
    image = rng.integers(0, 140, (SIZE, SIZE, 3))
    top = (label // 2) * (SIZE // 2) + int(rng.integers(0, SIZE // 2 - 2))
    left = (label % 2) * (SIZE // 2) + int(rng.integers(0, SIZE // 2 - 2))
    image[top:top + 3, left:left + 3] += 60
    return np.clip(image, 0, 255).astype(np.uint8)


def write_tfrecords(directory: str, count: int = 256, shards: int = 2) -> list:
    """GZIP TFRecord files of Examples {"image": PNG bytes, "label": int64}."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(0)
    options = tf.python_io.TFRecordOptions(tf.python_io.TFRecordCompressionType.GZIP)
    paths = [os.path.join(directory, f"train-{i:05d}-of-{shards:05d}.tfrecord.gz")
             for i in range(shards)]
    with tf.Graph().as_default():
        image = tf.placeholder(tf.uint8, [SIZE, SIZE, 3])
        encoded = tf.image.encode_png(image)
        with tf.Session() as sess:
            writers = [tf.python_io.TFRecordWriter(p, options) for p in paths]
            for i in range(count):
                label = int(rng.integers(CLASSES))
                example = tf.train.Example()
                feature = example.features.feature
                feature["image"].bytes_list.value.append(
                    sess.run(encoded, {image: synthetic_image(rng, label)}))
                feature["label"].int64_list.value.append(label)
                writers[i % shards].write(example.SerializeToString())
            for w in writers:
                w.close()
    return paths


def input_pipeline(paths, batch_size: int):
    def parse(record):
        features = tf.parse_single_example(record, {
            "image": tf.FixedLenFeature([], tf.string),
            "label": tf.FixedLenFeature([], tf.int64)})
        image = tf.image.decode_png(features["image"], channels=3)
        image = tf.image.convert_image_dtype(image, tf.float32)
        return tf.reshape(image, [SIZE, SIZE, 3]), features["label"]
    dataset = tf.data.TFRecordDataset(paths, compression_type="GZIP").map(parse)
    dataset = dataset.shuffle(64, seed=1).batch(batch_size, drop_remainder=True).repeat()
    return tf.data.make_one_shot_iterator(dataset).get_next()


def conv(x, name: str, filters: int):
    with tf.variable_scope(name):
        kernel = tf.get_variable("kernel", [3, 3, int(x.shape[-1]), filters])
        bias = tf.get_variable("bias", [filters], initializer=tf.zeros_initializer())
        return tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, kernel, [1, 1, 1, 1], "SAME"), bias))


def model(images):
    x = conv(images, "conv1", 8)
    x = tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    x = conv(x, "conv2", 16)
    x = tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    x = tf.reshape(x, [-1, 4 * 4 * 16])
    with tf.variable_scope("dense"):
        weights = tf.get_variable("kernel", [4 * 4 * 16, CLASSES])
        bias = tf.get_variable("bias", [CLASSES], initializer=tf.zeros_initializer())
    tf.summary.histogram("dense_weights", weights)
    return tf.add(tf.matmul(x, weights), bias, name="logits")


def train(outdir: str, steps: int, batch_size: int = 32, every: int = 10) -> float:
    paths = write_tfrecords(os.path.join(outdir, "data"))
    graph = tf.Graph()
    with graph.as_default():
        images, labels = input_pipeline(paths, batch_size)
        logits = model(images)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits), name="xent")
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32),
                                  name="acc")
        step = tf.train.get_or_create_global_step()
        train_op = tf.train.AdamOptimizer(0.003).minimize(loss, global_step=step)
        tf.summary.scalar("loss", loss)
        tf.summary.scalar("accuracy", accuracy)
        tf.summary.image("inputs", images, max_outputs=3)
        summaries = tf.summary.merge_all()
        saver = tf.train.Saver(max_to_keep=3)
        writer = tf.summary.FileWriter(os.path.join(outdir, "logs"), graph)
        os.makedirs(os.path.join(outdir, "ckpt"), exist_ok=True)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for i in range(1, steps + 1):
                if i % every == 0 or i == 1:
                    _, value, acc, summary = sess.run([train_op, loss, accuracy, summaries])
                    writer.add_summary(summary, i)
                    print(f"step {i}: loss {value:.4f} accuracy {acc:.3f}")
                else:
                    sess.run(train_op)
                if i % 50 == 0 or i == steps:
                    path = saver.save(sess, os.path.join(outdir, "ckpt", "model"),
                                      global_step=i)
                    print(f"saved {os.path.basename(path)}")
        writer.close()
    return float(acc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--steps", type=int, default=150)
    args = parser.parse_args()
    accuracy = train(args.outdir, args.steps)
    print(f"final accuracy {accuracy:.3f}; logs in {os.path.join(args.outdir, 'logs')}")


if __name__ == "__main__":
    main()
