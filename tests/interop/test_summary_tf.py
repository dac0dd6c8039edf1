"""tf.summary against real TensorFlow: the same programs give the same Summary values
(images compared by their decoded pixels), the same GraphDefs, and event files that
TensorFlow's summary_iterator and TensorBoard's event loader read as they read
TensorFlow's own files."""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest

import flowsaver
from flowsaver.format import png
from flowsaver.format.event_protos import Summary
from parity import assert_same_graph_def, build_both, run_both, tf1_mode

FEEDS = {"x": np.array([1.0, 2.5, -3.0, 0.0, 1e-13, 7e6], np.float32),
         "img": np.linspace(-2, 5, 2 * 3 * 5 * 3, dtype=np.float32).reshape(2, 3, 5, 3),
         "snd": np.sin(np.arange(40, dtype=np.float32)).reshape(2, 20) * 1.2}


def _program(api):
    x = api.placeholder(api.float32, [None], name="x")
    img = api.placeholder(api.float32, [None, 3, 5, 3], name="img")
    snd = api.placeholder(api.float32, [None, 20], name="snd")
    api.summary.scalar("loss", api.reduce_mean(x))
    api.summary.scalar("loss", api.reduce_max(x))
    api.summary.scalar("loss rate!", api.reduce_min(x), family="fam")
    with api.name_scope("layer"):
        api.summary.histogram("weights", x)
        api.summary.histogram("ints", api.cast(x, api.int32))
    api.summary.image("pic", img, max_outputs=2)
    api.summary.image("pos", api.abs(img), max_outputs=1)
    api.summary.image("bytes", api.cast(api.abs(img) * 40, api.uint8), max_outputs=5)
    api.summary.audio("snd", snd, 8000, max_outputs=1)
    api.summary.text("note", api.constant(["a", "b"]))
    api.summary.tensor_summary("raw", x * 2)
    api.summary.scalar("other", api.reduce_sum(x), collections=["extra"])
    return [api.summary.merge_all(), api.summary.merge_all("extra"),
            api.summary.merge([api.get_collection("summaries")[0]], name="m")]


def _canonical(serialized: bytes) -> list:
    out = []
    for value in Summary.FromString(serialized).value:
        if value.HasField("image"):
            pixels = png.decode(value.image.encoded_image_string)
            value.image.ClearField("encoded_image_string")
            out.append((value.SerializeToString(deterministic=True), pixels.tobytes()))
        else:
            out.append((value.SerializeToString(deterministic=True), None))
    return out


def test_summary_values_match_tensorflow(tf):
    ours, theirs = run_both(tf, _program, FEEDS)
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        assert _canonical(a) == _canonical(b)


def test_summary_graph_defs_match_tensorflow(tf):
    (ours, _), (theirs, _) = build_both(tf, _program)
    assert_same_graph_def(ours, theirs)
    assert [t.name for t in ours.get_collection("summaries")] == \
        [t.name for t in theirs.get_collection("summaries")]


def test_bad_pixels_and_histogram_errors(tf):
    def build(api):
        img = api.placeholder(api.float32, [1, 2, 2, 1], name="img")
        x = api.placeholder(api.float32, [None], name="x")
        return api.summary.image("i", img), api.summary.histogram("h", x)
    feeds = {"img": np.array([np.nan, 1, -1, np.inf], np.float32).reshape(1, 2, 2, 1),
             "x": np.array([1.0], np.float32)}
    ours, theirs = run_both(tf, build, feeds)
    assert _canonical(ours[0]) == _canonical(theirs[0])
    (our_graph, our_fetch), (their_graph, their_fetch) = build_both(tf, build)
    bad = {"x:0": np.array([1.0, np.nan], np.float32)}
    with pytest.raises(tf.errors.InvalidArgumentError, match="Nan in summary histogram"):
        with tf.compat.v1.Session(graph=their_graph) as sess:
            sess.run(their_fetch[1], bad)
    with pytest.raises(flowsaver.errors.InvalidArgumentError, match="Nan in summary histogram"):
        with flowsaver.Session(graph=our_graph) as sess:
            sess.run(our_fetch[1], bad)


