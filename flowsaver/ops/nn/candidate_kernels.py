"""Candidate sampling for sampled losses: ``LogUniformCandidateSampler`` and
``ComputeAccidentalHits``.

The sampler draws classes from the log-uniform (Zipfian) distribution over
``[0, range_max)``, P(c) = log((c + 2) / (c + 1)) / log(range_max + 1), through
``floor(exp(u * log(range_max + 1))) - 1``; with ``unique`` it keeps drawing until it has
``num_sampled`` distinct classes and reports expected counts as
``-expm1(tries * log1p(-p))``, as TensorFlow does. The draws come from the session's
stream for the op (TensorFlow's Philox stream is not reproduced yet).
"""
from __future__ import annotations

import math

import numpy as np

from flowsaver import errors
from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.registry import OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

define(
    'LogUniformCandidateSampler(true_classes: int64) -> (sampled_candidates: int64, true_expected_count: float, sampled_expected_count: float); num_true: int >= 1; num_sampled: int >= 1; unique: bool; range_max: int >= 1; seed: int = 0; seed2: int = 0; !stateful',
    'ComputeAccidentalHits(true_classes: int64, sampled_candidates: int64) -> (indices: int32, ids: int64, weights: float); num_true: int; seed: int = 0; seed2: int = 0',
)
TABLE.not_differentiable("LogUniformCandidateSampler", "ComputeAccidentalHits")

_LOWEST_FLOAT32 = float(np.finfo(np.float32).min)


@shape_fn("LogUniformCandidateSampler")
def _sampler_shape(op):
    true = op.inputs[0].shape
    batch = true.as_list()[0] if true.ndims else None
    n = op.get_attr("num_sampled")
    return [TensorShape([n]), TensorShape([batch, op.get_attr("num_true")]), TensorShape([n])]


shape_fn("ComputeAccidentalHits")(lambda op: [TensorShape([None])] * 3)


def _probability(classes: np.ndarray, range_max: int) -> np.ndarray:
    classes = classes.astype(np.float64)
    return np.log((classes + 2.0) / (classes + 1.0)) / math.log(range_max + 1.0)


def _expected(p: np.ndarray, num_sampled: int, tries: int, unique: bool) -> np.ndarray:
    if not unique or tries == num_sampled:
        return p * num_sampled
    return -np.expm1(tries * np.log1p(-p))


@kernel("LogUniformCandidateSampler")
def _log_uniform(op, ctx):
    n, range_max = op.get_attr("num_sampled"), op.get_attr("range_max")
    unique, num_true = op.get_attr("unique"), op.get_attr("num_true")
    if unique and n > range_max:
        raise errors.InvalidArgumentError(
            None, op, f"Sampler's range is too small: num_sampled {n} > range_max {range_max}")
    log_range = math.log1p(range_max)

    def run(true_classes):
        if true_classes.ndim != 2 or true_classes.shape[1] != num_true:
            raise errors.InvalidArgumentError(
                None, op, f"true_classes must be a matrix with {num_true} columns, got shape "
                          f"{list(true_classes.shape)}")
        # flowsaver's own draws (not TensorFlow's sampler stream): a NumPy generator seeded
        # from the op's Philox stream, so seeds and repeated runs behave as for other ops
        gen = ctx.numpy_generator(op)
        picked, seen, tries = [], set(), 0
        while len(picked) < n:
            value = int(math.exp(gen.random() * log_range)) - 1
            value = min(max(value, 0), range_max - 1)
            tries += 1
            if unique and value in seen:
                continue
            seen.add(value)
            picked.append(value)
        sampled = np.array(picked, np.int64)
        true_expected = _expected(_probability(true_classes, range_max), n, tries, unique)
        sampled_expected = _expected(_probability(sampled, range_max), n, tries, unique)
        return sampled, true_expected.astype(np.float32), sampled_expected.astype(np.float32)
    return run


@kernel("ComputeAccidentalHits")
def _accidental_hits(op, ctx):
    def run(true_classes, sampled):
        position = {int(c): i for i, c in enumerate(np.reshape(sampled, -1))}
        indices, ids = [], []
        for row, classes in enumerate(np.asarray(true_classes)):
            for c in classes:
                if int(c) in position:
                    indices.append(row)
                    ids.append(position[int(c)])
        weights = np.full(len(indices), _LOWEST_FLOAT32, np.float32)
        return np.array(indices, np.int32), np.array(ids, np.int64), weights
    return run
