"""Everyday ``tf.image`` functions against real TensorFlow: flips, rotations, transposes,
bounding-box crops and pads, colour adjustments and conversions, total variation, and the
random ones (flips, crops, brightness, contrast, hue, saturation) with TensorFlow's seeds.

Each row is built in both systems: the GraphDefs must match node for node, and the values
must match (bit for bit for everything that only moves pixels or draws random numbers,
within float rounding for colour arithmetic). Random rows run three times in each of two
sessions.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, tf1_mode

RNG = np.random.default_rng(17)
IMAGE = RNG.uniform(0, 1, (5, 6, 3)).astype(np.float32)
BATCH = RNG.uniform(0, 1, (4, 5, 6, 3)).astype(np.float32)
PIXELS = RNG.integers(0, 256, (5, 6, 3)).astype(np.uint8)
GREY = RNG.uniform(0, 1, (5, 6, 1)).astype(np.float32)
HSV = np.stack([RNG.uniform(0, 1, (7, 3)), RNG.uniform(0, 1, (7, 3)),
                RNG.uniform(0, 1, (7, 3))], -1)
# greys, pure colours and ties between components take the special branches
SPECIAL = np.array([[[0.5, 0.5, 0.5], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0],
                     [0, 1, 1], [0.2, 0.2, 0.7], [0.7, 0.2, 0.2], [0, 0, 0]]], np.float32)


class Row:
    def __init__(self, name, build, feeds, shapes=None, exact=True):
        self.name, self.build, self.feeds, self.exact = name, build, feeds, exact
        self.shapes = shapes or [list(f.shape) for f in feeds]


def _program(row):
    def program(api):
        phs = [api.placeholder(api.as_dtype(f.dtype), s, name=f"in{i}")
               for i, (f, s) in enumerate(zip(row.feeds, row.shapes))]
        out = row.build(api, *phs)
        return out if isinstance(out, (list, tuple)) else [out]
    return program


def _run(tf, row, runs=1, sessions=1):
    (ours, our_fetches), (theirs, their_fetches) = build_both(tf, _program(row))
    assert_same_graph_def(ours, theirs)
    feeds = {f"in{i}:0": f for i, f in enumerate(row.feeds)}
    results = []
    for graph, fetches in ((ours, our_fetches), (theirs, their_fetches)):
        with tf1_mode(tf) as v1:
            session = flowsaver.Session if graph is ours else v1.Session
            got = []
            for _ in range(sessions):
                with session(graph=graph) as sess:
                    got += [sess.run(fetches, feeds) for _ in range(runs)]
            results.append(got)
    return results


ROWS = [
    Row("flips", lambda api, x, b: [api.image.flip_left_right(x), api.image.flip_up_down(x),
                                    api.image.flip_left_right(b), api.image.flip_up_down(b)],
        [IMAGE, BATCH]),
    Row("flips_unknown_rank", lambda api, x: [api.image.flip_left_right(x),
                                              api.image.flip_up_down(x)],
        [BATCH], [None]),
    Row("flips_unknown_dims", lambda api, x: api.image.flip_left_right(x), [IMAGE],
        [[None, None, 3]]),
    Row("rot90", lambda api, x, b: [api.image.rot90(x), api.image.rot90(x, 2),
                                    api.image.rot90(x, k=3, name="r"), api.image.rot90(b, 5)],
        [IMAGE, BATCH]),
    Row("rot90_tensor_k_unknown_rank", lambda api, x, k: api.image.rot90(x, k),
        [BATCH, np.int32(3)], [None, []]),
    Row("transpose", lambda api, x, b: [api.image.transpose(x),
                                        api.image.transpose_image(b, name="t")],
        [IMAGE, BATCH]),
    Row("crop_pad_static", lambda api, x, b: [
        api.image.crop_to_bounding_box(x, 1, 2, 3, 4),
        api.image.pad_to_bounding_box(x, 2, 1, 9, 8),
        api.image.crop_to_bounding_box(b, 0, 0, 5, 6),
        api.image.pad_to_bounding_box(b, 0, 3, 5, 9)], [IMAGE, BATCH]),
    Row("crop_pad_unknown", lambda api, x, y, b: [
        api.image.crop_to_bounding_box(x, 1, 1, 2, 3),
        api.image.pad_to_bounding_box(y, 1, 1, 8, 9),  # unknown rank: taken as one image
        api.image.crop_to_bounding_box(b, 2, 0, 3, 6)], [IMAGE, IMAGE, BATCH],
        [[None, None, 3], None, [None, None, None, 3]]),
    Row("convert_image_dtype", lambda api, p, x, w: [
        api.image.convert_image_dtype(p, api.float32),
        api.image.convert_image_dtype(p, api.uint16, saturate=True),
        api.image.convert_image_dtype(w, api.uint8),
        api.image.convert_image_dtype(w, api.uint8, saturate=True, name="narrow"),
        api.image.convert_image_dtype(x, api.uint8, saturate=True),
        api.image.convert_image_dtype(x * 3.0 - 1.0, api.int32, saturate=True),
        api.image.convert_image_dtype(x, api.float64), api.image.convert_image_dtype(x,
                                                                                  api.float32)],
        [PIXELS, IMAGE, PIXELS.astype(np.int32) * 2**23]),
    Row("brightness_gamma", lambda api, x, p: [
        api.image.adjust_brightness(x, 0.2), api.image.adjust_brightness(p, -0.1),
        api.image.adjust_gamma(x, 2.0, 0.5), api.image.adjust_gamma(p, 0.5)],
        [IMAGE, PIXELS], exact=False),
    Row("gamma_tensor", lambda api, x, g: api.image.adjust_gamma(x, g), [IMAGE,
                                                                         np.float32(1.7)],
        exact=False),
    Row("contrast", lambda api, x, b, p: [
        api.image.adjust_contrast(x, 1.8), api.image.adjust_contrast(b, 0.3),
        api.image.adjust_contrast(p, 1.5)], [IMAGE, BATCH, PIXELS], exact=False),
    Row("hue", lambda api, x, p, s: [
        api.image.adjust_hue(x, 0.2), api.image.adjust_hue(x, -0.9, name="h"),
        api.image.adjust_hue(p, 0.45), api.image.adjust_hue(s, 0.3)],
        [BATCH, PIXELS, SPECIAL], exact=False),
    Row("saturation", lambda api, x, p, s: [
        api.image.adjust_saturation(x, 0.4), api.image.adjust_saturation(x, 3.0),
        api.image.adjust_saturation(p, 1.5), api.image.adjust_saturation(s, 2.0)],
        [BATCH, PIXELS, SPECIAL], exact=False),
    Row("hsv", lambda api, x, s, h, d: [
        api.image.rgb_to_hsv(x), api.image.rgb_to_hsv(s), api.image.hsv_to_rgb(h),
        api.image.rgb_to_hsv(d), api.image.hsv_to_rgb(api.image.rgb_to_hsv(d))],
        [IMAGE, SPECIAL, HSV.astype(np.float32), HSV], exact=False),
    Row("hsv_half", lambda api, x: [api.image.rgb_to_hsv(x), api.image.hsv_to_rgb(x)],
        [IMAGE.astype(np.float16)], exact=False),
    Row("grayscale", lambda api, x, p, g: [
        api.image.rgb_to_grayscale(x), api.image.rgb_to_grayscale(p, name="g"),
        api.image.grayscale_to_rgb(g)], [IMAGE, PIXELS, GREY], exact=False),
    Row("grayscale_unknown", lambda api, g: api.image.grayscale_to_rgb(g), [GREY],
        [[None, None, None]]),
    Row("total_variation", lambda api, x, b: [api.image.total_variation(x),
                                              api.image.total_variation(b, name="tv")],
        [IMAGE, BATCH], exact=False),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_image_function_matches_tensorflow(tf, row):
    ours, theirs = _run(tf, row)
    if row.exact:
        for a, b in zip(ours[0], theirs[0]):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    else:
        assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


RANDOM = [
    Row("random_flips", lambda api, x, b: [
        api.image.random_flip_left_right(x), api.image.random_flip_up_down(x, seed=4),
        api.image.random_flip_left_right(b, seed=9), api.image.random_flip_up_down(b)],
        [IMAGE, BATCH]),
    Row("random_flip_unknown_rank", lambda api, x: api.image.random_flip_left_right(x),
        [BATCH], [None]),
    Row("random_crops", lambda api, x, b: [
        api.random_crop(x, [3, 4, 3]), api.image.random_crop(x, [5, 2, 3], seed=2),
        api.random_crop(b, [2, 3, 3, 3], name="c")], [IMAGE, BATCH]),
    Row("random_crop_unknown", lambda api, x: api.random_crop(x, [2, 2, 3]), [IMAGE],
        [[None, None, 3]]),
    Row("random_colour", lambda api, x: [
        api.image.random_brightness(x, 0.3), api.image.random_contrast(x, 0.2, 1.8, seed=3),
        api.image.random_hue(x, 0.4), api.image.random_saturation(x, 0.5, 1.5)],
        [IMAGE], exact=False),
]


@pytest.mark.parametrize("row", RANDOM, ids=[r.name for r in RANDOM])
def test_random_image_function_matches_tensorflow(tf, row):
    def seeded(api, *phs):
        api.set_random_seed(1234)
        return row.build(api, *phs)
    ours, theirs = _run(tf, Row(row.name, seeded, row.feeds, row.shapes, row.exact),
                        runs=3, sessions=2)
    if row.exact:
        for a, b in zip(ours, theirs):
            for x, y in zip(a, b):
                assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()
    else:
        assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    flat = [v.tobytes() for run in ours for v in run]
    assert len(set(flat)) > len(ours[0])  # runs draw anew


def test_random_crop_too_large_fails_as_in_tensorflow(tf):
    messages = []
    for which in ("ours", "theirs"):
        with tf1_mode(tf) as v1:
            api = flowsaver if which == "ours" else v1
            with api.Graph().as_default():
                x = api.placeholder(api.float32, [None, None, 3])
                crop = api.random_crop(x, [4, 4, 3], seed=1)
                with api.Session() as sess, pytest.raises(api.errors.InvalidArgumentError) \
                        as caught:
                    sess.run(crop, {x: IMAGE[:3]})
                messages.append(caught.value.message)
    assert all("Need value.shape >= size, got" in m for m in messages)


BUILD_ERRORS = [
    ("flip_rank2", lambda api: api.image.flip_left_right(api.zeros([4, 4]))),
    ("rot90_rank5", lambda api: api.image.rot90(api.zeros([1, 2, 2, 2, 3]))),
    ("transpose_zero_dim", lambda api: api.image.transpose(api.zeros([0, 2, 3]))),
    ("crop_too_wide", lambda api: api.image.crop_to_bounding_box(api.zeros([4, 4, 3]), 0, 2,
                                                                 2, 3)),
    ("pad_negative_offset", lambda api: api.image.pad_to_bounding_box(api.zeros([4, 4, 3]),
                                                                      -1, 0, 6, 6)),
    ("grey_three_channels", lambda api: api.image.grayscale_to_rgb(api.zeros([2, 2, 3]))),
    ("hue_delta", lambda api: api.image.random_hue(api.zeros([2, 2, 3]), 0.6)),
    ("contrast_bounds", lambda api: api.image.random_contrast(api.zeros([2, 2, 3]), 1.0, 0.5)),
    ("brightness_negative", lambda api: api.image.random_brightness(api.zeros([2, 2, 3]), -1)),
    ("saturation_lower", lambda api: api.image.random_saturation(api.zeros([2, 2, 3]), -1, 2)),
    ("total_variation_rank2", lambda api: api.image.total_variation(api.zeros([3, 3]))),
]


@pytest.mark.parametrize("name,build", BUILD_ERRORS, ids=[b[0] for b in BUILD_ERRORS])
def test_build_errors_match_tensorflow(tf, name, build):
    raised = []
    for which in ("ours", "theirs"):
        with tf1_mode(tf) as v1:
            api = flowsaver if which == "ours" else v1
            with api.Graph().as_default(), pytest.raises(ValueError) as caught:
                build(api)
            raised.append(str(caught.value).split(":")[0])
    assert raised[0] == raised[1]


def test_hue_and_saturation_refuse_half_images_on_the_cpu_as_tensorflow(tf):
    for which in ("ours", "theirs"):
        with tf1_mode(tf) as v1:
            api = flowsaver if which == "ours" else v1
            with api.Graph().as_default():
                hue = api.image.adjust_hue(api.constant(IMAGE.astype(np.float16)), 0.1)
                with api.Session() as sess, pytest.raises(
                        (api.errors.NotFoundError, api.errors.InvalidArgumentError)):
                    sess.run(hue)


def test_adjustments_have_no_gradient_as_in_tensorflow(tf):
    for which in ("ours", "theirs"):
        with tf1_mode(tf) as v1:
            api = flowsaver if which == "ours" else v1
            with api.Graph().as_default():
                x = api.placeholder(api.float32, [2, 2, 3])
                with pytest.raises(LookupError):
                    api.gradients(api.image.adjust_saturation(x, 0.5), x)
