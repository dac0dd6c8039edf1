"""tf.data in graph mode against real TensorFlow: the same pipelines give the same
elements in the same order, the main GraphDefs have TensorFlow's nodes, and iterators
(one-shot, initializable, reinitializable, feedable) behave as TensorFlow's."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from flowsaver.format.graph_protos import GraphDef
from parity import assert_close, node_summary, tf1_mode


def _drain(api, graph, next_element, init=None, feeds=None, limit=200):
    out = []
    with graph.as_default(), api.Session(graph=graph) as sess:
        if init is not None:
            sess.run(init, feeds or {})
        for _ in range(limit):
            try:
                out.append(sess.run(next_element))
            except api.errors.OutOfRangeError:
                return out
    raise AssertionError("the dataset did not end")


def _both(tf, build):
    """Elements of ``build(api) -> dataset`` through a one-shot iterator, in both systems."""
    results = []
    for api in (flowsaver, None):
        if api is None:
            with tf1_mode(tf) as v1:
                g = v1.Graph()
                with g.as_default():
                    nxt = v1.data.make_one_shot_iterator(build(v1)).get_next()
                results.append(_drain(v1, g, nxt))
        else:
            g = api.Graph()
            with g.as_default():
                nxt = api.data.make_one_shot_iterator(build(api)).get_next()
            results.append(_drain(api, g, nxt))
    return results


PIPELINES = {
    "slices_map_filter_batch_repeat": lambda api: api.data.Dataset.from_tensor_slices(
        np.arange(10)).map(lambda x: x * 2).filter(lambda x: x > 2).batch(3).repeat(2),
    "dict_slices": lambda api: api.data.Dataset.from_tensor_slices(
        {"a": np.arange(4.0, dtype=np.float32), "b": np.array([b"w", b"x", b"y", b"z"])}),
    "tuple_map_two_args": lambda api: api.data.Dataset.from_tensor_slices(
        (np.arange(5), np.arange(5) * 10)).map(lambda a, b: (a + b, api.cast(a, api.float32))),
    "from_tensors_repeat_take": lambda api: api.data.Dataset.from_tensors(
        [1, 2, 3]).repeat().take(3),
    "range_forms": lambda api: api.data.Dataset.zip((
        api.data.Dataset.range(5), api.data.Dataset.range(2, 9), api.data.Dataset.range(8, 0, -2))),
    "concatenate_skip": lambda api: api.data.Dataset.range(3).concatenate(
        api.data.Dataset.range(10, 14)).skip(2),
    "flat_map": lambda api: api.data.Dataset.range(4).flat_map(
        lambda x: api.data.Dataset.range(x)),
    "interleave": lambda api: api.data.Dataset.range(1, 6).interleave(
        lambda x: api.data.Dataset.from_tensors(x).repeat(x), cycle_length=2, block_length=2),
    "batch_drop_remainder": lambda api: api.data.Dataset.range(10).batch(4, drop_remainder=True),
    "padded_batch": lambda api: api.data.Dataset.range(1, 6).map(
        lambda x: api.fill([x], x)).padded_batch(2, padded_shapes=[None]),
    "padded_batch_fixed": lambda api: api.data.Dataset.range(1, 4).map(
        lambda x: api.fill([x], x)).padded_batch(2, padded_shapes=[5], padding_values=np.int64(-1)),
    "parallel_map_cache_prefetch": lambda api: api.data.Dataset.range(6).map(
        lambda x: x * x, num_parallel_calls=2).cache().repeat(2).prefetch(1),
    "shuffle_buffer_one": lambda api: api.data.Dataset.range(8).shuffle(1, seed=3),
    "captured_tensor": lambda api: api.data.Dataset.range(4).map(
        lambda x: x + api.constant(100, api.int64)),
    "generator": lambda api: api.data.Dataset.from_generator(
        lambda: iter([[1, 2], [3, 4], [5, 6]]), api.int64, api.TensorShape([2])),
}


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_pipeline_matches_tensorflow(tf, name):
    ours, theirs = _both(tf, PIPELINES[name])
    assert len(ours) == len(theirs)
    assert_close(ours, theirs)


def test_structure_matches_tensorflow(tf):
    for name, build in PIPELINES.items():
        with flowsaver.Graph().as_default():
            ours = build(flowsaver)
        with tf1_mode(tf) as v1, v1.Graph().as_default():
            theirs = build(v1)
            their_types = v1.data.get_output_types(theirs)
            their_shapes = v1.data.get_output_shapes(theirs)
        assert repr(ours.output_types).replace("flowsaver", "tf") == \
            repr(their_types).replace("tensorflow", "tf"), name
        assert _dims(ours.output_shapes) == _dims(their_shapes), name


def _dims(shapes):
    if isinstance(shapes, dict):
        return {k: _dims(v) for k, v in shapes.items()}
    if isinstance(shapes, tuple):
        return tuple(_dims(s) for s in shapes)
    return None if shapes.ndims is None else shapes.as_list()


def _one_shot(name):
    return lambda api: api.data.make_one_shot_iterator(PIPELINES[name](api)).get_next()


GRAPHS = {name: _one_shot(name) for name in (
    "slices_map_filter_batch_repeat", "range_forms", "concatenate_skip",
    "batch_drop_remainder", "shuffle_buffer_one", "padded_batch", "interleave")}
GRAPHS["initializable"] = lambda api: _initializable(api)[0].get_next()
GRAPHS["feedable"] = lambda api: _feedable(api)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_graph_defs_match_except_function_names(tf, name):
    with flowsaver.Graph().as_default() as ours:
        GRAPHS[name](flowsaver)
    with tf1_mode(tf) as v1, v1.Graph().as_default() as theirs:
        GRAPHS[name](v1)
    their_def = GraphDef.FromString(theirs.as_graph_def().SerializeToString())
    our_def = ours.as_graph_def()
    assert [n.name for n in our_def.node] == [n.name for n in their_def.node]
    for a, b in zip(our_def.node, their_def.node):
        a_name, a_op, a_in, a_dev, a_attrs = node_summary(a)
        b_name, b_op, b_in, b_dev, b_attrs = node_summary(b)
        assert (a_op, a_in) == (b_op, b_in), a_name
        funcs = {"f", "predicate", "dataset_factory"}
        assert {k: v for k, v in a_attrs.items() if k not in funcs} == \
            {k: v for k, v in b_attrs.items() if k not in funcs}, a_name
        for key in funcs & set(a_attrs):
            assert a.attr[key].func.attr.keys() == b.attr[key].func.attr.keys(), a_name


def _initializable(api):
    n = api.placeholder(api.int64, [], name="n")
    scale = api.placeholder(api.int64, [], name="scale")
    dataset = api.data.Dataset.range(n).map(lambda x: x * scale).batch(2)
    iterator = api.data.make_initializable_iterator(dataset)
    return iterator, n, scale


def test_initializable_iterator_reinitialized_with_new_feeds(tf):
    results = []
    for api, graph in ((flowsaver, flowsaver.Graph()), (None, None)):
        with tf1_mode(tf) if api is None else _nothing() as v1:
            api = api or v1
            graph = graph or api.Graph()
            with graph.as_default():
                iterator, n, scale = _initializable(api)
                nxt = iterator.get_next()
            with api.Session(graph=graph) as sess:
                run = []
                for feeds in ({n: 5, scale: 1}, {n: 3, scale: 10}):
                    sess.run(iterator.initializer, feeds)
                    while True:
                        try:
                            run.append(sess.run(nxt))
                        except api.errors.OutOfRangeError:
                            break
                results.append(run)
                with pytest.raises(api.errors.OutOfRangeError):
                    sess.run(nxt)
    assert_close(results[0], results[1])


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _feedable(api):
    train = api.data.Dataset.range(100).map(lambda x: x * 2)
    test = api.data.Dataset.range(3).map(lambda x: -x)
    handle = api.placeholder(api.string, [], name="handle")
    iterator = api.data.Iterator.from_string_handle(handle, train.output_types,
                                                    train.output_shapes)
    nxt = iterator.get_next()
    train_it = api.data.make_one_shot_iterator(train)
    test_it = api.data.make_initializable_iterator(test)
    reinit = api.data.Iterator.from_structure(api.int64, api.TensorShape([]))
    reinit_next = reinit.get_next()
    init_a = reinit.make_initializer(train.take(2))
    init_b = reinit.make_initializer(test)
    return handle, nxt, train_it, test_it, reinit_next, init_a, init_b


def test_feedable_and_reinitializable_iterators(tf):
    results = []
    for which in ("ours", "theirs"):
        with (tf1_mode(tf) if which == "theirs" else _nothing()) as v1:
            api = v1 or flowsaver
            graph = api.Graph()
            with graph.as_default():
                handle, nxt, train_it, test_it, reinit_next, init_a, init_b = _feedable(api)
            out = []
            with api.Session(graph=graph) as sess:
                train_h, test_h = sess.run([train_it.string_handle(), test_it.string_handle()])
                sess.run(test_it.initializer)
                out += [sess.run(nxt, {handle: train_h}) for _ in range(3)]
                out += [sess.run(nxt, {handle: test_h}) for _ in range(2)]
                out += [sess.run(nxt, {handle: train_h})]
                sess.run(init_a)
                out += [sess.run(reinit_next) for _ in range(2)]
                with pytest.raises(api.errors.OutOfRangeError):
                    sess.run(reinit_next)
                sess.run(init_b)
                out += [sess.run(reinit_next) for _ in range(3)]
            results.append(out)
    assert_close(results[0], results[1])


def test_uninitialized_iterator_fails_as_in_tensorflow(tf):
    for which in ("ours", "theirs"):
        with (tf1_mode(tf) if which == "theirs" else _nothing()) as v1:
            api = v1 or flowsaver
            with api.Graph().as_default():
                iterator, n, scale = _initializable(api)
                nxt = iterator.get_next()
                with api.Session() as sess, pytest.raises(api.errors.FailedPreconditionError):
                    sess.run(nxt)


@pytest.mark.parametrize("compression", ["", "GZIP"])
def test_tfrecord_dataset_reads_tensorflows_files(tf, tmp_path, compression):
    paths = []
    for f in range(2):
        path = str(tmp_path / f"part{f}.tfrecord")
        with tf.io.TFRecordWriter(path, tf.io.TFRecordOptions(compression_type=compression)) as w:
            for i in range(3):
                example = tf.train.Example()
                example.features.feature["v"].int64_list.value.extend([f, i])
                w.write(example.SerializeToString())
        paths.append(path)

    def build(api):
        def parse(record):
            return api.parse_single_example(record, {"v": api.FixedLenFeature([2], api.int64)})["v"]
        return api.data.TFRecordDataset(paths, compression_type=compression).map(parse).batch(4)
    ours, theirs = _both(tf, build)
    assert_close(ours, theirs)
    assert len(ours) == 2


def test_text_and_fixed_length_datasets(tf, tmp_path):
    text = tmp_path / "a.txt"
    text.write_bytes(b"first\nsecond\r\n\nlast")
    raw = tmp_path / "r.bin"
    raw.write_bytes(b"HH" + bytes(range(12)) + b"F")
    ours, theirs = _both(tf, lambda api: api.data.TextLineDataset(str(text)))
    assert ours == theirs
    ours, theirs = _both(tf, lambda api: api.data.FixedLengthRecordDataset(
        [str(raw)], 4, header_bytes=2, footer_bytes=1).map(
        lambda r: api.decode_raw(r, api.uint8)))
    assert_close(ours, theirs)


def test_shuffle_keeps_buffer_semantics(tf):
    with flowsaver.Graph().as_default():
        nxt = flowsaver.data.make_one_shot_iterator(
            flowsaver.data.Dataset.range(50).shuffle(5, seed=7).repeat(2)).get_next()
        order = _drain(flowsaver, flowsaver.get_default_graph(), nxt)
    first, second = order[:50], order[50:]
    assert sorted(first) == sorted(second) == list(range(50))
    assert first != list(range(50)) and first != second   # reshuffled each iteration
    for position, value in enumerate(first):
        # an element can leave the buffer only once it has been read into it
        assert value <= position + 4
    with flowsaver.Graph().as_default():
        nxt = flowsaver.data.make_one_shot_iterator(
            flowsaver.data.Dataset.range(50).shuffle(5, seed=7)).get_next()
        again = _drain(flowsaver, flowsaver.get_default_graph(), nxt)
    assert again == first   # the same seeds give the same order in a new session


def test_metagraph_saved_by_tensorflow_with_an_iterator_runs_with_input_map(tf, tmp_path):
    path = str(tmp_path / "model.meta")
    with tf1_mode(tf) as v1, v1.Graph().as_default():
        dataset = v1.data.Dataset.from_tensor_slices(
            np.arange(12, dtype=np.float32).reshape(6, 2)).map(lambda x: x * 2).batch(3)
        features = v1.data.make_one_shot_iterator(dataset).get_next()
        weights = v1.constant([[1.0], [-1.0]])
        v1.identity(v1.matmul(features, weights), name="prediction")
        v1.train.export_meta_graph(path)
    with flowsaver.Graph().as_default() as graph:
        inputs = flowsaver.placeholder(flowsaver.float32, [None, 2], name="inputs")
        flowsaver.train.import_meta_graph(path, input_map={"IteratorGetNext:0": inputs})
        prediction = graph.get_tensor_by_name("prediction:0")
        with flowsaver.Session() as sess:
            out = sess.run(prediction, {inputs: [[3.0, 1.0], [0.0, 5.0]]})
    np.testing.assert_array_equal(out, [[2.0], [-5.0]])


def test_tensorflow_runs_the_datasets_we_export(tf, tmp_path):
    path = str(tmp_path / "ours.meta")
    with flowsaver.Graph().as_default() as graph:
        scale = flowsaver.constant(3, flowsaver.int64)
        dataset = flowsaver.data.Dataset.range(6).map(lambda x: x * scale).filter(
            lambda x: x > 2).flat_map(
            lambda x: flowsaver.data.Dataset.from_tensors(x).repeat(2)).batch(3)
        flowsaver.identity(flowsaver.data.make_one_shot_iterator(dataset).get_next(),
                           name="out")
        n = flowsaver.placeholder(flowsaver.int64, [], name="n")
        iterator = flowsaver.data.make_initializable_iterator(
            flowsaver.data.Dataset.range(n).map(lambda v: (v + 1, flowsaver.cast(v, flowsaver.float32))))
        first, second = iterator.get_next()
        flowsaver.identity(second, name="out2")
        flowsaver.add_to_collection("init", iterator.initializer)
        flowsaver.train.export_meta_graph(path)
        ours = _drain(flowsaver, graph, graph.get_tensor_by_name("out:0"))
    with tf1_mode(tf) as v1, v1.Graph().as_default() as theirs:
        v1.train.import_meta_graph(path)
        out = _drain(v1, theirs, theirs.get_tensor_by_name("out:0"))
        with v1.Session() as sess:
            sess.run(theirs.get_collection("init")[0], {"n:0": 3})
            assert [sess.run("out2:0") for _ in range(3)] == [0.0, 1.0, 2.0]
    assert_close(out, ours)
    assert len(out) == 4


def test_we_run_the_datasets_tensorflow_exports(tf, tmp_path):
    path = str(tmp_path / "theirs.meta")
    records = str(tmp_path / "r.tfrecord")
    with tf.io.TFRecordWriter(records) as w:
        for i in range(5):
            w.write(b"r%d" % i)
    with tf1_mode(tf) as v1, v1.Graph().as_default() as theirs:
        scale = v1.constant(3, v1.int64)
        dataset = v1.data.Dataset.range(6).map(lambda x: x * scale).filter(
            lambda x: x > 2).flat_map(lambda x: v1.data.Dataset.from_tensors(x).repeat(2))
        v1.identity(v1.data.make_one_shot_iterator(dataset.batch(3)).get_next(), name="out")
        n = v1.placeholder(v1.int64, [], name="n")
        iterator = v1.data.make_initializable_iterator(
            v1.data.Dataset.range(n).map(lambda v: v + 1).batch(2))
        v1.identity(iterator.get_next(), name="out2")
        v1.identity(v1.data.make_one_shot_iterator(
            v1.data.TFRecordDataset([records])).get_next(), name="record")
        v1.add_to_collection("init", iterator.initializer)
        v1.train.export_meta_graph(path)
        expected = _drain(v1, theirs, theirs.get_tensor_by_name("out:0"))
    with flowsaver.Graph().as_default() as graph:
        flowsaver.train.import_meta_graph(path)
        ours = _drain(flowsaver, graph, graph.get_tensor_by_name("out:0"))
        with flowsaver.Session() as sess:
            sess.run(graph.get_collection("init")[0], {"n:0": 3})
            batches = [sess.run("out2:0") for _ in range(2)]
            got = [sess.run("record:0") for _ in range(5)]
    assert_close(ours, expected)
    assert_close(batches, [np.array([1, 2]), np.array([3])])
    assert got == [b"r0", b"r1", b"r2", b"r3", b"r4"]
