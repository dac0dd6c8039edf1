"""CropAndResize (``tf.image.crop_and_resize``) against real TensorFlow: boxes inside,
across and outside the image, flipped boxes, one-pixel crops, integer and half images,
bilinear and nearest sampling, an extrapolation value; the API's GraphDef; bad box
indices and crop sizes fail as TensorFlow's do."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, run_built, run_raw_op

RNG = np.random.default_rng(17)
BOXES = np.array([[0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], [-0.5, 0.2, 0.5, 1.5],
                  [0.8, 0.9, 0.2, 0.1], [0.3, 0.3, 0.3, 0.3], [1.2, -0.4, 2.0, -0.1],
                  [0.25, 0.1, 0.75, 0.6]], np.float32)
INDEX = np.array([0, 1, 1, 0, 2, 2, 1], np.int32)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int32, np.float16, np.float64])
@pytest.mark.parametrize("method", ["bilinear", "nearest"])
@pytest.mark.parametrize("size", [(3, 4), (1, 5), (7, 1), (1, 1)])
def test_crops_match_tensorflow(tf, dtype, method, size):
    image = (RNG.uniform(0, 200, (3, 9, 11, 2))).astype(dtype)
    ours, theirs = run_raw_op(tf, "CropAndResize", {
        "image": image, "boxes": BOXES, "box_ind": INDEX,
        "crop_size": np.array(size, np.int32)},
        {"method": method, "extrapolation_value": -3.5})
    assert_close(ours, theirs, rtol=1e-5, atol=1e-3)


def test_api_matches_tensorflow(tf):
    image = RNG.uniform(0, 1, (2, 6, 7, 3)).astype(np.float32)

    def build(api):
        t = api.placeholder(np.float32, [None, None, None, 3], name="in0")
        return [api.image.crop_and_resize(t, BOXES[:3], [0, 1, 1], [4, 4]),
                api.image.crop_and_resize(t, BOXES[3:5], box_indices=[1, 0],
                                          crop_size=[2, 3], method="nearest", name="roi")]
    built = build_both(tf, build)
    assert_same_graph_def(built[0][0], built[1][0])
    ours, theirs = run_built(tf, built, {"in0": image})
    assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("index,size,error", [([0, 5], [2, 2], "OutOfRangeError"),
                                              ([0, 1], [0, 2], "InvalidArgumentError")])
def test_bad_arguments_fail_as_in_tensorflow(tf, index, size, error):
    given = {"image": np.ones((2, 4, 4, 1), np.float32), "boxes": BOXES[:2],
             "box_ind": np.array(index, np.int32), "crop_size": np.array(size, np.int32)}
    with pytest.raises(getattr(tf.errors, error)):
        run_raw_op(tf, "CropAndResize", given, {})
    with pytest.raises(getattr(flowsaver.errors, error)):
        run_raw_op(tf, "CropAndResize", given, {}, ours_only=True)
