"""Queues and queue runners against real TensorFlow: the same TF1 input programs (input
producers, batch, closed queues) give TensorFlow's batches and errors."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, tf1_mode


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _run_pipeline(api, build, limit=50):
    """Build into a fresh graph, start queue runners, fetch until OutOfRangeError."""
    graph = api.Graph()
    with graph.as_default():
        fetch = build(api)
        init = [api.global_variables_initializer(), api.local_variables_initializer()]
    out = []
    with graph.as_default(), api.Session(graph=graph) as sess:
        sess.run(init)
        coord = api.train.Coordinator()
        threads = api.train.start_queue_runners(sess, coord)
        try:
            for _ in range(limit):
                out.append(sess.run(fetch))
        except api.errors.OutOfRangeError:
            pass
        finally:
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=10)
    return out


def _both(tf, build):
    ours = _run_pipeline(flowsaver, build)
    with tf1_mode(tf) as v1:
        theirs = _run_pipeline(v1, build)
    return ours, theirs


PROGRAMS = {
    "slice_batch_smaller_final": lambda api: api.train.batch(
        api.train.slice_input_producer([np.arange(10), np.arange(10.0) * 10], num_epochs=2,
                                       shuffle=False),
        batch_size=4, allow_smaller_final_batch=True),
    "string_producer": lambda api: api.train.batch(
        [api.train.string_input_producer(["a", "b", "c"], num_epochs=3,
                                         shuffle=False).dequeue()], batch_size=2),
    "dict_enqueue_many": lambda api: api.train.batch(
        {"x": api.constant(np.arange(12).reshape(6, 2)), "y": api.constant(np.arange(6.0))},
        batch_size=4, enqueue_many=True, capacity=6, allow_smaller_final_batch=True),
    "range_producer": lambda api: api.train.range_input_producer(
        5, num_epochs=1, shuffle=False).dequeue_many(2),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_queue_pipelines_match_tensorflow(tf, name):
    ours, theirs = _both(tf, PROGRAMS[name])
    assert len(ours) == len(theirs) > 0
    assert_close(ours, theirs)


def test_shuffle_batch_is_a_permutation(tf):
    def build(api):
        x = api.train.slice_input_producer([np.arange(20)], num_epochs=1, shuffle=False)[0]
        return api.train.shuffle_batch([x], batch_size=5, capacity=20, min_after_dequeue=5,
                                       seed=1, allow_smaller_final_batch=True)
    ours, theirs = _both(tf, build)
    flat = sorted(np.concatenate(ours).tolist())
    assert flat == sorted(np.concatenate(theirs).tolist()) == list(range(20))


def test_closed_queue_errors_match_tensorflow(tf):
    outcomes = []
    for which in ("ours", "theirs"):
        with (tf1_mode(tf) if which == "theirs" else _nothing()) as v1:
            api = v1 or flowsaver
            with api.Graph().as_default():
                q = api.FIFOQueue(3, [api.int32, api.string], shapes=[[], []])
                enq = q.enqueue_many([[1, 2, 3], ["a", "b", "c"]])
                got = []
                with api.Session() as sess:
                    sess.run(enq)
                    got.append(sess.run(q.size()))
                    got.append(sess.run(q.dequeue()))
                    sess.run(q.close())
                    with pytest.raises(api.errors.CancelledError):
                        sess.run(q.enqueue([4, "d"]))
                    with pytest.raises(api.errors.OutOfRangeError):
                        sess.run(q.dequeue_many(3))
                    got.append(sess.run(q.dequeue_up_to(5)))
                    with pytest.raises(api.errors.OutOfRangeError):
                        sess.run(q.dequeue())
            outcomes.append(got)
    assert_close(outcomes[0], outcomes[1])


def test_queue_op_names_match_tensorflow(tf):
    def build(api):
        q = api.FIFOQueue(4, api.float32, name="q")
        q.enqueue(1.0)
        q.enqueue_many([[2.0, 3.0]])
        q.dequeue()
        q.dequeue_many(2)
        q.close()
        q.size()
        return q
    with flowsaver.Graph().as_default() as ours:
        build(flowsaver)
    with tf1_mode(tf) as v1, v1.Graph().as_default() as theirs:
        build(v1)
    assert [(n.name, n.op) for n in ours.as_graph_def().node] == \
        [(n.name, n.op) for n in theirs.as_graph_def().node]


def test_readers_match_tensorflow(tf, tmp_path):
    records = str(tmp_path / "r.tfrecord")
    with tf.io.TFRecordWriter(records) as w:
        for r in (b"one", b"two", b"three"):
            w.write(r)
    text = tmp_path / "t.csv"
    text.write_bytes(b"header\n1,a\n2,b\r\n3,c")
    raw = tmp_path / "raw.bin"
    raw.write_bytes(b"HH" + bytes(range(10)) + b"F")

    def build(api):
        names = api.train.string_input_producer([records, records], num_epochs=1,
                                                shuffle=False)
        tf_key, tf_value = api.TFRecordReader().read(names)
        lines = api.train.string_input_producer([str(text)], num_epochs=1, shuffle=False)
        line_key, line = api.TextLineReader(skip_header_lines=1).read(lines)
        return [tf_key, tf_value, line_key, line]

    def build_fixed(api):
        names = api.train.string_input_producer([str(raw)], num_epochs=1, shuffle=False)
        key, value = api.FixedLengthRecordReader(4, header_bytes=2, footer_bytes=1).read(names)
        whole = api.train.string_input_producer([str(raw)], num_epochs=1, shuffle=False)
        return [key, value, api.WholeFileReader().read(whole)[1]]
    for program in (build, build_fixed):
        ours, theirs = _both(tf, program)
        assert len(ours) == len(theirs) > 0
        assert_close(ours, theirs)


def _queue_model(api):
    x = api.train.slice_input_producer([np.arange(6.0, dtype=np.float32)], num_epochs=1,
                                       shuffle=False)[0]
    api.identity(api.train.batch([x], 2) * 2, name="out")


def _drain_imported(api, path):
    graph = api.Graph()
    with graph.as_default():
        api.train.import_meta_graph(path)
        out = graph.get_tensor_by_name("out:0")
        init = api.local_variables_initializer()
    return _run_pipeline_graph(api, graph, out, init)


def _run_pipeline_graph(api, graph, fetch, init):
    values = []
    with graph.as_default(), api.Session(graph=graph) as sess:
        sess.run(init)
        coord = api.train.Coordinator()
        threads = api.train.start_queue_runners(sess, coord)
        try:
            while True:
                values.append(sess.run(fetch))
        except api.errors.OutOfRangeError:
            pass
        coord.request_stop()
        coord.join(threads, stop_grace_period_secs=10)
    return values


def test_queue_runners_survive_metagraphs_both_ways(tf, tmp_path):
    theirs_path, ours_path = str(tmp_path / "theirs.meta"), str(tmp_path / "ours.meta")
    with tf1_mode(tf) as v1, v1.Graph().as_default():
        _queue_model(v1)
        v1.train.export_meta_graph(theirs_path)
    with flowsaver.Graph().as_default():
        _queue_model(flowsaver)
        flowsaver.train.export_meta_graph(ours_path)
    expected = [np.array([0.0, 2.0], np.float32), np.array([4.0, 6.0], np.float32),
                np.array([8.0, 10.0], np.float32)]
    assert_close(_drain_imported(flowsaver, theirs_path), expected)
    with tf1_mode(tf) as v1:
        assert_close(_drain_imported(v1, ours_path), expected)
