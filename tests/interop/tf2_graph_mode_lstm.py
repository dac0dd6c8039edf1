"""TensorFlow's side of the TF 2 graph-mode LSTM test, run in a subprocess of its own:
TensorFlow 2 with only eager execution disabled (``tf.compat.v1.disable_eager_execution()``),
so control flow v2 and resource variables stay on, as a TF1 program run on TF 2 gets
them. Builds test_lstm_training_tf's LSTM classifier, trains 3 steps, saves a checkpoint
and its metagraph, trains 4 more steps, and prints a JSON line with the checkpoint
prefix, the 4 losses and the op types of the graph and its function library.

Usage: python tf2_graph_mode_lstm.py OUT_DIR
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402

from test_lstm_training_tf import _cells, _data, _train, lstm_classifier  # noqa: E402


def main(out_dir: str) -> None:
    v1 = tf.compat.v1
    v1.disable_eager_execution()
    feeds = _data()
    v1.set_random_seed(3)
    loss, train = lstm_classifier(v1, _cells(v1))
    graph_def = v1.get_default_graph().as_graph_def()
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        _train(sess, loss, train, feeds, 3)
        prefix = v1.train.Saver().save(sess, os.path.join(out_dir, "lstm"), global_step=3)
        losses = _train(sess, loss, train, feeds, 4)
    print(json.dumps({
        "prefix": prefix,
        "losses": [float(x) for x in losses],
        "graph_ops": sorted({n.op for n in graph_def.node}),
        "function_ops": sorted({n.op for f in graph_def.library.function
                                for n in f.node_def}),
        "functions": sorted(f.signature.name for f in graph_def.library.function),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
