"""``tf.summary.FileWriter``, ``FileWriterCache`` and ``tf.train.summary_iterator``.

A FileWriter opened with a graph writes, after the file-version event, the graph
(``graph_def`` with output shapes) and its MetaGraphDef, as TensorFlow 1.x does; then
summaries, session logs and run metadata as they are added. Events go through a
background thread (format/event_writer_thread.py): ``add_summary`` returns at once.
"""
from __future__ import annotations

import os
import threading
import time

from flowsaver.format.event_protos import Event, SessionLog, Summary, TaggedRunMetadata
from flowsaver.format.event_writer_thread import AsyncEventWriter
from flowsaver.format.events import read_events
from flowsaver.graph.graph import Graph, get_default_graph
from flowsaver.train.meta_graph import create_meta_graph_def


class FileWriter:
    """Writes summaries and graphs to an event file in ``logdir`` for TensorBoard.

    Example:
      >>> writer = tf.summary.FileWriter("/tmp/run1", sess.graph)
      >>> writer.add_summary(sess.run(merged), global_step)
      >>> writer.close()
    """

    def __init__(self, logdir, graph=None, max_queue=10, flush_secs=120, graph_def=None,
                 filename_suffix=None, session=None):
        self._logdir = os.fspath(logdir)
        self._options = (max_queue, flush_secs, filename_suffix or "")
        self._writer = AsyncEventWriter(self._logdir, *self._options)
        self._seen_summary_tags: set = set()
        self._closed = False
        if graph is not None or graph_def is not None:
            self.add_graph(graph=graph, graph_def=graph_def)
            as_def = graph.as_graph_def(add_shapes=True) if isinstance(graph, Graph) else graph
            self.add_meta_graph(create_meta_graph_def(
                graph=graph if isinstance(graph, Graph) else None,
                graph_def=graph_def if graph_def is not None else as_def))

    def get_logdir(self) -> str:
        return self._logdir

    def add_event(self, event: Event) -> None:
        """Queue one Event for writing."""
        self._writer.add_event(event)

    def _add(self, step, **fields) -> None:
        event = Event(wall_time=time.time(), **fields)
        if step is not None:
            event.step = int(step)
        self.add_event(event)

    def add_summary(self, summary, global_step=None) -> None:
        """A Summary (or its serialized bytes, as a summary op returns) at ``global_step``.

        Plugin metadata is kept only on the first summary of each tag, as TensorFlow does.
        """
        if isinstance(summary, (bytes, bytearray)):
            summary = Summary.FromString(bytes(summary))
        elif not isinstance(summary, Summary):
            summary = Summary.FromString(summary.SerializeToString())
        else:
            copy = Summary()
            copy.CopyFrom(summary)
            summary = copy
        for value in summary.value:
            if not value.HasField("metadata"):
                continue
            if value.tag in self._seen_summary_tags:
                value.ClearField("metadata")
            else:
                self._seen_summary_tags.add(value.tag)
        event = Event(wall_time=time.time())
        event.summary.CopyFrom(summary)
        if global_step is not None:
            event.step = int(global_step)
        self.add_event(event)

    def add_graph(self, graph=None, global_step=None, graph_def=None) -> None:
        """The graph for TensorBoard's Graphs tab (a Graph, with its output shapes)."""
        if graph is not None and graph_def is not None:
            raise ValueError("Please pass only graph, or graph_def (deprecated), but not both.")
        if isinstance(graph, Graph) or isinstance(graph_def, Graph):
            graph = graph if isinstance(graph, Graph) else graph_def
            true_def = graph.as_graph_def(add_shapes=True)
        elif graph_def is not None or graph is not None:
            true_def = graph_def if graph_def is not None else graph
        else:
            raise TypeError("The passed graph must be an instance of `Graph` or the "
                            "deprecated `GraphDef`")
        self._add(global_step, graph_def=true_def.SerializeToString())

    def add_meta_graph(self, meta_graph_def, global_step=None) -> None:
        if not hasattr(meta_graph_def, "graph_def"):
            raise TypeError(f"meta_graph_def must be type MetaGraphDef, saw type: "
                            f"{type(meta_graph_def)}")
        self._add(global_step, meta_graph_def=meta_graph_def.SerializeToString())

    def add_session_log(self, session_log, global_step=None) -> None:
        event = Event(wall_time=time.time())
        event.session_log.CopyFrom(session_log if isinstance(session_log, SessionLog) else
                                   SessionLog.FromString(session_log.SerializeToString()))
        if global_step is not None:
            event.step = int(global_step)
        self.add_event(event)

    def add_run_metadata(self, run_metadata, tag, global_step=None) -> None:
        data = run_metadata if isinstance(run_metadata, bytes) else \
            run_metadata.SerializeToString()
        event = Event(wall_time=time.time())
        event.tagged_run_metadata.CopyFrom(TaggedRunMetadata(tag=tag, run_metadata=data))
        if global_step is not None:
            event.step = int(global_step)
        self.add_event(event)

    def flush(self) -> None:
        """Write every event added so far to disk."""
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file (``reopen`` starts a new one)."""
        self._writer.close()
        self._closed = True

    def reopen(self) -> None:
        if self._closed:
            self._writer = AsyncEventWriter(self._logdir, *self._options)
            self._closed = False

    def __enter__(self) -> "FileWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FileWriterCache:
    """One FileWriter per log directory, shared by everyone who asks for it."""

    _cache: dict = {}
    _lock = threading.RLock()

    @staticmethod
    def get(logdir) -> FileWriter:
        logdir = os.fspath(logdir)
        with FileWriterCache._lock:
            writer = FileWriterCache._cache.get(logdir)
            if writer is None:
                writer = FileWriterCache._cache[logdir] = FileWriter(
                    logdir, graph=get_default_graph())
            return writer

    @staticmethod
    def clear() -> None:
        with FileWriterCache._lock:
            for writer in FileWriterCache._cache.values():
                writer.close()
            FileWriterCache._cache.clear()


def summary_iterator(path):
    """Every Event of the event file at ``path``, in order (``tf.train.summary_iterator``)."""
    return read_events(path)