def _write_run(api, logdir, steps=3):
    """The same TF1 training-log program in either system; returns the event file path."""
    graph = api.Graph()
    with graph.as_default():
        x = api.placeholder(api.float32, [None], name="x")
        w = api.Variable(1.5, name="w")
        loss = api.reduce_mean(api.square(x * w))
        api.summary.scalar("loss", loss)
        api.summary.histogram("values", x)
        api.summary.image("img", api.reshape(x[:12], [1, 2, 2, 3]))
        merged = api.summary.merge_all()
        writer = api.summary.FileWriter(logdir, graph)
        with api.Session() as sess:
            sess.run(api.global_variables_initializer())
            for step in range(steps):
                value = np.arange(12, dtype=np.float32) * (step + 1) - 3
                writer.add_summary(sess.run(merged, {x: value}), step * 10)
        writer.add_session_log(api.SessionLog(status=api.SessionLog.STOP), steps * 10)
        writer.close()
    (path,) = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    return path


def _tf_run(tf, logdir):
    with tf1_mode(tf) as v1:
        return _write_run(v1, logdir)


def test_tensorflow_reads_our_event_file(tf, tmp_path):
    path = _write_run(flowsaver, str(tmp_path / "ours"))
    assert os.path.basename(path).startswith("events.out.tfevents.")
    events = list(tf.compat.v1.train.summary_iterator(path))
    kinds = [e.WhichOneof("what") for e in events]
    assert kinds == ["file_version", "graph_def", "meta_graph_def", "summary", "summary",
                     "summary", "session_log"]
    assert events[0].file_version == "brain.Event:2"
    assert [e.step for e in events if e.HasField("summary")] == [0, 10, 20]
    graph_def = tf.compat.v1.GraphDef.FromString(events[1].graph_def)
    assert any(n.op == "VariableV2" for n in graph_def.node)
    assert all("_output_shapes" in n.attr for n in graph_def.node)


def _load(path):
    from tensorboard.backend.event_processing import event_accumulator as ea
    acc = ea.EventAccumulator(path, size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0,
                                                   ea.IMAGES: 0, ea.TENSORS: 0})
    acc.Reload()
    return acc


def test_tensorboard_loads_ours_as_it_loads_tensorflows(tf, tmp_path):
    ours = _load(_write_run(flowsaver, str(tmp_path / "ours")))
    theirs = _load(_tf_run(tf, str(tmp_path / "theirs")))
    our_tags, their_tags = ours.Tags(), theirs.Tags()
    for kind in ("scalars", "histograms", "images", "tensors", "graph", "meta_graph"):
        assert our_tags[kind] == their_tags[kind], kind
    assert our_tags["scalars"] == ["loss"]
    assert [(e.step, e.value) for e in ours.Scalars("loss")] == \
        [(e.step, e.value) for e in theirs.Scalars("loss")]
    assert [(e.step, e.histogram_value) for e in ours.Histograms("values")] == \
        [(e.step, e.histogram_value) for e in theirs.Histograms("values")]
    assert our_tags["images"] == ["img/image/0"]
    assert len(ours.Images("img/image/0")) == 3
    for a, b in zip(ours.Images("img/image/0"), theirs.Images("img/image/0")):
        assert (a.step, a.width, a.height) == (b.step, b.width, b.height)
        assert np.array_equal(png.decode(a.encoded_image_string),
                              png.decode(b.encoded_image_string))
    assert len(ours.Graph().node) == len(theirs.Graph().node)
    assert sorted(n.op for n in ours.Graph().node) == sorted(n.op for n in theirs.Graph().node)


def test_we_read_tensorflows_event_file(tf, tmp_path):
    path = _tf_run(tf, str(tmp_path / "theirs"))
    events = list(flowsaver.train.summary_iterator(path))
    scalars = [(e.step, v.simple_value) for e in events if e.HasField("summary")
               for v in e.summary.value if v.tag == "loss"]
    assert [s for s, _ in scalars] == [0, 10, 20]
    meta = flowsaver.train.import_meta_graph  # the meta graph event imports in flowsaver
    from flowsaver.format.graph_protos import MetaGraphDef
    meta_def = MetaGraphDef.FromString(next(e.meta_graph_def for e in events
                                            if e.HasField("meta_graph_def")))
    with flowsaver.Graph().as_default():
        meta(meta_def)
        assert flowsaver.get_default_graph().get_operation_by_name("w").type == "VariableV2"
