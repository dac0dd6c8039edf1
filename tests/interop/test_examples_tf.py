"""TFRecords and tf.train.Example against real TensorFlow: each side reads the other's
files (plain, GZIP, ZLIB), the Example messages are TensorFlow's (descriptors and bytes),
and parsing programs give TensorFlow's values and GraphDefs."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from flowsaver.format import example_protos
from flowsaver.format.record_files import TFRecordOptions, TFRecordWriter, tf_record_iterator
from parity import assert_close, assert_same_graph_def, build_both, run_both

RECORDS = [b"", b"a", b"hello world" * 50, bytes(range(256)) * 40]
COMPRESSIONS = ["", "GZIP", "ZLIB"]


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_tensorflow_reads_our_records(tf, tmp_path, compression):
    path = str(tmp_path / "ours.tfrecord")
    with TFRecordWriter(path, TFRecordOptions(compression)) as w:
        for r in RECORDS:
            w.write(r)
    got = list(tf.compat.v1.io.tf_record_iterator(
        path, tf.io.TFRecordOptions(compression_type=compression)))
    assert got == RECORDS


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_we_read_tensorflow_records(tf, tmp_path, compression):
    path = str(tmp_path / "theirs.tfrecord")
    with tf.io.TFRecordWriter(path, tf.io.TFRecordOptions(compression_type=compression)) as w:
        for r in RECORDS:
            w.write(r)
    assert list(tf_record_iterator(path, compression)) == RECORDS
    assert list(flowsaver.python_io.tf_record_iterator(
        path, flowsaver.python_io.TFRecordOptions(compression))) == RECORDS


def test_plain_files_are_byte_identical(tf, tmp_path):
    ours, theirs = str(tmp_path / "a"), str(tmp_path / "b")
    with TFRecordWriter(ours) as w:
        for r in RECORDS:
            w.write(r)
    with tf.io.TFRecordWriter(theirs) as w:
        for r in RECORDS:
            w.write(r)
    assert open(ours, "rb").read() == open(theirs, "rb").read()


@pytest.mark.parametrize("name", sorted(example_protos.MESSAGES))
def test_example_messages_match_tensorflow(tf, name):
    from google.protobuf import descriptor_pb2
    ours, theirs = descriptor_pb2.DescriptorProto(), descriptor_pb2.DescriptorProto()
    example_protos.MESSAGES[name].DESCRIPTOR.CopyToProto(ours)
    getattr(tf.train, name).DESCRIPTOR.CopyToProto(theirs)
    for proto in (ours, theirs):
        for field in proto.field:
            field.ClearField("options")
            field.ClearField("json_name")
        for nested in proto.nested_type:
            for field in nested.field:
                field.ClearField("json_name")
    assert ours == theirs


def _example(api_train, floats, ints, text=None):
    e = api_train.Example()
    f = e.features.feature
    f["a"].float_list.value.extend(floats)
    f["b"].int64_list.value.extend(ints)
    if text is not None:
        f["c"].bytes_list.value.append(text)
    return e


def test_example_bytes_both_ways(tf):
    ours = _example(flowsaver.train, [1.5, -2.0], [3, 1 << 40, -7], b"x").SerializeToString(
        deterministic=True)
    theirs = _example(tf.train, [1.5, -2.0], [3, 1 << 40, -7], b"x").SerializeToString(
        deterministic=True)
    assert ours == theirs
    seq = tf.train.SequenceExample()
    seq.context.feature["n"].int64_list.value.append(2)
    seq.feature_lists.feature_list["t"].feature.add().float_list.value.extend([1, 2])
    back = flowsaver.train.SequenceExample.FromString(seq.SerializeToString())
    assert list(back.feature_lists.feature_list["t"].feature[0].float_list.value) == [1, 2]
    assert back.SerializeToString(deterministic=True) == seq.SerializeToString(
        deterministic=True)


BATCH = [_example(flowsaver.train, [1, 2], [3, 4, 5], b"q").SerializeToString(),
         _example(flowsaver.train, [5, 6], [], None).SerializeToString(),
         _example(flowsaver.train, [7, 8], [9], b"zz").SerializeToString()]


def _parse_batch(api):
    s = api.placeholder(api.string, [None], name="s")
    f = api.parse_example(s, {"a": api.FixedLenFeature([2], api.float32),
                              "b": api.VarLenFeature(api.int64),
                              "c": api.FixedLenFeature([], api.string, default_value="x")})
    return [f["a"], f["b"], f["c"], api.sparse.to_dense(f["b"])]


def _parse_single(api):
    s = api.placeholder(api.string, [], name="s")
    f = api.parse_single_example(s, {"a": api.FixedLenFeature([1, 2], api.float32),
                                     "b": api.VarLenFeature(api.int64)})
    return [f["a"], f["b"]]


def _parse_sequence_feature(api):
    s = api.placeholder(api.string, [None], name="s")
    f = api.parse_example(s, {"b": api.io.FixedLenSequenceFeature(
        [], api.int64, allow_missing=True, default_value=-1)})
    return f["b"]


def _decode(api):
    s = api.placeholder(api.string, [None], name="s")
    lines = api.placeholder(api.string, [None], name="lines")
    cols = api.io.decode_csv(lines, [[1], [2.0], ["d"], api.constant([], api.int64)],
                             na_value="NA")
    return [api.decode_raw(s, api.uint8), api.decode_raw(s, api.int16),
            api.decode_raw(s, api.int16, little_endian=False)] + cols


@pytest.mark.parametrize("build,feeds", [
    (_parse_batch, {"s": BATCH}),
    (_parse_single, {"s": BATCH[0]}),
    (_parse_sequence_feature, {"s": BATCH}),
    (_decode, {"s": [b"abcd", b"\x00\x01\xff\xfe"],
               "lines": [b'7,1.5,"a,""b",3', b",,,4", b"NA,-2e3,x,5"]}),
], ids=["batch", "single", "sequence_feature", "decode"])
def test_parsing_matches_tensorflow(tf, build, feeds):
    ours, theirs = run_both(tf, build, feeds)
    assert_close(ours, theirs)


@pytest.mark.parametrize("build", [_parse_batch, _parse_single, _decode],
                         ids=["batch", "single", "decode"])
def test_parsing_graph_defs_match(tf, build):
    (ours, _), (theirs, _) = build_both(tf, build)
    assert_same_graph_def(ours, theirs)


def _sequence(api):
    s = api.placeholder(api.string, [], name="s")
    context, seq = api.parse_single_sequence_example(
        s, context_features={"len": api.FixedLenFeature([], api.int64),
                             "v": api.VarLenFeature(api.string)},
        sequence_features={"tok": api.FixedLenSequenceFeature([], api.int64),
                           "sp": api.VarLenFeature(api.float32),
                           "gone": api.FixedLenSequenceFeature([2], api.float32,
                                                               allow_missing=True)})
    return [context, seq]


def test_sequence_example_matches_tensorflow(tf):
    seq = tf.train.SequenceExample()
    seq.context.feature["len"].int64_list.value.append(3)
    seq.context.feature["v"].bytes_list.value.extend([b"p", b"q"])
    for t in range(3):
        seq.feature_lists.feature_list["tok"].feature.add().int64_list.value.append(10 + t)
        seq.feature_lists.feature_list["sp"].feature.add().float_list.value.extend(
            [0.5] * t)
    ours, theirs = run_both(tf, _sequence, {"s": seq.SerializeToString()})
    assert_close(ours, theirs)
    (our_graph, _), (their_graph, _) = build_both(tf, _sequence)
    assert_same_graph_def(our_graph, their_graph)


@pytest.mark.parametrize("bad,feeds", [
    (_parse_batch, {"s": [_example(flowsaver.train, [1, 2, 3], []).SerializeToString()]}),
    (_parse_single, {"s": flowsaver.train.Example().SerializeToString()}),
    (_parse_batch, {"s": [b"not a proto"]}),
    (_decode, {"s": [b"abc"], "lines": [b"1,2,3,4"]}),
    (_decode, {"s": [b"ab", b"abcd"], "lines": [b"1,2,3,4"]}),
    (_decode, {"s": [b"ab"], "lines": [b"x,2,3,4"]}),
    (_decode, {"s": [b"ab"], "lines": [b"1,2,3,"]}),
    (_decode, {"s": [b"ab"], "lines": [b"1,2,3"]}),
], ids=["count", "missing", "garbage", "raw_odd", "raw_ragged", "csv_int", "csv_required",
        "csv_fields"])
def test_parsing_errors_are_tensorflows(tf, bad, feeds):
    (ours, our_fetches), (theirs, their_fetches) = build_both(tf, bad)
    with pytest.raises(tf.errors.InvalidArgumentError):
        with tf.compat.v1.Session(graph=theirs) as sess:
            sess.run(their_fetches, {k + ":0": v for k, v in feeds.items()})
    with pytest.raises(flowsaver.errors.InvalidArgumentError):
        with flowsaver.Session(graph=ours) as sess:
            sess.run(our_fetches, {k + ":0": v for k, v in feeds.items()})


def test_read_and_write_file(tf, tmp_path):
    path = str(tmp_path / "sub" / "f.bin")

    def build(api):
        written = api.write_file(path, api.constant(b"\x00payload"))
        with api.control_dependencies([written]):
            return api.read_file(path)
    ours, theirs = run_both(tf, build)
    assert ours == theirs == b"\x00payload"
