"""TensorBoard histograms (``HistogramProto``) with TensorFlow's default buckets.

The bucket limits: 0, then +-1e-12 growing by a factor 1.1 while below 1e20, then +-DBL_MAX
(the largest finite double); all sorted. A value goes to the first bucket whose limit is
greater than it. In the proto, each run of empty buckets is written as one entry with the
run's last limit, so only the limits around the data remain.
"""
from __future__ import annotations

import sys

import numpy as np

from flowsaver.format.event_protos import HistogramProto

DBL_MAX = sys.float_info.max


def _default_limits() -> np.ndarray:
    positive = []
    v = 1.0e-12
    while v < 1.0e20:
        positive.append(v)
        v *= 1.1   # in double arithmetic, step by step, as the limits were made
    positive.append(DBL_MAX)
    return np.array([-p for p in reversed(positive)] + [0.0] + positive)


DEFAULT_LIMITS = _default_limits()


def histogram_proto(values) -> HistogramProto:
    """The HistogramProto of ``values`` (any shape, converted to double)."""
    flat = np.asarray(values, np.float64).reshape(-1)
    index = np.minimum(np.searchsorted(DEFAULT_LIMITS, flat, side="right"),
                       len(DEFAULT_LIMITS) - 1)
    counts = np.bincount(index, minlength=len(DEFAULT_LIMITS))
    proto = HistogramProto()
    proto.min = float(flat.min()) if flat.size else DBL_MAX
    proto.max = float(flat.max()) if flat.size else -DBL_MAX
    proto.num = float(flat.size)
    # running sums in order, as a streaming histogram adds them
    proto.sum = float(np.cumsum(flat)[-1]) if flat.size else 0.0
    proto.sum_squares = float(np.cumsum(flat * flat)[-1]) if flat.size else 0.0
    i, n = 0, len(counts)
    while i < n:
        end, count = DEFAULT_LIMITS[i], counts[i]
        i += 1
        if count <= 0:
            while i < n and counts[i] <= 0:
                end, count = DEFAULT_LIMITS[i], counts[i]
                i += 1
        proto.bucket_limit.append(float(end))
        proto.bucket.append(float(count))
    return proto
