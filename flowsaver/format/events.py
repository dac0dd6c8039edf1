"""TensorBoard event files: writing and reading ``events.out.tfevents.*``.

A file ``LOGDIR/events.out.tfevents.<SECONDS>.<HOSTNAME><SUFFIX>`` (SECONDS: the Unix
time the file was opened, ten or more digits) is a TFRecord file (records.py) of
serialized Event messages (event_protos.py). As TensorFlow's EventsWriter does, the
first event of every file has ``wall_time`` = SECONDS, ``file_version`` =
"brain.Event:2" and ``source_metadata.writer`` naming the writer; then come graph
(``graph_def``: a serialized GraphDef), ``meta_graph_def`` and summary events, each with
its wall time and step.

Files are appended to as events arrive (TensorBoard reads them while they grow), so they
are not written under a temporary name; a crash leaves at worst an incomplete last record,
which read_events can be told to ignore.
"""
from __future__ import annotations

import os
import socket
import time
from typing import Iterator

from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.event_protos import Event, Summary
from flowsaver.format.records import RecordWriter, read_records

FILE_VERSION = "brain.Event:2"
FILE_PREFIX = "events.out.tfevents."
WRITER_NAME = "flowsaver"


def event_file_name(seconds: int, hostname: str, suffix: str = "") -> str:
    """The base name TensorFlow gives an event file opened at ``seconds``."""
    return f"{FILE_PREFIX}{seconds:010d}.{hostname}{suffix}"


class EventFileWriter:
    """Writes one event file in ``logdir`` (created if missing).

    Example:
      >>> with EventFileWriter("runs/1") as w:
      ...     w.add_graph_def(graph_def)
      ...     w.add_scalar("loss", 0.25, step=10)
    """

    def __init__(self, logdir, filename_suffix: str = "", now: float | None = None):
        logdir = os.fspath(logdir)
        storage.makedirs(logdir)
        seconds = int(time.time() if now is None else now)
        host = socket.gethostname() or "localhost"
        # Two writers opened in the same second on one host would share TensorFlow's
        # name; the later one gets ".1", ".2", ... rather than clobbering the first.
        for attempt in range(1000):
            extra = f".{attempt}" if attempt else ""
            path = os.path.join(logdir, event_file_name(seconds, host, filename_suffix + extra))
            try:
                self._file = storage.open_new(path)
                break
            except FileExistsError:
                continue
        else:
            raise errors.AlreadyExistsError(f"{logdir}: no free event file name for "
                                            f"second {seconds}")
        self.path = path
        self._records = RecordWriter(self._file)
        first = Event(wall_time=float(seconds), file_version=FILE_VERSION)
        first.source_metadata.writer = WRITER_NAME
        self.add_event(first)

    def add_event(self, event: Event) -> None:
        self._records.write(event.SerializeToString())

    def add_graph_def(self, graph_def, step: int = 0, wall_time: float | None = None) -> None:
        """A graph for TensorBoard's Graphs tab (a GraphDef message or its bytes)."""
        data = graph_def if isinstance(graph_def, bytes) else \
            graph_def.SerializeToString(deterministic=True)
        self.add_event(Event(wall_time=_now(wall_time), step=step, graph_def=data))

    def add_meta_graph_def(self, meta_graph_def, step: int = 0,
                           wall_time: float | None = None) -> None:
        data = meta_graph_def if isinstance(meta_graph_def, bytes) else \
            meta_graph_def.SerializeToString(deterministic=True)
        self.add_event(Event(wall_time=_now(wall_time), step=step, meta_graph_def=data))

    def add_summary(self, summary: Summary, step: int = 0,
                    wall_time: float | None = None) -> None:
        event = Event(wall_time=_now(wall_time), step=step)
        event.summary.CopyFrom(summary)
        self.add_event(event)

    def add_scalar(self, tag: str, value: float, step: int = 0,
                   wall_time: float | None = None) -> None:
        """A TF1-style scalar summary (``simple_value``)."""
        summary = Summary()
        summary.value.add(tag=tag, simple_value=float(value))
        self.add_summary(summary, step, wall_time)

    def flush(self) -> None:
        self._records.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> "EventFileWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _now(wall_time: float | None) -> float:
    return time.time() if wall_time is None else float(wall_time)


def read_events(path, allow_truncated_tail: bool = True) -> Iterator[Event]:
    """Every Event of an event file, in order; an incomplete last record (a file still
    being written) ends the iteration unless ``allow_truncated_tail`` is False.

    Raises:
      DataLossError: a record's CRC fails or it is not an Event; names file and record.
    """
    for index, data in enumerate(read_records(path, allow_truncated_tail)):
        try:
            yield Event.FromString(data)
        except Exception as exc:  # DecodeError; the message is all we keep
            raise errors.DataLossError(f"{os.fspath(path)}: record {index} is not an Event: "
                                       f"{exc}") from None
