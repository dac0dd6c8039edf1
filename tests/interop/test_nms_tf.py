"""Non-maximum suppression (NonMaxSuppression to V5, ``tf.image.non_max_suppression`` and
``non_max_suppression_with_scores``) against real TensorFlow: the same indices (and
scores) on crowded random boxes, with tied scores, corners given in either order, boxes
of no area, score thresholds, padding and soft NMS; the API's GraphDef node for node.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, run_built, run_raw_op


def _boxes(seed: int, n: int, dtype=np.float32):
    rng = np.random.default_rng(seed)
    corner = rng.uniform(0, 10, (n, 2))
    size = rng.uniform(0.5, 4, (n, 2))
    boxes = np.concatenate([corner, corner + size], axis=1)
    flip = rng.random(n) < 0.3                      # corners given the other way round
    boxes[flip] = boxes[flip][:, [2, 3, 0, 1]]
    flat = rng.random(n) < 0.05                     # boxes of no area
    boxes[flat, 2] = boxes[flat, 0]
    scores = np.round(rng.random(n), 1)             # many ties
    return boxes.astype(dtype), scores.astype(dtype)


def _flat_box(boxes):
    boxes = boxes.copy()
    boxes[0, 2] = boxes[0, 0]                       # a box of no area
    return boxes


CASES = [  # (op type, seed, boxes, max size, iou, score threshold, sigma, pad)
    ("NonMaxSuppression", 1, 60, 20, 0.5, None, None, None),
    ("NonMaxSuppressionV2", 2, 80, 30, 0.3, None, None, None),
    ("NonMaxSuppressionV3", 3, 80, 100, 0.6, 0.35, None, None),
    ("NonMaxSuppressionV3", 4, 40, 0, 0.5, 0.0, None, None),
    ("NonMaxSuppressionV4", 5, 50, 40, 0.4, 0.2, None, True),
    ("NonMaxSuppressionV4", 6, 50, 10, 0.7, -1.0, None, False),
    ("NonMaxSuppressionV5", 7, 60, 25, 0.5, 0.1, 0.0, False),
    ("NonMaxSuppressionV5", 8, 60, 40, 0.5, 0.05, 0.5, True),
    ("NonMaxSuppressionV5", 9, 30, 30, 1.0, float("-inf"), 0.3, False),
]


@pytest.mark.parametrize("op_type,seed,n,size,iou,floor,sigma,pad", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_raw_ops_match_tensorflow(tf, op_type, seed, n, size, iou, floor, sigma, pad):
    boxes, scores = _boxes(seed, n)
    boxes = _flat_box(boxes)
    inputs = {"boxes": boxes, "scores": scores, "max_output_size": np.int32(size)}
    attrs = {}
    if op_type == "NonMaxSuppression":
        attrs["iou_threshold"] = iou
    else:
        inputs["iou_threshold"] = np.float32(iou)
    if floor is not None:
        inputs["score_threshold"] = np.float32(floor)
    if sigma is not None:
        inputs["soft_nms_sigma"] = np.float32(sigma)
    if pad is not None:
        attrs["pad_to_max_output_size"] = pad
    ours, theirs = run_raw_op(tf, op_type, inputs, attrs)
    assert_close(ours, theirs, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("op_type", ["NonMaxSuppressionV2", "NonMaxSuppressionV3"])
def test_an_overlap_equal_to_the_threshold_suppresses_as_in_tensorflow(tf, op_type):
    boxes = np.array([[0, 0, 1, 1], [0, 0, 1, 2], [0, 0, 2, 2], [5, 5, 6, 6]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)   # IoU(0, 1) = 0.5, IoU(1, 2) = 0.5
    inputs = {"boxes": boxes, "scores": scores, "max_output_size": np.int32(4),
              "iou_threshold": np.float32(0.5)}
    if op_type == "NonMaxSuppressionV3":
        inputs["score_threshold"] = np.float32(0.0)
    ours, theirs = run_raw_op(tf, op_type, inputs, {})
    assert_close(ours, theirs, rtol=0, atol=0)


def test_half_precision_boxes_match_tensorflow(tf):
    boxes, scores = _boxes(11, 50, np.float16)
    ours, theirs = run_raw_op(tf, "NonMaxSuppressionV3", {
        "boxes": boxes, "scores": scores, "max_output_size": np.int32(30),
        "iou_threshold": np.float16(0.45), "score_threshold": np.float16(0.1)}, {})
    assert_close(ours, theirs, rtol=0, atol=0)


def test_api_matches_tensorflow(tf):
    boxes, scores = _boxes(12, 40)

    def build(api):
        b = api.placeholder(np.float32, [None, 4], name="in0")
        s = api.placeholder(np.float32, [None], name="in1")
        return [api.image.non_max_suppression(b, s, 10, 0.4, 0.2),
                *api.image.non_max_suppression_with_scores(b, s, 15, soft_nms_sigma=0.5,
                                                           name="soft")]
    built = build_both(tf, build)
    assert_same_graph_def(built[0][0], built[1][0])
    ours, theirs = run_built(tf, built, {"in0": boxes, "in1": scores})
    assert_close(ours, theirs, rtol=1e-6, atol=1e-7)


def test_bad_arguments_fail_as_in_tensorflow(tf):
    """An IoU threshold outside [0, 1] fails when run; a score per box missing fails when
    the graph is built, in both systems."""
    boxes, scores = _boxes(13, 5)
    given = {"boxes": boxes, "scores": scores, "max_output_size": np.int32(3),
             "iou_threshold": np.float32(1.5)}
    with pytest.raises(tf.errors.InvalidArgumentError):
        run_raw_op(tf, "NonMaxSuppressionV2", given, {})
    with pytest.raises(flowsaver.errors.InvalidArgumentError) as ours:
        run_raw_op(tf, "NonMaxSuppressionV2", given, {}, ours_only=True)
    assert "iou_threshold" in str(ours.value)
    given.update(scores=np.ones(3, np.float32), iou_threshold=np.float32(0.5))
    with pytest.raises(ValueError):
        run_raw_op(tf, "NonMaxSuppressionV2", given, {})
    with pytest.raises(ValueError):
        run_raw_op(tf, "NonMaxSuppressionV2", given, {}, ours_only=True)
