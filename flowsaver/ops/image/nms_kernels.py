"""Non-maximum suppression, NonMaxSuppression to NonMaxSuppressionV5 (defs, shape
functions, kernels): the box selection of object-detection graphs (SSD and Faster R-CNN
exports run ``tf.image.non_max_suppression``).

Greedy, as TensorFlow's kernel: candidates scoring above ``score_threshold`` are taken in
order of score (ties: the lower index first); a candidate is dropped as soon as its
intersection-over-union with a box already kept exceeds ``iou_threshold`` (an IoU equal to
the threshold does not suppress; measured against TensorFlow 2.21). IoU is computed in
the boxes' float type with corners put in order first and 0 for a box of no area, so the
same boxes are kept as TensorFlow keeps.
V5 with ``soft_nms_sigma`` > 0 is soft NMS instead, where the IoU threshold plays no part
(measured: TensorFlow 2.21 keeps a box overlapping a kept one beyond it): each overlap
with a kept box scales the candidate's score by exp(-iou^2 / (2 sigma)) (the exponential
rounded once from double precision, as the C library's expf rounds it), a rescored
candidate goes back into the queue unless it fell to the score threshold, and the scores
come out too.
"""
from __future__ import annotations

import heapq
import math

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.const_eval import value_of
from flowsaver.ops.registry import OpTable
from flowsaver.ops.shapes import fail, merge_shapes, with_rank

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'NonMaxSuppression(boxes: float, scores: float, max_output_size: int32) -> (selected_indices: int32); iou_threshold: float = 0.5',
    'NonMaxSuppressionV2(boxes: T, scores: T, max_output_size: int32, iou_threshold: T_threshold) -> (selected_indices: int32); T: type {half, float} = float; T_threshold: type {half, float} = float',
    'NonMaxSuppressionV3(boxes: T, scores: T, max_output_size: int32, iou_threshold: T_threshold, score_threshold: T_threshold) -> (selected_indices: int32); T: type {half, float} = float; T_threshold: type {half, float} = float',
    'NonMaxSuppressionV4(boxes: T, scores: T, max_output_size: int32, iou_threshold: T_threshold, score_threshold: T_threshold) -> (selected_indices: int32, valid_outputs: int32); T: type {half, float} = float; T_threshold: type {half, float} = float; pad_to_max_output_size: bool = false',
    'NonMaxSuppressionV5(boxes: T, scores: T, max_output_size: int32, iou_threshold: T, score_threshold: T, soft_nms_sigma: T) -> (selected_indices: int32, selected_scores: T, valid_outputs: int32); T: type {half, float} = float; pad_to_max_output_size: bool = false',
)
TABLE.not_differentiable("NonMaxSuppression", "NonMaxSuppressionV2", "NonMaxSuppressionV3",
                         "NonMaxSuppressionV4", "NonMaxSuppressionV5")

_OPS = ("NonMaxSuppression", "NonMaxSuppressionV2", "NonMaxSuppressionV3",
        "NonMaxSuppressionV4", "NonMaxSuppressionV5")


@shape_fn(*_OPS)
def _nms_shape(op):
    boxes = with_rank(op, op.inputs[0].shape, 2)
    scores = with_rank(op, op.inputs[1].shape, 1)
    merge_shapes(op, TensorShape(boxes.as_list()[:1]), scores)
    if boxes.as_list()[1] not in (None, 4):
        raise fail(op, f"Dimension must be 4 but is {boxes.as_list()[1]}")
    for t in op.inputs[2:]:
        with_rank(op, t.shape, 0)
    selected = TensorShape([None])
    if op.type in ("NonMaxSuppressionV4", "NonMaxSuppressionV5") and \
            op.get_attr("pad_to_max_output_size"):
        size = value_of(op.inputs[2])
        selected = TensorShape([None if size is None else int(size)])
    if op.type == "NonMaxSuppressionV4":
        return [selected, TensorShape([])]
    if op.type == "NonMaxSuppressionV5":
        return [selected, selected, TensorShape([])]
    return [selected]


def _invalid(message: str) -> errors.InvalidArgumentError:
    """A bad input at run time; the runtime names the node (executor.kernel_error)."""
    return errors.InvalidArgumentError(message)


