"""TF1 programs that write SavedModels, run unchanged by flowsaver (``import flowsaver as tf``)
and by TensorFlow (``tensorflow.compat.v1``), for the interop tests: each takes the module
as ``tf``, so both systems build the same graph from the same code."""
from __future__ import annotations

import os

import numpy as np

X = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]], np.float32)


def mlp(tf):
    """A two-layer model: ``x`` [?, 3] -> ``hidden`` -> ``probs`` and ``logits``."""
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w1 = tf.Variable(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), name="w1")
    b1 = tf.Variable(np.array([0.1, -0.2, 0.3, 0.0], np.float32), name="b1")
    hidden = tf.nn.relu(tf.matmul(x, w1) + b1, name="hidden")
    w2 = tf.get_variable("w2", initializer=np.arange(8, dtype=np.float32).reshape(4, 2) / 8)
    logits = tf.add(tf.matmul(hidden, w2), 1.0, name="logits")
    probs = tf.nn.softmax(logits, name="probs")
    return x, hidden, logits, probs


def simple_save(tf, export_dir: str) -> None:
    with tf.Graph().as_default():
        x, _, logits, probs = mlp(tf)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            tf.saved_model.simple_save(sess, export_dir, {"x": x},
                                       {"probs": probs, "logits": logits})


def builder_save(tf, export_dir: str, asset_source: str, as_text: bool = False) -> None:
    """Two MetaGraphs (``serve`` with two signatures, ``train`` + ``gpu``), an asset read by
    a local variable the main op initializes, default attrs stripped, devices cleared."""
    with tf.Graph().as_default():
        x, hidden, logits, probs = mlp(tf)
        asset = tf.constant(asset_source, name="vocab_path")
        tf.add_to_collection(tf.GraphKeys.ASSET_FILEPATHS, asset)
        vocab = tf.Variable(tf.read_file(asset), trainable=False, name="vocab",
                            collections=[tf.GraphKeys.LOCAL_VARIABLES])
        scale = tf.Variable(2.0, name="scale")
        scaled = tf.multiply(hidden, scale, name="scaled")
        predict = tf.saved_model.signature_def_utils.predict_signature_def(
            {"x": x}, {"probs": probs, "vocab": vocab})
        features = tf.saved_model.signature_def_utils.build_signature_def(
            inputs={"inputs": tf.saved_model.utils.build_tensor_info(x)},
            outputs={"hidden": tf.saved_model.utils.build_tensor_info(hidden),
                     "scaled": tf.saved_model.utils.build_tensor_info(scaled)},
            method_name="custom/features")
        with tf.Session() as sess:
            sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
            builder = tf.saved_model.builder.SavedModelBuilder(export_dir)
            builder.add_meta_graph_and_variables(
                sess, [tf.saved_model.tag_constants.SERVING],
                signature_def_map={"serving_default": predict, "features": features},
                assets_collection=tf.get_collection(tf.GraphKeys.ASSET_FILEPATHS),
                main_op=tf.saved_model.main_op.main_op(), strip_default_attrs=True)
            with tf.device("/cpu:0"):
                loss = tf.reduce_mean(tf.square(logits), name="loss")
            builder.add_meta_graph([tf.saved_model.tag_constants.TRAINING, "gpu"],
                                   signature_def_map={"loss": tf.saved_model.signature_def_utils
                                                      .predict_signature_def({"x": x},
                                                                             {"loss": loss})},
                                   clear_devices=True)
            builder.save(as_text=as_text)


def load_and_run(tf, export_dir: str, tags, key: str, feeds: dict) -> dict:
    """Load ``export_dir`` in a fresh graph and run signature ``key`` on ``feeds``."""
    with tf.Graph().as_default() as graph, tf.Session(graph=graph) as sess:
        meta = tf.saved_model.loader.load(sess, tags, export_dir)
        signature = meta.signature_def[key]
        fetches = {k: graph.get_tensor_by_name(v.name) for k, v in signature.outputs.items()}
        feed_dict = {graph.get_tensor_by_name(signature.inputs[k].name): v
                     for k, v in feeds.items()}
        return sess.run(fetches, feed_dict)


def write_asset(directory) -> str:
    path = os.path.join(str(directory), "vocab.txt")
    with open(path, "w") as f:
        f.write("alpha\nbeta\n")
    return path


KERAS_INPUT = np.linspace(-1.0, 1.0, 2 * 8 * 8 * 1, dtype=np.float32).reshape(2, 8, 8, 1)


def keras_saved_model(tf, export_dir: str) -> np.ndarray:
    """A Keras (tf_keras, Keras 2) model with conv and dense layers, saved by TensorFlow 2
    in SavedModel form; returns its output on ``KERAS_INPUT``."""
    keras = tf.keras
    inputs = keras.layers.Input((8, 8, 1), name="image")
    hidden = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    hidden = keras.layers.MaxPooling2D(2, name="pool")(hidden)
    hidden = keras.layers.Flatten(name="flat")(hidden)
    hidden = keras.layers.Dense(5, activation="tanh", name="dense")(hidden)
    outputs = keras.layers.Dense(3, activation="softmax", name="probs")(hidden)
    model = keras.Model(inputs, outputs)
    model.save(export_dir, save_format="tf")
    return model(KERAS_INPUT).numpy()


def module_saved_model(tf, export_dir: str) -> np.ndarray:
    """A ``tf.Module`` with a variable and a ``tf.function`` signature, saved by
    ``tf.saved_model.save``; returns its output on ``X``."""
    class Scale(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2) / 4, name="w")
            self.b = tf.Variable(np.float32(0.5), name="b")

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
        def __call__(self, x):
            return {"y": tf.nn.relu(tf.matmul(x, self.w) + self.b)}
    module = Scale()
    tf.saved_model.save(module, export_dir)
    return module(X)["y"].numpy()


def twin_names_saved_model(tf, export_dir: str) -> None:
    """Two variables both named ``w`` (graph handles ``w`` and ``w_1``, tied to them in the
    opposite order) and one no function uses, saved by ``tf.saved_model.save``."""
    class Twins(tf.Module):
        def __init__(self):
            super().__init__()
            self.a = tf.Variable(np.float32(1.5), name="w")
            self.b = tf.Variable(np.array([2.0, -3.0], np.float32), name="w")
            self.unused = tf.Variable(np.float32(5.0), name="unused")

        @tf.function(input_signature=[tf.TensorSpec([], tf.float32, name="x")])
        def __call__(self, x):
            return {"y": x * self.a + self.b}
    tf.saved_model.save(Twins(), export_dir)
