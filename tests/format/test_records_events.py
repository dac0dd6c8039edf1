"""TFRecord framing and event files: golden bytes, round trips, and every corruption a
DataLossError naming the file and the record's offset."""
from __future__ import annotations

import os
import re
import socket

import pytest

from flowsaver import errors
from flowsaver.format.coding import crc32c, mask
from flowsaver.format.event_protos import Event, Summary
from flowsaver.format.events import (FILE_VERSION, EventFileWriter, event_file_name,
                                     read_events)
from flowsaver.format.graph_protos import GraphDef
from flowsaver.format.records import RECORD_OVERHEAD, encode_record, read_records


def test_record_golden_bytes():
    # length 3, little-endian u64; masked CRC32C of those 8 bytes; data; masked CRC of data
    length = bytes.fromhex("0300000000000000")
    expected = (length + mask(crc32c(length)).to_bytes(4, "little") + b"abc"
                + mask(crc32c(b"abc")).to_bytes(4, "little"))
    assert encode_record(b"abc") == expected
    # The CRC32C check value (RFC 3720) pins the checksum itself.
    assert crc32c(b"123456789") == 0xE3069283
    assert len(encode_record(b"")) == RECORD_OVERHEAD == 16


def test_records_round_trip(tmp_path):
    path = tmp_path / "r.tfrecord"
    payloads = [b"", b"x", os.urandom(1000), b"\x00" * 70000]
    path.write_bytes(b"".join(encode_record(p) for p in payloads))
    assert list(read_records(path)) == payloads


@pytest.mark.parametrize("cut", [1, 11, 12, 14, 18])
def test_truncated_tail(tmp_path, cut):
    path = tmp_path / "r.tfrecord"
    whole = encode_record(b"first") + encode_record(b"second")
    path.write_bytes(whole[:len(encode_record(b"first")) + cut])
    assert list(read_records(path, allow_truncated_tail=True)) == [b"first"]
    with pytest.raises(errors.DataLossError, match=r"offset 21"):
        list(read_records(path))


@pytest.mark.parametrize("flip,message", [(0, "length"), (9, "length"), (13, "data"),
                                          (19, "data")])
def test_corruption_is_detected(tmp_path, flip, message):
    data = bytearray(encode_record(b"hello!!"))
    data[flip] ^= 0x40
    path = tmp_path / "r.tfrecord"
    path.write_bytes(bytes(data))
    with pytest.raises(errors.DataLossError, match=f"{re.escape(str(path))}.*{message}"):
        list(read_records(path))


def test_length_past_the_end_is_refused_before_reading(tmp_path):
    length = (1 << 40).to_bytes(8, "little")
    path = tmp_path / "r.tfrecord"
    path.write_bytes(length + mask(crc32c(length)).to_bytes(4, "little") + b"tiny")
    with pytest.raises(errors.DataLossError, match="run past the end"):
        list(read_records(path))


def test_event_file_name_and_first_event(tmp_path):
    with EventFileWriter(tmp_path / "logs", now=1700000000.7) as writer:
        writer.add_scalar("loss", 0.5, step=3, wall_time=1700000001.0)
    name = os.path.basename(writer.path)
    assert name == event_file_name(1700000000, socket.gethostname())
    assert name.startswith("events.out.tfevents.1700000000.")
    events = list(read_events(writer.path))
    assert events[0].wall_time == 1700000000.0
    assert events[0].file_version == FILE_VERSION
    assert events[0].source_metadata.writer == "flowsaver"
    assert events[1].step == 3 and events[1].summary.value[0].tag == "loss"
    assert events[1].summary.value[0].simple_value == 0.5


def test_two_writers_in_one_second_get_two_files(tmp_path):
    first = EventFileWriter(tmp_path, now=5.0)
    second = EventFileWriter(tmp_path, now=5.0)
    first.close()
    second.close()
    assert first.path != second.path and second.path.endswith(".1")


def test_graph_and_summary_events(tmp_path):
    graph = GraphDef()
    graph.node.add(name="x", op="Placeholder")
    summary = Summary()
    summary.value.add(tag="h").histo.bucket.extend([1.0, 2.0])
    with EventFileWriter(tmp_path) as writer:
        writer.add_graph_def(graph)
        writer.add_summary(summary, step=7)
        writer.add_event(Event(step=9))
    events = list(read_events(writer.path))
    assert GraphDef.FromString(events[1].graph_def) == graph
    assert events[2].summary == summary and events[2].step == 7
    assert events[3].step == 9


def test_a_record_that_is_not_an_event(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h"
    path.write_bytes(encode_record(b"\xff\xff\xff"))
    with pytest.raises(errors.DataLossError, match="record 0 is not an Event"):
        list(read_events(path))