def _overlaps(corners: np.ndarray, area: np.ndarray, i: int, kept: np.ndarray) -> np.ndarray:
    """IoU of box ``i`` with each box of ``kept`` (indices), in the boxes' float type."""
    lo = np.maximum(corners[kept, :2], corners[i, :2])
    hi = np.minimum(corners[kept, 2:], corners[i, 2:])
    zero = corners.dtype.type(0)
    inter = np.maximum(hi[:, 0] - lo[:, 0], zero) * np.maximum(hi[:, 1] - lo[:, 1], zero)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / (area[i] + area[kept] - inter)
    return np.where((area[i] <= 0) | (area[kept] <= 0), zero, iou)


def select(boxes, scores, max_size: int, iou_threshold, score_threshold, sigma=0.0,
           soft: bool = False):
    """(kept indices, their scores) as TensorFlow's NMS kernel selects them; ``soft``
    (sigma > 0) rescores overlapping candidates instead of dropping them."""
    dtype = boxes.dtype
    corners = np.concatenate([np.minimum(boxes[:, :2], boxes[:, 2:]),
                              np.maximum(boxes[:, :2], boxes[:, 2:])], axis=1)
    area = (corners[:, 2] - corners[:, 0]) * (corners[:, 3] - corners[:, 1])
    threshold = dtype.type(iou_threshold)
    floor = dtype.type(score_threshold)
    scale = dtype.type(dtype.type(-0.5) / dtype.type(sigma)) if soft else dtype.type(0)
    # a max-heap of (score, index): ties to the lower index
    queue = [(-float(s), i, 0) for i, s in enumerate(scores) if s > floor]
    heapq.heapify(queue)
    kept, kept_scores = [], []
    while len(kept) < max_size and queue:
        negative, i, begin = heapq.heappop(queue)
        original = dtype.type(-negative)
        score = original
        suppressed = False
        if begin < len(kept):
            overlap = _overlaps(corners, area, i, np.asarray(kept[begin:][::-1]))
            for iou in overlap:   # the boxes kept last first, as TensorFlow compares
                if not soft:
                    if iou > threshold:
                        suppressed = True
                        break
                    continue
                exponent = np.float32(np.float32(scale * iou) * iou)
                score = dtype.type(score * dtype.type(math.exp(exponent)))
                if score <= floor:
                    break
        if suppressed:
            continue
        if score == original:
            kept.append(i)
            kept_scores.append(score)
        elif score > floor:
            heapq.heappush(queue, (-float(score), i, len(kept)))
    return np.asarray(kept, np.int32), np.asarray(kept_scores, dtype)


@kernel(*_OPS)
def _nms(op, ctx):
    version = _OPS.index(op.type)
    pad = version >= 3 and op.get_attr("pad_to_max_output_size")

    def run(boxes, scores, max_output_size, *rest):
        boxes, scores = np.asarray(boxes), np.asarray(scores)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise _invalid(f"boxes must be 2-D with 4 columns, got shape "
                               f"{list(boxes.shape)}")
        if scores.ndim != 1 or scores.shape[0] != boxes.shape[0]:
            raise _invalid(f"scores must be 1-D with one score per box ({boxes.shape[0]}), "
                               f"got shape {list(scores.shape)}")
        if np.ndim(max_output_size) != 0:
            raise _invalid(f"max_output_size must be 0-D, got shape "
                               f"{list(np.shape(max_output_size))}")
        size = int(max_output_size)
        if size < 0:
            raise _invalid(f"max_output_size must be non-negative, got {size}")
        iou = op.get_attr("iou_threshold") if version == 0 else float(rest[0])
        if not 0 <= iou <= 1:
            raise _invalid(f"iou_threshold must be in [0, 1], got {iou}")
        floor = float(rest[1]) if version >= 2 else -np.inf
        sigma = float(rest[2]) if version == 4 else 0.0
        if sigma < 0:
            raise _invalid(f"soft_nms_sigma must be non-negative, got {sigma}")
        kind = np.float16 if boxes.dtype == np.float16 else np.float32
        kept, kept_scores = select(boxes.astype(kind, copy=False),
                                   scores.astype(kind, copy=False), size, iou, floor, sigma,
                                   soft=sigma > 0)
        valid = np.int32(len(kept))
        if pad:
            kept = np.pad(kept, (0, size - len(kept)))
            kept_scores = np.pad(kept_scores, (0, size - len(kept_scores)))
        if version == 3:
            return kept, valid
        if version == 4:
            return kept, kept_scores.astype(scores.dtype, copy=False), valid
        return kept
    return run
