"""``tf.metrics`` against real TensorFlow: the same GraphDef, the same local variables,
and the same values and update results over several batches."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, tf1_mode

RNG = np.random.default_rng(43)
BATCHES = 3


def labels(dtype=np.int64):
    return [RNG.integers(0, 2, 6).astype(dtype) for _ in range(BATCHES)]


def floats():
    return [RNG.uniform(0, 1, 6).astype(np.float32) for _ in range(BATCHES)]


CASES = [
    ("accuracy", lambda api, l, p: api.metrics.accuracy(l, p), labels(), labels()),
    ("accuracy_named_int32", lambda api, l, p: api.metrics.accuracy(
        l, p, name="acc", metrics_collections=["m"], updates_collections=["u"]),
     labels(np.int32), labels(np.int64)),
    ("accuracy_weighted", lambda api, l, p: api.metrics.accuracy(
        l, p, weights=api.constant([1.0, 0.0, 2.0, 1.0, 1.0, 0.5])), labels(), labels()),
    ("mean", lambda api, l, p: api.metrics.mean(p), labels(), floats()),
    ("mean_weighted", lambda api, l, p: api.metrics.mean(p, weights=2.0), labels(), floats()),
    ("mean_squared_error", lambda api, l, p: api.metrics.mean_squared_error(l, p), floats(),
     floats()),
    ("precision", lambda api, l, p: api.metrics.precision(l, p), labels(), labels()),
    ("recall_bool", lambda api, l, p: api.metrics.recall(
        api.cast(l, api.bool), api.cast(p, api.bool), name="rec"), labels(), labels()),
    ("auc", lambda api, l, p: api.metrics.auc(l, p), labels(), floats()),
    ("auc_pr_careful", lambda api, l, p: api.metrics.auc(
        l, p, num_thresholds=50, curve="PR", summation_method="careful_interpolation"),
     labels(), floats()),
    ("auc_pr_trapezoidal", lambda api, l, p: api.metrics.auc(l, p, curve="PR", name="pr"),
     labels(), floats()),
    ("auc_minoring_weighted", lambda api, l, p: api.metrics.auc(
        l, p, weights=api.constant([1.0, 0.0, 2.0, 1.0, 1.0, 0.5]), num_thresholds=20,
        summation_method="minoring"), labels(), floats()),
    ("auc_majoring_thresholds_bool", lambda api, l, p: api.metrics.auc(
        api.cast(l, api.bool), p, thresholds=[0.7, 0.2, 0.5], summation_method="majoring",
        metrics_collections=["m"], updates_collections=["u"]), labels(), floats()),
    ("counts", lambda api, l, p: [api.metrics.true_positives(l, p),
                                  api.metrics.false_negatives(l, p, name="fn")],
     labels(), labels()),
]


@pytest.mark.parametrize("name,fn,ls,ps", CASES, ids=[c[0] for c in CASES])
def test_metric_matches_tensorflow(tf, name, fn, ls, ps):
    def build(api):
        lab = api.placeholder(ls[0].dtype, [6], name="l")
        pred = api.placeholder(ps[0].dtype, [6], name="p")
        out = fn(api, lab, pred)
        api.group(api.local_variables_initializer(), name="init_local")
        graph = api.get_default_graph()
        names = [[v.name for v in graph.get_collection(k)]
                 for k in ("local_variables", "metric_variables", "variables")]
        return out, names, [len(graph.get_collection(k)) for k in ("m", "u")]
    (g1, (f1, n1, c1)), (g2, (f2, n2, c2)) = build_both(tf, build)
    assert_same_graph_def(g1, g2)
    assert (n1, c1) == (n2, c2)
    results = []
    for graph, fetches in ((g1, f1), (g2, f2)):
        with tf1_mode(tf) as v1:
            session = flowsaver.Session(graph=graph) if graph is g1 else v1.Session(graph=graph)
            with session as sess:
                sess.run(graph.get_operation_by_name("init_local"))
                flat = fetches if isinstance(fetches, list) else [fetches]
                values = [v for v, _ in flat]
                updates = [u for _, u in flat]
                steps = []
                for lab, pred in zip(ls, ps):
                    feed = {graph.get_tensor_by_name("l:0"): lab,
                            graph.get_tensor_by_name("p:0"): pred}
                    steps.append(sess.run(updates, feed))
                    steps.append(sess.run(values))
                results.append(steps)
    assert_close(results[0], results[1])


def test_local_variables_initializer_resets_metrics(tf):
    def build(api):
        value, update = api.metrics.mean(api.constant([1.0, 3.0]))
        return value, update, api.local_variables_initializer()
    (g1, (v, u, init)), _ = build_both(tf, build)
    with flowsaver.Session(graph=g1) as sess:
        sess.run(init)
        assert sess.run(u) == 2.0
        sess.run(u)
        assert sess.run(v) == 2.0
        sess.run(init)
        assert sess.run(v) == 0.0


def test_auc_with_unknown_batch_and_its_range_check_match_tensorflow(tf):
    def build(api):
        lab = api.placeholder(api.int64, [None], name="l")
        pred = api.placeholder(api.float64, [None], name="p")
        out = api.metrics.auc(lab, pred, num_thresholds=7)
        api.group(api.local_variables_initializer(), name="init_local")
        return out
    (g1, f1), (g2, f2) = build_both(tf, build)
    assert_same_graph_def(g1, g2)
    outcomes = []
    for graph, (value, update) in ((g1, f1), (g2, f2)):
        with tf1_mode(tf) as v1:
            api = flowsaver if graph is g1 else v1
            with api.Session(graph=graph) as sess:
                sess.run(graph.get_operation_by_name("init_local"))
                got = [sess.run(update, {"l:0": [1, 0, 1], "p:0": [0.9, 0.4, 0.35]}),
                       sess.run(update, {"l:0": [0, 1], "p:0": [0.1, 0.6]}), sess.run(value)]
                with pytest.raises(api.errors.InvalidArgumentError):
                    sess.run(update, {"l:0": [1], "p:0": [1.5]})
                outcomes.append(got)
    assert_close(outcomes[0], outcomes[1])


@pytest.mark.parametrize("kwargs", [{"curve": "XY"}, {"summation_method": "exact"}],
                         ids=["curve", "summation"])
def test_auc_argument_errors_match_tensorflow(tf, kwargs):
    for api in (flowsaver, None):
        with tf1_mode(tf) as v1:
            api = api or v1
            with api.Graph().as_default(), pytest.raises(ValueError):
                api.metrics.auc(api.constant([1, 0]), api.constant([0.5, 0.2]), **kwargs)
