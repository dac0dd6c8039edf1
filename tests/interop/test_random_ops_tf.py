"""Random ops against real TensorFlow: identical GraphDefs, seed attrs included.

The seed and seed2 attrs come from TF1's rules: no seeds at all gives (0, 0); an op seed
alone pairs it with the default graph seed 87654321; a graph seed alone numbers the ops
that need a seed (0, 1, 2, ...); both give (graph seed, op seed). Here the values are
checked for shapes, dtypes and ranges; test_philox_tf.py checks them bit for bit.
"""
from __future__ import annotations

import numpy as np
import pytest

from parity import assert_same_graph_def, build_both, run_both

PROGRAMS = [
    ("normal", lambda api: api.random_normal([2, 3])),
    ("normal_all_args", lambda api: api.random_normal(
        [4, 2], mean=1.0, stddev=2.0, dtype=api.float64, seed=5, name="rn")),
    ("normal_tuple_shape", lambda api: api.random_normal((3, 2))),
    ("normal_tensorshape", lambda api: api.random_normal(api.TensorShape([2, 3]))),
    ("normal_tensor_shape", lambda api: api.random_normal(
        api.placeholder_with_default(np.array([2, 5], np.int64), [2], name="s"))),
    ("truncated", lambda api: api.truncated_normal([50, 4], stddev=0.5, seed=1)),
    ("uniform", lambda api: api.random_uniform([2, 3])),
    ("uniform_min_max", lambda api: api.random_uniform([5], minval=-1.0, maxval=2.0)),
    ("uniform_max_only", lambda api: api.random_uniform([5], maxval=2.0, name="u")),
    ("uniform_min_only", lambda api: api.random_uniform([5], minval=1.0)),
    ("uniform_tensor_min", lambda api: api.random_uniform(
        [4], minval=api.placeholder_with_default(-2.0, [], name="lo"))),
    ("uniform_tensor_shape", lambda api: api.random_uniform(
        api.placeholder_with_default(np.array([3, 2], np.int32), [2], name="s"))),
    ("uniform_f64", lambda api: api.random_uniform([3], dtype=api.float64, seed=2)),
    ("uniform_int32", lambda api: api.random_uniform([20], minval=0, maxval=10,
                                                      dtype=api.int32)),
    ("uniform_int64_named", lambda api: api.random_uniform(
        [2, 3], minval=-3, maxval=10, dtype=api.int64, seed=4, name="ri")),
    ("shuffle", lambda api: api.random_shuffle(
        api.placeholder_with_default(np.arange(6.0, dtype=np.float32), [6], name="v"))),
    ("shuffle_const_seed_named", lambda api: api.random_shuffle([1, 2, 3], seed=2, name="sh")),
]


def _all_kinds(api, seed=None):
    return [api.random_normal([3], seed=seed), api.truncated_normal([3], seed=seed),
            api.random_uniform([3], seed=seed),
            api.random_uniform([3], maxval=9, dtype=api.int32, seed=seed)]


def _seeded(graph_seed, op_seed):
    def build(api):
        if graph_seed is not None:
            api.set_random_seed(graph_seed)
        api.placeholder(np.float32, [2], name="x")  # ops before the random ones
        return _all_kinds(api, op_seed) + _all_kinds(api, op_seed)
    return build


SEEDINGS = [
    ("no_seeds", _seeded(None, None)),
    ("op_seed_only", _seeded(None, 42)),
    ("graph_seed_only", _seeded(7, None)),
    ("both_seeds", _seeded(7, 3)),
    ("zero_seeds", _seeded(0, 0)),
    ("graph_seed_zero", _seeded(0, None)),
    ("big_and_negative_seeds", _seeded(2**40, -5)),
]


def _mixed_seeds(api):
    """Ops with and without their own seed under one graph seed: only unseeded ones count."""
    api.set_random_seed(11)
    out = [api.random_normal([2]), api.random_normal([2], seed=3), api.truncated_normal([2])]
    with api.name_scope("inner"):
        out.append(api.random_uniform([2], minval=-1.0, maxval=1.0))
    api.set_random_seed(12)  # a new graph seed keeps counting where it was
    out.append(api.random_uniform([2], seed=None))
    return out


PROGRAMS += SEEDINGS + [("mixed_seeds", _mixed_seeds)]


@pytest.mark.parametrize("name,build", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_graph_def_matches_tensorflow(tf, name, build):
    (g1, _), (g2, _) = build_both(tf, build)
    assert_same_graph_def(g1, g2)


@pytest.mark.parametrize("name,build", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_outputs_have_tensorflows_shapes_and_dtypes(tf, name, build):
    ours, theirs = run_both(tf, build)
    ours, theirs = (v if isinstance(v, list) else [v] for v in (ours, theirs))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        a, b = np.asarray(a), np.asarray(b)
        assert (a.dtype, a.shape) == (b.dtype, b.shape)


@pytest.mark.parametrize("name,build,low,high", [
    ("uniform_min_max", lambda api: api.random_uniform([2000], -1.0, 2.0), -1.0, 2.0),
    ("uniform_int", lambda api: api.random_uniform([2000], 3, 7, dtype=api.int32), 3, 6),
    ("truncated", lambda api: api.truncated_normal([2000], mean=1.0, stddev=0.5), 0.0, 2.0),
], ids=lambda v: v if isinstance(v, str) else "")
def test_values_lie_in_tensorflows_range(tf, name, build, low, high):
    ours, theirs = run_both(tf, build)
    for out in (ours, theirs):
        assert out.min() >= low and out.max() <= high
    if name == "uniform_int":  # every value in [3, 7) drawn
        assert set(np.unique(ours)) == set(np.unique(theirs)) == {3, 4, 5, 6}


def test_shuffle_is_a_permutation_like_tensorflows(tf):
    def build(api):
        return api.random_shuffle(np.arange(20).reshape(10, 2), seed=1)
    ours, theirs = run_both(tf, build)
    for out in (ours, theirs):
        assert sorted(map(tuple, out)) == [(2 * i, 2 * i + 1) for i in range(10)]


def test_integer_uniform_without_maxval_fails_like_tensorflow(tf):
    from parity import tf1_mode

    import flowsaver
    with flowsaver.Graph().as_default(), pytest.raises(ValueError, match="maxval"):
        flowsaver.random_uniform([2], dtype=flowsaver.int32)
    with tf1_mode(tf) as v1, v1.Graph().as_default(), pytest.raises(ValueError, match="maxval"):
        v1.random_uniform([2], dtype=tf.int32)
