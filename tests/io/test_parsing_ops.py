"""Example parsing, CSV and raw decoding without TensorFlow: values, shapes, defaults and
the typed errors of malformed input (parity with TensorFlow is in tests/interop)."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver as tf


def _example(**features):
    e = tf.train.Example()
    for key, values in features.items():
        f = e.features.feature[key]
        if values and isinstance(values[0], bytes):
            f.bytes_list.value.extend(values)
        elif values and isinstance(values[0], float):
            f.float_list.value.extend(values)
        else:
            f.int64_list.value.extend(values)
    return e.SerializeToString()


def _run(fetches, feeds):
    with tf.Session() as sess:
        return sess.run(fetches, feeds)


def test_fixed_and_var_len_features():
    with tf.Graph().as_default():
        s = tf.placeholder(tf.string, [None])
        f = tf.parse_example(s, {"x": tf.FixedLenFeature([2], tf.float32),
                                 "ids": tf.VarLenFeature(tf.int64),
                                 "name": tf.FixedLenFeature([], tf.string, default_value="?")})
        assert f["x"].shape.as_list() == [None, 2]
        assert f["ids"].indices.shape.as_list() == [None, 2]
        out = _run([f, tf.sparse.to_dense(f["ids"], default_value=-1)],
                   {s: [_example(x=[1.0, 2.0], ids=[4, 5], name=[b"a"]),
                        _example(x=[3.0, 4.0])]})
    values, dense = out
    np.testing.assert_array_equal(values["x"], [[1, 2], [3, 4]])
    assert list(values["name"]) == [b"a", b"?"]
    np.testing.assert_array_equal(values["ids"].indices, [[0, 0], [0, 1]])
    np.testing.assert_array_equal(values["ids"].dense_shape, [2, 2])
    np.testing.assert_array_equal(dense, [[4, 5], [-1, -1]])


def test_sequence_feature_pads_with_its_default():
    with tf.Graph().as_default():
        s = tf.placeholder(tf.string, [None])
        f = tf.parse_example(s, {"v": tf.io.FixedLenSequenceFeature(
            [2], tf.int64, allow_missing=True, default_value=9)})
        out = _run(f["v"], {s: [_example(v=[1, 2, 3, 4]), _example()]})
    np.testing.assert_array_equal(out, [[[1, 2], [3, 4]], [[9, 9], [9, 9]]])


@pytest.mark.parametrize("serialized,match", [
    (_example(x=[1.0]), "Number of float values"),
    (_example(x=[1, 2]), "Data types don't match"),
    (_example(), "is required"),
    (b"\xff\xff", "Could not parse"),
])
def test_malformed_examples(serialized, match):
    with tf.Graph().as_default():
        s = tf.placeholder(tf.string, [])
        f = tf.parse_single_example(s, {"x": tf.FixedLenFeature([2], tf.float32)})
        with pytest.raises(tf.errors.InvalidArgumentError, match=match):
            _run(f, {s: serialized})


def test_decode_csv_quotes_defaults_and_selection():
    with tf.Graph().as_default():
        lines = tf.placeholder(tf.string, [None])
        a, b = tf.io.decode_csv(lines, [[0], ["none"]], select_cols=[0, 2])
        c = tf.io.decode_csv(lines, [[0], [""], [""]], field_delim=";", use_quote_delim=False)
        out = _run([a, b], {lines: [b'1,"x,y",",""q"""', b",2,"]})
        np.testing.assert_array_equal(out[0], [1, 0])
        assert list(out[1]) == [b',"q"', b"none"]
        with pytest.raises(tf.errors.InvalidArgumentError, match="Expect 3 fields"):
            _run(c, {lines: [b"1;2"]})


def test_decode_raw_layouts():
    with tf.Graph().as_default():
        s = tf.placeholder(tf.string, [2])
        little = tf.decode_raw(s, tf.int32)
        big = tf.decode_raw(s, tf.int32, little_endian=False)
        assert little.shape.as_list() == [2, None]
        out = _run([little, big], {s: [b"\x01\x00\x00\x00", b"\x00\x00\x00\x02"]})
    np.testing.assert_array_equal(out[0], [[1], [2 << 24]])
    np.testing.assert_array_equal(out[1], [[1 << 24], [2]])
    assert out[0].dtype == np.int32 and out[0].dtype.isnative


def test_read_missing_file_is_not_found(tmp_path):
    with tf.Graph().as_default():
        contents = tf.read_file(str(tmp_path / "missing"))
        with pytest.raises(tf.errors.NotFoundError, match="missing"):
            _run(contents, None)


def test_sparse_tensor_feed_and_fetch():
    with tf.Graph().as_default():
        sp = tf.SparseTensor(tf.placeholder(tf.int64, [None, 2]), tf.placeholder(tf.float32),
                             tf.placeholder(tf.int64, [2]))
        dense = tf.sparse.to_dense(sp)
        value = tf.SparseTensorValue([[0, 1], [2, 0]], [1.5, 2.5], [3, 2])
        out = _run(dense, {sp: value})
        np.testing.assert_array_equal(out, [[0, 1.5], [0, 0], [2.5, 0]])
        with pytest.raises(tf.errors.InvalidArgumentError, match="out of order"):
            _run(dense, {sp: ([[2, 0], [0, 1]], [1.0, 2.0], [3, 2])})
