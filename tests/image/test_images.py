"""tf.image without TensorFlow: PNG codec details, the optional Pillow dependency and its
error, and resize arithmetic on small hand-checked cases."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import flowsaver as tf


def _run(fetch):
    with tf.Session() as sess:
        return sess.run(fetch)


def test_png_needs_no_imaging_library():
    code = ("import sys; sys.modules['PIL'] = None\n"
            "import numpy as np, flowsaver as tf\n"
            "img = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)\n"
            "with tf.Session() as s:\n"
            "    out = s.run(tf.image.decode_png(tf.image.encode_png(img)))\n"
            "assert (out == img).all()\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_missing_pillow_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with tf.Graph().as_default():
        decoded = tf.image.decode_jpeg(tf.constant(b"\xff\xd8\xff\xe0 not really"))
        with pytest.raises(tf.errors.UnimplementedError, match=r"flowsaver\[images\]"):
            _run(decoded)


def test_decode_image_rejects_unknown_formats():
    with tf.Graph().as_default():
        with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown image file format"):
            _run(tf.image.decode_image(tf.constant(b"GIF? no, plain text")))


def test_resize_small_cases():
    image = np.array([[0.0, 10.0], [20.0, 30.0]], np.float32)[None, :, :, None]
    with tf.Graph().as_default():
        bilinear = tf.image.resize_images(image, [4, 4])
        aligned = tf.image.resize_images(image, [3, 3], align_corners=True)
        nearest = tf.image.resize_images(image, [4, 4], method=1)
        area = tf.image.resize_images(np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1),
                                      [2, 2], method=3)
        same = tf.image.resize_images(image, [2, 2])
        out = _run([bilinear, aligned, nearest, area])
        assert same.op.type != "ResizeBilinear"   # TensorFlow 1.x skips a same-size resize
    np.testing.assert_allclose(out[0][0, :, :, 0][0], [0, 5, 10, 10])
    np.testing.assert_allclose(out[1][0, :, :, 0], [[0, 5, 10], [10, 15, 20], [20, 25, 30]])
    np.testing.assert_array_equal(out[2][0, :, :, 0][:, 0], [0, 0, 20, 20])
    np.testing.assert_allclose(out[3][0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])


def test_reverse():
    with tf.Graph().as_default():
        x = np.arange(6).reshape(2, 3)
        np.testing.assert_array_equal(_run(tf.reverse(x, [1])), x[:, ::-1])
        # a constant axis list is checked when the graph is built, as TensorFlow's shape fn does
        with pytest.raises(ValueError, match="specified more than once"):
            tf.reverse(x, [1, -1])
