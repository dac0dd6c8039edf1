"""Shuffled input orders against real TensorFlow, element for element.

``Dataset.shuffle`` (buffer sizes from 1 to larger than the data, graph and op seeds,
``reshuffle_each_iteration`` both ways under ``repeat``, re-initialized iterators, new
sessions, ``list_files``), ``RandomShuffleQueue`` driven step by step (enqueue, dequeue,
dequeue_many, closing, the partial dequeue a close interrupts), and ``tf.train.shuffle_batch``
and shuffled input producers run by queue runners in a way whose queue contents do not
depend on thread timing: every one must give TensorFlow's exact order.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import flowsaver
from parity import tf1_mode


def _drain(api, sess, fetch, limit=1000):
    out = []
    for _ in range(limit):
        try:
            out.append(sess.run(fetch))
        except api.errors.OutOfRangeError:
            return out
    raise AssertionError("the input did not end")


def _datasets(api, build, inits=2, sessions=2):
    """Every element of ``build(api)`` through an initializable iterator, initialized
    ``inits`` times in each of ``sessions`` sessions."""
    graph = api.Graph()
    with graph.as_default():
        iterator = api.data.make_initializable_iterator(build(api))
        nxt = iterator.get_next()
    runs = []
    for _ in range(sessions):
        with api.Session(graph=graph) as sess:
            for _ in range(inits):
                sess.run(iterator.initializer)
                runs.append([np.asarray(v).tolist() for v in _drain(api, sess, nxt)])
    return runs


def _both(tf, run, build, **kw):
    ours = run(flowsaver, build, **kw)
    with tf1_mode(tf) as v1:
        theirs = run(v1, build, **kw)
    return ours, theirs


def seeded(graph_seed, build):
    def program(api):
        if graph_seed is not None:
            api.set_random_seed(graph_seed)
        return build(api)
    return program


DATASETS = [
    ("buffer1", None, lambda api: api.data.Dataset.range(12).shuffle(1, seed=3)),
    ("buffer3_op_seed", None, lambda api: api.data.Dataset.range(40).shuffle(3, seed=5)),
    ("buffer_larger_than_data", None, lambda api: api.data.Dataset.range(25).shuffle(
        100, seed=11)),
    ("graph_seed_only", 1234, lambda api: api.data.Dataset.range(30).shuffle(8)),
    ("graph_and_op_seed", 7, lambda api: api.data.Dataset.range(30).shuffle(8, seed=-9)),
    ("large_seed", None, lambda api: api.data.Dataset.range(30).shuffle(6, seed=2**40 + 3)),
    ("reshuffle_repeat", None, lambda api: api.data.Dataset.range(20).shuffle(
        7, seed=2).repeat(3)),
    ("fixed_repeat", None, lambda api: api.data.Dataset.range(20).shuffle(
        7, seed=2, reshuffle_each_iteration=False).repeat(3)),
    ("repeat_then_shuffle", 5, lambda api: api.data.Dataset.range(9).repeat(3).shuffle(10)),
    ("two_shuffles_batch", 3, lambda api: api.data.Dataset.from_tensor_slices(
        (np.arange(16), np.arange(16) * 10.0)).shuffle(5).map(lambda a, b: (a * 2, b))
        .shuffle(4).batch(3)),
    ("shuffle_take", None, lambda api: api.data.Dataset.range(100).shuffle(
        20, seed=4).take(15)),
]


@pytest.mark.parametrize("name,graph_seed,build", DATASETS, ids=[d[0] for d in DATASETS])
def test_dataset_shuffle_order_matches_tensorflow(tf, name, graph_seed, build):
    ours, theirs = _both(tf, _datasets, seeded(graph_seed, build))
    assert ours == theirs
    if name != "buffer1":  # a buffer of one keeps the order
        assert ours[0] != sorted(ours[0])


def test_list_files_order_matches_tensorflow(tf, tmp_path):
    for i in range(12):
        (tmp_path / f"part-{i:02d}.txt").write_text(str(i))
    pattern = str(tmp_path / "*.txt")
    ours, theirs = _both(tf, _datasets, seeded(21, lambda api: api.data.Dataset.list_files(
        pattern)), inits=1, sessions=1)
    assert ours == theirs


def test_unseeded_shuffles_differ_between_runs():
    """Both seeds 0 (no graph or op seed): random seeds, as in TensorFlow."""
    runs = _datasets(flowsaver, lambda api: api.data.Dataset.range(50).shuffle(50), inits=3,
                     sessions=1)
    assert sorted(runs[0]) == list(range(50))
    assert len({tuple(r) for r in runs}) == 3


# ---- RandomShuffleQueue, step by step ------------------------------------------------------
def _queue_steps(api, seeds):
    """Enqueues and dequeues run one at a time from this thread: no timing involved."""
    graph = api.Graph()
    with graph.as_default():
        if seeds[0] is not None:
            api.set_random_seed(seeds[0])
        q = api.RandomShuffleQueue(30, 4, [api.int64, api.float32], shapes=[[], [2]],
                                   seed=seeds[1])
        values = api.placeholder(api.int64, [None])
        enqueue = q.enqueue_many([values, api.stack([api.cast(values, api.float32)] * 2, 1)])
        one, many, up_to = q.dequeue(), q.dequeue_many(5), q.dequeue_up_to(7)
        close, size = q.close(), q.size()
    out = []
    with api.Session(graph=graph) as sess:
        sess.run(enqueue, {values: np.arange(20)})
        out += [sess.run(one), sess.run(many), sess.run(one)]
        sess.run(enqueue, {values: np.arange(100, 110)})
        out += [sess.run(many), sess.run(many), sess.run(size)]
        sess.run(close)
        out += [sess.run(up_to), sess.run(many)]
        with pytest.raises(api.errors.OutOfRangeError):
            sess.run(many)  # 1 left: given back
        out += [sess.run(up_to)]
    return [np.asarray(v).tolist() if not isinstance(v, list) else
            [np.asarray(c).tolist() for c in v] for v in out]


@pytest.mark.parametrize("seeds", [(None, 17), (5, None), (3, 2**33)],
                         ids=["op_seed", "graph_seed", "both"])
def test_shuffle_queue_picks_match_tensorflow(tf, seeds):
    ours, theirs = _both(tf, lambda api, build: _queue_steps(api, build), seeds)
    assert ours == theirs


def _interrupted_dequeue(api, build):
    """A dequeue_many(6) and a dequeue_up_to(6) each take the 3 elements above the
    minimum, wait, and are interrupted by close(): TensorFlow gives the taken elements back
    (appended, last taken first); up_to then takes everything left, the other one fails."""
    results = []
    for up_to in (False, True):
        graph = api.Graph()
        with graph.as_default():
            q = api.RandomShuffleQueue(20, 2, [api.int32], shapes=[[]], seed=42)
            enqueue = q.enqueue_many([np.arange(5, dtype=np.int32)])
            take = q.dequeue_up_to(6) if up_to else q.dequeue_many(6)
            close, rest = q.close(), q.dequeue_up_to(20)
        with api.Session(graph=graph) as sess:
            sess.run(enqueue)
            box = []

            def dequeue():
                try:
                    box.append(sess.run(take).tolist())
                except api.errors.OutOfRangeError:
                    box.append("OutOfRange")
            worker = threading.Thread(target=dequeue)
            worker.start()
            time.sleep(0.3)  # the dequeue has taken 3 elements and waits for more
            sess.run(close)
            worker.join(10)
            results.append(box)
            results.append(sess.run(rest).tolist() if not up_to else None)
    return results


def test_interrupted_dequeue_matches_tensorflow(tf):
    ours, theirs = _both(tf, _interrupted_dequeue, None)
    assert ours == theirs
    assert ours[0] == ["OutOfRange"] and len(ours[2][0]) == 5


# ---- queue runners, in ways whose queue contents do not depend on timing --------------------
def _runners(api, build):
    graph = api.Graph()
    with graph.as_default():
        fetch = build(api)
        init = [api.global_variables_initializer(), api.local_variables_initializer()]
    with api.Session(graph=graph) as sess:
        sess.run(init)
        coord = api.train.Coordinator()
        threads = api.train.start_queue_runners(sess, coord)
        try:
            out = [np.asarray(v).tolist() for v in _drain(api, sess, fetch)]
        finally:
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=10)
    return out


def _shuffle_batch(api):
    """min_after_dequeue = the number of examples: every dequeue waits for the close, so
    the queue holds all 24 examples, in the producer's order, at the first pick."""
    api.set_random_seed(99)
    x, y = api.train.slice_input_producer([np.arange(24), np.arange(24) * 0.5],
                                          num_epochs=1, shuffle=False)
    return api.train.shuffle_batch([x, y], batch_size=5, capacity=30, min_after_dequeue=24,
                                   allow_smaller_final_batch=True)


def _shuffled_producer(api):
    """A shuffled producer's queue is filled by RandomShuffle of each epoch's indices."""
    x = api.train.slice_input_producer([np.arange(10) * 3], num_epochs=3, seed=8)[0]
    return api.train.batch([x], batch_size=6, allow_smaller_final_batch=True)


@pytest.mark.parametrize("build", [_shuffle_batch, _shuffled_producer],
                         ids=["shuffle_batch", "shuffled_producer"])
def test_queue_runner_orders_match_tensorflow(tf, build):
    ours, theirs = _both(tf, _runners, build)
    assert ours == theirs and len(ours) > 1
