"""Event files against real TensorFlow: TensorFlow's summary_iterator reads ours, we read
TensorFlow's (and re-frame them to the same bytes), and the Event/Summary messages match
TensorFlow's descriptors field for field."""
from __future__ import annotations

from pathlib import Path

import pytest
from test_graph_protos_tf import _compare

from flowsaver.cli.main import main
from flowsaver.format.event_protos import MESSAGES
from flowsaver.format.events import EventFileWriter, read_events
from flowsaver.format.graph_protos import GraphDef
from flowsaver.format.meta_file import read_meta_graph_file
from flowsaver.format.records import encode_record, read_records

META = Path(__file__).resolve().parents[1] / "fixtures" / "tf" / "refvar" / "model.ckpt-5.meta"


@pytest.fixture(scope="module")
def tf_pool(tf):
    from google.protobuf import descriptor_pool
    from tensorflow.core.util import event_pb2  # noqa: F401 - loads event and summary
    return descriptor_pool.Default()


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_message_matches_tensorflow(tf_pool, name):
    ours = MESSAGES[name].DESCRIPTOR
    problems: list[str] = []
    _compare(ours, tf_pool.FindMessageTypeByName(ours.full_name), set(), problems)
    assert problems == []


def _summary_events(tf, path):
    return list(tf.compat.v1.train.summary_iterator(str(path)))


def test_tensorflow_reads_our_graph_event_file(tf, tmp_path, capsys):
    assert main(["graph", str(META), "--logdir", str(tmp_path / "logs"), "-q"]) == 0
    (path,) = (tmp_path / "logs").iterdir()
    events = _summary_events(tf, path)
    assert events[0].file_version == "brain.Event:2"
    assert events[0].wall_time == int(path.name.split(".")[3])
    graph = tf.compat.v1.GraphDef.FromString(events[1].graph_def)
    assert graph.SerializeToString(deterministic=True) == \
        read_meta_graph_file(META).graph_def.SerializeToString(deterministic=True)
    meta = tf.compat.v1.MetaGraphDef.FromString(events[2].meta_graph_def)
    assert [n.name for n in meta.graph_def.node] == [n.name for n in graph.node]
    with tf.Graph().as_default() as imported:   # and it is a graph TensorFlow can load
        tf.compat.v1.import_graph_def(graph, name="")
    assert len(imported.get_operations()) == len(graph.node)


def test_tensorflow_reads_our_summaries(tf, tmp_path):
    with EventFileWriter(tmp_path) as writer:
        for step in range(3):
            writer.add_scalar("loss", 1.0 / (step + 1), step=step)
    events = _summary_events(tf, writer.path)
    scalars = [(e.step, e.summary.value[0].tag, e.summary.value[0].simple_value)
               for e in events[1:]]
    assert scalars == [(0, "loss", 1.0), (1, "loss", 0.5), (2, "loss", pytest.approx(1 / 3))]


def test_we_read_tensorflows_event_files(tf, tmp_path):
    with tf.Graph().as_default() as graph:
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        tf.identity(x * 2.0, name="y")
        writer = tf.compat.v1.summary.FileWriter(str(tmp_path), graph)
        summary = tf.compat.v1.Summary(value=[tf.compat.v1.Summary.Value(tag="acc",
                                                                         simple_value=0.75)])
        writer.add_summary(summary, global_step=10)
        writer.close()
    (path,) = tmp_path.iterdir()
    theirs = _summary_events(tf, path)
    ours = list(read_events(path))
    assert [e.SerializeToString() for e in ours] == [e.SerializeToString() for e in theirs]
    assert ours[0].file_version == "brain.Event:2"
    assert [n.name for n in GraphDef.FromString(ours[1].graph_def).node] == \
        [op.name for op in graph.get_operations()]
    assert ours[-1].summary.value[0].simple_value == 0.75 and ours[-1].step == 10
    # our framing of the same records is TensorFlow's, byte for byte
    assert b"".join(encode_record(r) for r in read_records(path)) == path.read_bytes()
