"""tf.data without TensorFlow: element order, structures, captured tensors and variables,
the typed errors of bad elements, and the iterator protocol (parity is in tests/interop)."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver as tf
from flowsaver.format.record_files import RecordFileWriter


def _all(dataset, feeds=None, init_first=False):
    with tf.Session() as sess:
        if init_first:
            iterator = tf.data.make_initializable_iterator(dataset)
            nxt = iterator.get_next()
            sess.run(iterator.initializer, feeds)
        else:
            nxt = tf.data.make_one_shot_iterator(dataset).get_next()
        out = []
        while True:
            try:
                out.append(sess.run(nxt, feeds))
            except tf.errors.OutOfRangeError:
                return out


def test_nested_structures_round_trip():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.from_tensor_slices(
            {"x": np.arange(3), "pair": (np.ones((3, 2), np.float32), np.array([b"a", b"b", b"c"]))})
        assert ds.output_types == {"x": tf.int64, "pair": (tf.float32, tf.string)}
        assert ds.output_shapes["pair"][0].as_list() == [2]
        out = _all(ds.map(lambda e: (e["x"] + 1, e["pair"][1])))
    assert [(int(a), b) for a, b in out] == [(1, b"a"), (2, b"b"), (3, b"c")]


def test_map_reads_a_variable_at_initialization():
    with tf.Graph().as_default():
        scale = tf.Variable(3, dtype=tf.int64)
        iterator = tf.data.make_initializable_iterator(
            tf.data.Dataset.range(3).map(lambda x: x * scale))
        nxt = iterator.get_next()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(iterator.initializer)
            assert [sess.run(nxt) for _ in range(3)] == [0, 3, 6]
            sess.run(scale.assign(5))
            sess.run(iterator.initializer)
            assert sess.run(nxt) == 0 and sess.run(nxt) == 5


def test_interleave_order():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.range(1, 4).interleave(
            lambda x: tf.data.Dataset.from_tensors(x).repeat(x), cycle_length=2,
            block_length=1)
        assert _all(ds) == [1, 2, 2, 3, 3, 3]


def test_padded_batch_and_drop_remainder_shapes():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.range(1, 4).map(lambda x: tf.fill([x], x))
        padded = ds.padded_batch(2, padded_shapes=[None], drop_remainder=True)
        assert padded.output_shapes.as_list() == [2, None]
        out = _all(padded)
    assert len(out) == 1
    np.testing.assert_array_equal(out[0], [[1, 0], [2, 2]])


@pytest.mark.parametrize("make,match", [
    (lambda: tf.data.Dataset.range(1, 4).map(lambda x: tf.fill([x], x)).batch(2),
     "Cannot batch tensors with different shapes"),
    (lambda: tf.data.Dataset.from_generator(lambda: iter([[1, 2], [3]]), tf.int64,
                                            tf.TensorShape([2])), "yielded an element"),
    (lambda: tf.data.Dataset.range(3).batch(0), "greater than zero"),
])
def test_bad_elements_raise_invalid_argument(make, match):
    with tf.Graph().as_default():
        with pytest.raises(tf.errors.InvalidArgumentError, match=match):
            _all(make())


def test_filter_predicate_must_be_a_scalar_bool():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="scalar boolean"):
            tf.data.Dataset.range(3).filter(lambda x: x)


def test_iterator_protocol_errors():
    with tf.Graph().as_default():
        iterator = tf.data.Iterator.from_structure(tf.int64, tf.TensorShape([]))
        nxt = iterator.get_next()
        with pytest.raises(TypeError, match="output types"):
            iterator.make_initializer(tf.data.Dataset.from_tensors(1.0))
        init = iterator.make_initializer(tf.data.Dataset.range(2))
        handle = tf.placeholder(tf.string, [])
        fed = tf.data.Iterator.from_string_handle(handle, tf.int64).get_next()
        with tf.Session() as sess:
            with pytest.raises(tf.errors.FailedPreconditionError, match="not been initialized"):
                sess.run(nxt)
            sess.run(init)
            assert sess.run(fed, {handle: sess.run(iterator.string_handle())}) == 0
            assert sess.run(nxt) == 1
            with pytest.raises(tf.errors.OutOfRangeError):
                sess.run(nxt)
            with pytest.raises(tf.errors.InvalidArgumentError):
                sess.run(fed, {handle: b"garbage"})


def test_cache_replays_the_first_pass():
    calls = []

    def numbers():
        calls.append(1)
        yield from range(3)
    with tf.Graph().as_default():
        ds = tf.data.Dataset.from_generator(numbers, tf.int64).cache().repeat(3)
        assert _all(ds) == [0, 1, 2] * 3
    assert len(calls) == 1


def test_record_readers(tmp_path):
    path = str(tmp_path / "r.tfrecord.z")
    with RecordFileWriter(path, "ZLIB") as w:
        for r in (b"a", b"bb", b"ccc"):
            w.write(r)
    text = tmp_path / "t.txt"
    text.write_text("x\ny\n")
    with tf.Graph().as_default():
        assert _all(tf.data.TFRecordDataset([path, path], "ZLIB").take(4)) == \
            [b"a", b"bb", b"ccc", b"a"]
        assert _all(tf.data.TextLineDataset(str(text))) == [b"x", b"y"]
        with pytest.raises(tf.errors.NotFoundError):
            _all(tf.data.TextLineDataset(str(tmp_path / "missing.txt")))


def test_take_skip_repeat_edges():
    with tf.Graph().as_default():
        assert _all(tf.data.Dataset.range(5).skip(-1)) == []
        assert _all(tf.data.Dataset.range(5).take(-1).skip(3)) == [3, 4]
        assert _all(tf.data.Dataset.range(0).repeat()) == []


def test_list_files_and_apply(tmp_path):
    for name in ("b.txt", "a.txt", "c.dat"):
        (tmp_path / name).write_text(name)
    with tf.Graph().as_default():
        ordered = tf.data.Dataset.list_files(str(tmp_path / "*.txt"), shuffle=False)
        assert _all(ordered) == [str(tmp_path / "a.txt").encode(), str(tmp_path / "b.txt").encode()]
        shuffled = tf.data.Dataset.list_files(str(tmp_path / "*"), seed=2)
        assert sorted(_all(shuffled)) == sorted(str(p).encode() for p in tmp_path.iterdir())
        contents = ordered.apply(lambda d: d.map(tf.read_file))
        assert _all(contents) == [b"a.txt", b"b.txt"]
