"""Random values against real TensorFlow, bit for bit.

The same TF1 program is built in flowsaver and in TensorFlow (graph mode) and run three
times in each of two new sessions; every fetched array must have TensorFlow's dtype, shape
and bytes. Rows cover every random op and dtype, shapes from scalars to millions of
elements, graph and op seeds, the initializers and dropout built on them, and the
stateless ops (also as TensorFlow's own V1 ops, imported from a GraphDef TensorFlow built).
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from flowsaver.format.graph_protos import GraphDef
from parity import assert_same_graph_def, build_both, tf1_mode

FLOATS = ["float16", "bfloat16", "float32", "float64"]


def assert_identical(ours, theirs, what="value"):
    """Same structure, dtype, shape and bytes (so NaN and -0.0 count too)."""
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), what
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_identical(a, b, f"{what}[{i}]")
        return
    a, b = np.asarray(ours), np.asarray(theirs)
    assert (a.dtype.name, a.shape) == (b.dtype.name, b.shape), \
        f"{what}: {a.dtype.name}{a.shape} vs TensorFlow's {b.dtype.name}{b.shape}"
    if a.tobytes() != b.tobytes():
        width = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
        bad = np.flatnonzero(a.reshape(-1).view(width) != b.reshape(-1).view(width))
        pytest.fail(f"{what}: {len(bad)} of {a.size} elements differ, first at {bad[:5]}: "
                    f"{a.reshape(-1)[bad[:5]]} vs TensorFlow's {b.reshape(-1)[bad[:5]]}")


def draws(tf, build, runs=3, sessions=2, init=False):
    """``build``'s fetches, ``runs`` times in each of ``sessions`` new sessions, per system."""
    (ours, our_fetches), (theirs, their_fetches) = build_both(tf, build)
    our, their = [], []
    for _ in range(sessions):
        with flowsaver.Session(graph=ours) as sess:
            if init:
                sess.run(ours.get_collection("variables_initializer")[0])
            our.append([sess.run(our_fetches) for _ in range(runs)])
    with tf1_mode(tf) as v1:
        for _ in range(sessions):
            with v1.Session(graph=theirs) as sess:
                if init:
                    sess.run(theirs.get_collection("variables_initializer")[0])
                their.append([sess.run(their_fetches) for _ in range(runs)])
    return our, their


def check(tf, build, **kw):
    ours, theirs = draws(tf, build, **kw)
    assert_identical(ours, theirs, "session/run")


def seeded(graph_seed, build):
    def program(api):
        if graph_seed is not None:
            api.set_random_seed(graph_seed)
        return build(api)
    return program


# ---- stateful ops, every float dtype -----------------------------------------------------------
def _all_floats(dtype, seed):
    def build(api):
        dt = getattr(api, dtype)
        return [api.random_normal([1001], dtype=dt, seed=seed),
                api.truncated_normal([1001], dtype=dt, seed=seed),
                api.random_uniform([1001], dtype=dt, seed=seed),
                api.random_normal([7], mean=1.5, stddev=0.25, dtype=dt, seed=seed),
                api.truncated_normal([7], mean=-2.0, stddev=3.0, dtype=dt, seed=seed),
                api.random_uniform([7], minval=-1.5, maxval=4.0, dtype=dt, seed=seed)]
    return build


