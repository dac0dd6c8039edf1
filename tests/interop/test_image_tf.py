"""tf.image against real TensorFlow: PNG and JPEG both ways, resizing with every method
(TensorFlow's values), dtype conversion, standardization, crops and flips."""
from __future__ import annotations

import io

import numpy as np
import pytest

import flowsaver
from parity import assert_close, run_both

RNG = np.random.default_rng(11)
IMAGE = RNG.integers(0, 256, (7, 9, 3)).astype(np.uint8)
SMOOTH = (np.add.outer(np.arange(20), np.arange(24))[..., None] * [3, 5, 7] % 256).astype(np.uint8)


def _tf_encode_png(tf, image):
    return tf.io.encode_png(image).numpy()


@pytest.mark.parametrize("channels,dtype", [(1, np.uint8), (2, np.uint8), (3, np.uint8),
                                            (4, np.uint8), (3, np.uint16), (1, np.uint16)])
def test_we_decode_tensorflows_png(tf, channels, dtype):
    image = RNG.integers(0, np.iinfo(dtype).max, (13, 17, channels)).astype(dtype)
    data = _tf_encode_png(tf, image)   # libpng with adaptive filters (Sub, Up, Avg, Paeth)
    with flowsaver.Graph().as_default(), flowsaver.Session() as sess:
        out = sess.run(flowsaver.image.decode_png(data, dtype=flowsaver.as_dtype(dtype)))
    np.testing.assert_array_equal(out, image)


def test_tensorflow_decodes_our_png(tf):
    for image in (IMAGE, IMAGE[..., :1], (IMAGE.astype(np.uint16) * 250)):
        with flowsaver.Graph().as_default(), flowsaver.Session() as sess:
            data = sess.run(flowsaver.image.encode_png(image))
        out = tf.io.decode_png(data, dtype=tf.as_dtype(image.dtype)).numpy()
        np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize("stored,channels", [(3, 1), (1, 3), (4, 3), (3, 4), (2, 1), (2, 3), (2, 4), (4, 1)])
def test_png_channel_conversion_matches_tensorflow(tf, stored, channels):
    data = _tf_encode_png(tf, RNG.integers(0, 256, (5, 6, stored)).astype(np.uint8))
    ours, theirs = run_both(tf, lambda api: api.image.decode_png(api.constant(data),
                                                                 channels=channels))
    assert_close(ours, theirs)


def test_jpeg_both_ways(tf):
    data = tf.io.encode_jpeg(SMOOTH, quality=90).numpy()
    exact = "INTEGER_ACCURATE"   # Pillow's libjpeg-turbo decodes with the accurate DCT
    ours, theirs = run_both(tf, lambda api: [
        api.image.decode_jpeg(api.constant(data), dct_method=exact),
        api.image.decode_jpeg(api.constant(data), channels=1, dct_method=exact)])
    assert ours[0].shape == SMOOTH.shape
    assert_close(ours, theirs)
    # TensorFlow's default DCT is the fast integer one: a few levels apart at most
    ours, theirs = run_both(tf, lambda api: [api.image.decode_jpeg(api.constant(data)),
                                             api.image.decode_image(api.constant(data))])
    for a, b in zip(ours, theirs):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 8
    with flowsaver.Graph().as_default(), flowsaver.Session() as sess:
        ours_jpeg = sess.run(flowsaver.image.encode_jpeg(SMOOTH, quality=95))
    back = tf.io.decode_jpeg(ours_jpeg).numpy()
    assert back.shape == SMOOTH.shape
    assert np.abs(back.astype(int) - SMOOTH.astype(int)).mean() < 3


def test_decode_image_gif_and_float(tf):
    from PIL import Image
    frames = [Image.fromarray(SMOOTH[..., ::-1] if i else SMOOTH) for i in range(2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    gif, png_data = buffer.getvalue(), _tf_encode_png(tf, IMAGE)
    ours, theirs = run_both(tf, lambda api: [
        api.image.decode_image(api.constant(gif)),
        api.image.decode_image(api.constant(png_data), dtype=api.float32)])
    assert_close(ours, theirs)


RESIZE_CASES = [(method, align, size, dtype)
                for method in (0, 1, 2, 3) for align in (False, True)
                for size in ([4, 5], [11, 14], [7, 3]) for dtype in (np.uint8, np.float32)
                if not (align and method == 3)]


@pytest.mark.parametrize("method,align,size,dtype", RESIZE_CASES)
def test_resize_matches_tensorflow(tf, method, align, size, dtype):
    image = IMAGE.astype(dtype) / (255.0 if dtype == np.float32 else 1)
    image = image.astype(dtype)

    def build(api):
        return api.image.resize_images(api.constant(np.stack([image, image[::-1]])), size,
                                       method=method, align_corners=align)
    ours, theirs = run_both(tf, build)
    assert_close(ours, theirs, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("source,target,saturate", [
    (np.uint8, "float32", False), (np.uint8, "float64", False), (np.float32, "uint8", False),
    (np.float32, "uint8", True), (np.uint8, "uint16", False), (np.uint16, "uint8", False),
    (np.int32, "uint8", False), (np.float32, "float16", False), (np.uint8, "uint8", False)])
def test_convert_image_dtype_matches_tensorflow(tf, source, target, saturate):
    if np.dtype(source).kind == "f":
        value = np.linspace(-0.2, 1.3, 24, dtype=source).reshape(2, 4, 3)
    else:
        value = RNG.integers(0, np.iinfo(source).max, (2, 4, 3)).astype(source)
    ours, theirs = run_both(tf, lambda api: api.image.convert_image_dtype(
        api.constant(value), getattr(api, target), saturate=saturate))
    assert_close(ours, theirs)


def test_standardize_and_crops_match_tensorflow(tf):
    def build(api):
        image = api.constant(IMAGE)
        batch = api.constant(np.stack([IMAGE, IMAGE // 2]))
        flat = api.constant(np.full((3, 3, 1), 7, np.uint8))
        return [api.image.per_image_standardization(image),
                api.image.per_image_standardization(batch),
                api.image.per_image_standardization(flat),
                api.image.central_crop(image, 0.5), api.image.central_crop(batch, 0.33),
                api.image.resize_image_with_crop_or_pad(image, 4, 12),
                api.image.resize_image_with_crop_or_pad(batch, 10, 3)]
    ours, theirs = run_both(tf, build)
    assert_close(ours, theirs)


def test_random_flip_left_right_flips_or_keeps():
    seen = set()
    with flowsaver.Graph().as_default():
        image = flowsaver.constant(IMAGE)
        flipped = [flowsaver.image.random_flip_left_right(image, seed=s) for s in range(12)]
        batch = flowsaver.image.random_flip_left_right(flowsaver.constant(np.stack([IMAGE] * 8)))
        with flowsaver.Session() as sess:
            outs, batch_out = sess.run([flipped, batch])
    for out in list(outs) + list(batch_out):
        if np.array_equal(out, IMAGE):
            seen.add("kept")
        else:
            np.testing.assert_array_equal(out, IMAGE[:, ::-1])
            seen.add("flipped")
    assert seen == {"kept", "flipped"}
