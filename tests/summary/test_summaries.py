"""Summary ops and FileWriter without TensorFlow: tags, histogram buckets, image scaling,
WAV bytes, the background writer (flush, close, metadata kept once), the cache."""
from __future__ import annotations

import glob
import os
import struct
import threading

import numpy as np
import pytest

import flowsaver as tf
from flowsaver.format import png, wav
from flowsaver.format.histogram import DBL_MAX, DEFAULT_LIMITS, histogram_proto
from flowsaver.ops.summary.kernels import to_uint8_image


def test_default_buckets():
    assert DEFAULT_LIMITS[0] == -DBL_MAX and DEFAULT_LIMITS[-1] == DBL_MAX
    assert np.all(np.diff(DEFAULT_LIMITS) > 0)
    zero = int(np.flatnonzero(DEFAULT_LIMITS == 0)[0])
    assert DEFAULT_LIMITS[zero + 1] == 1e-12
    assert DEFAULT_LIMITS[zero + 2] == 1e-12 * 1.1


def test_histogram_collapses_empty_runs():
    proto = histogram_proto([1.0, 1.0, 3.0])
    assert (proto.min, proto.max, proto.num, proto.sum, proto.sum_squares) == (1, 3, 3, 5, 11)
    assert list(proto.bucket) == [0, 2, 0, 1, 0]
    assert proto.bucket_limit[-1] == DBL_MAX
    assert proto.bucket_limit[1] > 1.0 > proto.bucket_limit[0]
    empty = histogram_proto([])
    assert (empty.min, empty.max, list(empty.bucket)) == (DBL_MAX, -DBL_MAX, [0])


def test_image_scaling_rules():
    bad = np.array([255, 0, 0, 255], np.uint8)
    positive = np.array([[[0.0], [0.5]], [[1.0], [2.0]]], np.float32)
    np.testing.assert_array_equal(to_uint8_image(positive, bad).reshape(-1), [0, 63, 127, 255])
    mixed = np.array([[[-1.0], [0.0]], [[0.5], [np.nan]]], np.float32)
    np.testing.assert_array_equal(to_uint8_image(mixed, bad).reshape(-1), [1, 128, 191, 255])
    np.testing.assert_array_equal(to_uint8_image(np.zeros((1, 1, 3), np.float32), bad), 0)


def test_png_round_trip():
    rng = np.random.default_rng(0)
    for channels in (1, 2, 3, 4):
        for dtype in (np.uint8, np.uint16):
            image = rng.integers(0, np.iinfo(dtype).max, (5, 7, channels)).astype(dtype)
            assert np.array_equal(png.decode(png.encode(image)), image)
    data = bytearray(png.encode(np.zeros((2, 2, 3), np.uint8)))
    data[20] ^= 1
    with pytest.raises(tf.errors.InvalidArgumentError, match="CRC"):
        png.decode(bytes(data))


def test_wav_layout():
    data = wav.encode(np.array([[0.0], [1.0], [-1.0], [0.5]], np.float32), 16000)
    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt "
    assert struct.unpack_from("<HHIIHH", data, 20) == (1, 1, 16000, 32000, 2, 16)
    assert struct.unpack_from("<4h", data, 44) == (0, 32767, -32768, 16384)


def _events(logdir):
    (path,) = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    return list(tf.train.summary_iterator(path))


def test_names_tags_and_collections():
    with tf.Graph().as_default():
        x = tf.constant(1.0)
        a = tf.summary.scalar("loss", x)
        b = tf.summary.scalar("loss", x)
        c = tf.summary.scalar("bad name!", x, family="fam")
        d = tf.summary.histogram("h", x, collections=[])
        assert (a.op.name, b.op.name, c.op.name) == ("loss", "loss_1", "fam/bad_name_")
        assert tf.get_collection(tf.GraphKeys.SUMMARIES) == [a, b, c]
        assert d not in tf.get_collection(tf.GraphKeys.SUMMARIES)
        with tf.Session() as sess:
            out = tf.Summary.FromString(sess.run(tf.summary.merge_all()))
            assert [v.tag for v in out.value] == ["loss", "loss_1", "fam/fam/bad_name_"]
            with pytest.raises(tf.errors.InvalidArgumentError, match="Duplicate tag"):
                sess.run(tf.summary.merge([a, a]))
        assert tf.summary.merge_all("nothing") is None


def test_file_writer_events(tmp_path):
    logdir = str(tmp_path)
    with tf.Graph().as_default() as graph:
        note = tf.summary.text("note", tf.constant("hi"))
        writer = tf.summary.FileWriter(logdir, graph, flush_secs=1000)
        with tf.Session() as sess:
            value = sess.run(note)
        writer.add_summary(value, 1)
        writer.add_summary(value, 2)
        writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START), 3)
        writer.flush()
        kinds = [e.WhichOneof("what") for e in _events(logdir)]
        assert kinds == ["file_version", "graph_def", "meta_graph_def", "summary", "summary",
                         "session_log"]
        writer.close()
        writer.add_summary(value, 4)      # ignored after close, as in TensorFlow
    events = _events(logdir)
    summaries = [e for e in events if e.HasField("summary")]
    assert [e.step for e in summaries] == [1, 2]
    assert summaries[0].summary.value[0].metadata.plugin_data.plugin_name == "text"
    assert not summaries[1].summary.value[0].HasField("metadata")


def test_writer_runs_in_the_background(tmp_path):
    writer = tf.summary.FileWriter(str(tmp_path), max_queue=3)
    threads = [t.name for t in threading.enumerate()]
    assert "EventLoggerThread" in threads
    for step in range(20):
        summary = tf.Summary()
        summary.value.add(tag="s", simple_value=step)
        writer.add_summary(summary, step)
    writer.close()
    assert [e.step for e in _events(str(tmp_path)) if e.HasField("summary")] == list(range(20))


def test_file_writer_cache(tmp_path):
    with tf.Graph().as_default():
        first = tf.summary.FileWriterCache.get(str(tmp_path))
        assert tf.summary.FileWriterCache.get(str(tmp_path)) is first
        tf.summary.FileWriterCache.clear()
        assert tf.summary.FileWriterCache.get(str(tmp_path)) is not first
        tf.summary.FileWriterCache.clear()