SEEDS = [(None, 7), (5, None), (5, 7), (0, 0), (2**40, -5)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("graph_seed,op_seed", SEEDS, ids=[f"g{g}-op{o}" for g, o in SEEDS])
def test_float_ops_match_tensorflow(tf, dtype, graph_seed, op_seed):
    check(tf, seeded(graph_seed, _all_floats(dtype, op_seed)))


def _shapes(api):
    out = []
    for shape in ([], [0], [1], [2], [3], [5], [5, 7], [2, 3, 4], [4, 0, 3], [4099]):
        out += [api.random_normal(shape), api.truncated_normal(shape),
                api.random_uniform(shape), api.random_uniform(shape, maxval=9, dtype=api.int64)]
    return out


def test_every_shape_matches_tensorflow(tf):
    check(tf, seeded(11, _shapes))


@pytest.mark.parametrize("name,build", [
    ("normal_f32_2M", lambda api: api.random_normal([1 << 21], seed=1)),
    ("truncated_f32_1M", lambda api: api.truncated_normal([1 << 20], seed=2)),
    ("uniform_f64_3M", lambda api: api.random_uniform([3_000_001], dtype=api.float64, seed=3)),
    ("uniform_int32_2M", lambda api: api.random_uniform([1 << 21], -50, 77, api.int32, seed=4)),
    ("normal_f64_300k", lambda api: api.random_normal([300_001], dtype=api.float64, seed=5)),
    ("truncated_half_500k", lambda api: api.truncated_normal([500_003], dtype=api.float16,
                                                              seed=6)),
])
def test_millions_of_values_match_tensorflow(tf, name, build):
    check(tf, seeded(9, build), sessions=1)


INT_RANGES = [("int32", 0, 10), ("int32", -7, 1000003), ("int32", -2**31, 2**31 - 1),
              ("int64", 0, 10), ("int64", -7, 1000003), ("int64", -2**63, 2**63 - 1),
              ("int64", -2**40, 2**41 + 3)]


@pytest.mark.parametrize("dtype,low,high", INT_RANGES, ids=[f"{d}[{lo},{hi})"
                                                            for d, lo, hi in INT_RANGES])
def test_uniform_int_matches_tensorflow(tf, dtype, low, high):
    check(tf, seeded(3, lambda api: [
        api.random_uniform([1001], low, high, getattr(api, dtype)),
        api.random_uniform([3, 5], low, high, getattr(api, dtype), seed=12)]))


def _shuffles(api):
    return [api.random_shuffle(np.arange(10.0, dtype=np.float32)),
            api.random_shuffle(np.arange(30).reshape(10, 3)),
            api.random_shuffle(np.arange(5).reshape(1, 5)),
            api.random_shuffle(np.zeros((4, 0))),
            api.random_shuffle(7),
            api.random_shuffle(np.arange(100_003), seed=3)]


def test_shuffle_matches_tensorflow(tf):
    check(tf, seeded(8, _shuffles))


def _gammas(api):
    return [api.random_gamma([1000], [0.3, 1.0, 2.5, 40.0], seed=2),
            api.random_gamma([7, 3], np.array([[0.5], [1.5]]), beta=[1.0, 2.0, 4.0],
                             dtype=api.float64),
            api.random_gamma([33], 0.8, dtype=api.float16),
            api.random_gamma([0], [1.0, 2.0]),
            api.random.gamma([2], [])]


def test_gamma_matches_tensorflow(tf):
    check(tf, seeded(6, _gammas))


def _poissons(api):
    rates = [0.0, 0.5, 3.0, 9.99, 10.0, 25.5, 1000.0]
    return [api.random_poisson(rates, [500], seed=3),
            api.random_poisson(np.array(rates, np.float64), [3, 7], dtype=api.int64),
            api.random_poisson(np.array([[2.0], [40.0]], np.float16), [9], dtype=api.float16),
            api.random.poisson([1.0, 70.0], [4], dtype=api.int32),
            api.random_poisson([1.0, 2.0], [0])]


def test_poisson_matches_tensorflow(tf):
    check(tf, seeded(8, _poissons))


# ---- multinomial -------------------------------------------------------------------------------
_LOGITS = np.random.default_rng(0).normal(size=(6, 9))
_LOGITS[2, 3] = -np.inf
_LOGITS[4, :] = -np.inf


@pytest.mark.parametrize("dtype", FLOATS)
def test_multinomial_matches_tensorflow(tf, dtype):
    def build(api):
        logits = api.constant(_LOGITS, dtype=getattr(api, dtype))
        return [api.multinomial(logits, 7), api.random.categorical(logits, 1, dtype=api.int32),
                api.multinomial(logits, 0)]
    check(tf, seeded(4, build))


def test_multinomial_split_across_threads_matches_tensorflow(tf):
    """Rows costly enough that TensorFlow's kernel splits them across its threads."""
    logits = np.random.default_rng(1).normal(size=(2000, 50)).astype(np.float32)
    check(tf, lambda api: api.multinomial(logits, 20, seed=5), runs=2, sessions=1)


# ---- stateless ops -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_stateless_floats_match_tensorflow(tf, dtype):
    def build(api):
        dt = getattr(api, dtype)
        return [api.random.stateless_normal([1001], seed=[1, 2], dtype=dt),
                api.random.stateless_truncated_normal([1001], seed=[-3, 2**40], dtype=dt,
                                                      mean=1.0, stddev=2.0),
                api.random.stateless_uniform([3, 7], seed=np.array([5, 6], np.int32),
                                             dtype=dt, minval=-1.0, maxval=3.0),
                api.random.stateless_uniform([], seed=[0, 0], dtype=dt)]
    check(tf, build, runs=2, sessions=1)


def test_stateless_ints_and_categorical_match_tensorflow(tf):
    logits = np.log([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])

    def build(api):
        return [api.random.stateless_uniform([999], [7, 8], 3, 17, api.int32),
                api.random.stateless_uniform([999], [7, 8], -2**62, 2**62, api.int64),
                api.random.stateless_uniform([5], [7, 8], None, None, api.int32),
                api.random.stateless_uniform([5], [7, 8], None, None, api.uint64),
                api.random.stateless_categorical(logits, 9, seed=[3, 4]),
                api.random.stateless_multinomial(logits, 4, seed=[3, 5], output_dtype=api.int32)]
    check(tf, build, runs=2, sessions=1)


STATELESS_V1 = [
    ("StatelessRandomNormal", {"dtype": "float32"}), ("StatelessRandomNormal", {"dtype": "float64"}),
    ("StatelessRandomUniform", {"dtype": "float16"}), ("StatelessTruncatedNormal",
                                                       {"dtype": "bfloat16"}),
    ("StatelessRandomUniformFullInt", {"dtype": "int64"}),
]


@pytest.mark.parametrize("op_type,attrs", STATELESS_V1, ids=[f"{t}-{a['dtype']}"
                                                            for t, a in STATELESS_V1])
def test_stateless_v1_ops_from_a_tensorflow_graph(tf, op_type, attrs):
    """TF1's stateless ops, in a GraphDef TensorFlow wrote, imported and run in flowsaver."""
    g = tf.Graph()
    with g.as_default():
        seed = tf.constant([17, -4], tf.int64)
        out = getattr(tf.raw_ops, op_type)(shape=[3, 333], seed=seed,
                                           dtype=getattr(tf, attrs["dtype"]))
        ints = tf.raw_ops.StatelessRandomUniformInt(shape=[50], seed=seed, minval=-3,
                                                    maxval=40)
        key, counter, alg = tf.raw_ops.StatelessRandomGetKeyCounterAlg(seed=seed)
        with tf.compat.v1.Session() as sess:
            theirs = sess.run([out, ints, key, counter, alg])
    with flowsaver.Graph().as_default():
        flowsaver.import_graph_def(GraphDef.FromString(g.as_graph_def().SerializeToString()),
                                   name="")
        with flowsaver.Session() as sess:
            got = sess.run([out.name, ints.name, key.name, counter.name, alg.name])
    assert_identical(got, theirs)


# ---- what is built on them ---------------------------------------------------------------------
INITIALIZERS = [
    ("glorot_uniform", lambda api: api.glorot_uniform_initializer()),
    ("glorot_normal", lambda api: api.glorot_normal_initializer(seed=3)),
    ("he_normal", lambda api: api.initializers.he_normal()),
    ("he_uniform", lambda api: api.initializers.he_uniform(seed=2)),
    ("lecun_normal", lambda api: api.initializers.lecun_normal()),
    ("lecun_uniform", lambda api: api.initializers.lecun_uniform()),
    ("variance_scaling_fan_out", lambda api: api.variance_scaling_initializer(
        0.5, "fan_out", "normal")),
    ("variance_scaling_untruncated", lambda api: api.variance_scaling_initializer(
        2.0, "fan_avg", "untruncated_normal")),
    ("truncated_normal", lambda api: api.truncated_normal_initializer(0.1, 0.02)),
    ("random_uniform", lambda api: api.random_uniform_initializer(-0.05, 0.05)),
    ("random_normal", lambda api: api.random_normal_initializer(stddev=0.3, seed=9)),
]


@pytest.mark.parametrize("name,make", INITIALIZERS, ids=[n for n, _ in INITIALIZERS])
def test_initializers_give_tensorflows_values(tf, name, make):
    def build(api):
        api.set_random_seed(1234)
        variables = [api.get_variable("kernel", [5, 5, 3, 32], initializer=make(api)),
                     api.get_variable("dense", [784, 64], initializer=make(api)),
                     api.get_variable("bias", [10], dtype=api.float64, initializer=make(api))]
        api.add_to_collection("variables_initializer", api.global_variables_initializer())
        return variables
    check(tf, build, runs=1, init=True)


def _dropout(api):
    api.set_random_seed(77)
    x = api.constant(np.linspace(-1.0, 1.0, 4000, dtype=np.float32).reshape(40, 100))
    return [api.nn.dropout(x, keep_prob=0.7),
            api.nn.dropout(x, rate=0.25, seed=3),
            api.nn.dropout(x, rate=0.5, noise_shape=[40, 1]),
            api.nn.dropout(api.cast(x, api.float64), rate=0.1),
            api.layers.dropout(x, rate=0.3, training=True),
            api.layers.dropout(x, rate=0.6, noise_shape=[1, 100], seed=5, training=True)]


def test_dropout_masks_match_tensorflow(tf):
    check(tf, _dropout)


# ---- graphs ------------------------------------------------------------------------------------
API_PROGRAMS = [
    ("random_poisson", lambda api: api.random_poisson([1.0, 20.0], [3], seed=2, name="p")),
    ("random_gamma", lambda api: api.random_gamma([3], [[0.5, 2.0]], beta=[3.0], seed=4,
                                                  name="g")),
    ("multinomial", lambda api: api.multinomial([[0.5, 1.5]], 5, seed=2, name="m")),
    ("categorical", lambda api: api.random.categorical(np.zeros((2, 3), np.float32), 4,
                                                       dtype=api.int32)),
    ("stateless_normal", lambda api: api.random.stateless_normal([2, 3], seed=[1, 2])),
    ("stateless_uniform", lambda api: api.random.stateless_uniform([4], seed=[1, 2],
                                                                   maxval=3.0)),
    ("stateless_uniform_int", lambda api: api.random.stateless_uniform(
        [4], seed=[1, 2], minval=1, maxval=9, dtype=api.int64)),
    ("stateless_uniform_full", lambda api: api.random.stateless_uniform(
        [4], seed=[1, 2], minval=None, maxval=None, dtype=api.uint32)),
    ("stateless_truncated", lambda api: api.random.stateless_truncated_normal(
        [4], seed=[3, 2], stddev=0.1, name="tn")),
    ("stateless_categorical", lambda api: api.random.stateless_categorical(
        [[0.0, 1.0]], 3, seed=[1, 2])),
]


@pytest.mark.parametrize("name,build", API_PROGRAMS, ids=[n for n, _ in API_PROGRAMS])
def test_graph_def_matches_tensorflow(tf, name, build):
    (g1, _), (g2, _) = build_both(tf, build)
    assert_same_graph_def(g1, g2)
