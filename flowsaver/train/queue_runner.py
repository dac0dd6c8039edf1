"""``tf.train.QueueRunner`` and ``start_queue_runners``: threads that keep running a
queue's enqueue ops until their input ends (then the queue is closed, so that consumers
see OutOfRangeError once it drains) or a Coordinator asks them to stop."""
from __future__ import annotations

import threading

from flowsaver import errors
from flowsaver.format.queue_runner_protos import QueueRunnerDef
from flowsaver.graph.default_session import get_default_session
from flowsaver.graph.graph import get_default_graph
from flowsaver.graph.graph_keys import GraphKeys


class QueueRunner:
    """Holds a queue's enqueue ops, one thread each, and the ops that close the queue."""

    def __init__(self, queue=None, enqueue_ops=None, close_op=None, cancel_op=None,
                 queue_closed_exception_types=None, queue_runner_def=None, import_scope=None):
        if queue is None or not enqueue_ops:
            raise ValueError("QueueRunner needs a queue and a list of enqueue ops")
        self._queue = queue
        self._enqueue_ops = list(enqueue_ops)
        self._close_op = close_op if close_op is not None else queue.close()
        self._cancel_op = cancel_op if cancel_op is not None else \
            queue.close(cancel_pending_enqueues=True)
        self._closed_types = tuple(queue_closed_exception_types or
                                   (errors.OutOfRangeError, errors.CancelledError))
        self._lock = threading.Lock()
        self._runs_per_session: dict = {}
        self._exceptions_raised: list = []

    @classmethod
    def from_proto(cls, queue_runner_def, import_scope=None) -> "QueueRunner":
        """The QueueRunner a QueueRunnerDef (or its bytes) describes, in the default graph."""
        if isinstance(queue_runner_def, bytes):
            queue_runner_def = QueueRunnerDef.FromString(queue_runner_def)
        graph = get_default_graph()

        def op(name):
            return graph.as_graph_element(_scoped(name, import_scope)) if name else None
        runner = cls.__new__(cls)
        runner._queue = op(queue_runner_def.queue_name)
        runner._enqueue_ops = [op(n) for n in queue_runner_def.enqueue_op_name]
        runner._close_op = op(queue_runner_def.close_op_name)
        runner._cancel_op = op(queue_runner_def.cancel_op_name)
        codes = list(queue_runner_def.queue_closed_exception_types)
        by_code = {errors.OUT_OF_RANGE: errors.OutOfRangeError,
                   errors.CANCELLED: errors.CancelledError}
        runner._closed_types = tuple(by_code[c] for c in codes if c in by_code) or \
            (errors.OutOfRangeError,)
        runner._lock = threading.Lock()
        runner._runs_per_session = {}
        runner._exceptions_raised = []
        return runner

    def to_proto(self, export_scope=None):
        """This runner as a QueueRunnerDef (None when outside ``export_scope``)."""
        names = [self._queue.name] + [o.name for o in self._enqueue_ops]
        if export_scope and not all(n.startswith(export_scope + "/") for n in names):
            return None
        strip = (lambda n: n[len(export_scope) + 1:]) if export_scope else (lambda n: n)
        codes = {errors.OutOfRangeError: errors.OUT_OF_RANGE,
                 errors.CancelledError: errors.CANCELLED}
        return QueueRunnerDef(
            queue_name=strip(self._queue.name),
            enqueue_op_name=[strip(o.name) for o in self._enqueue_ops],
            close_op_name=strip(self._close_op.name), cancel_op_name=strip(self._cancel_op.name),
            queue_closed_exception_types=[codes[t] for t in self._closed_types if t in codes])

    queue = property(lambda self: self._queue)
    enqueue_ops = property(lambda self: self._enqueue_ops)
    close_op = property(lambda self: self._close_op)
    cancel_op = property(lambda self: self._cancel_op)
    exceptions_raised = property(lambda self: list(self._exceptions_raised))
    name = property(lambda self: self._queue.name)

    def _run(self, sess, enqueue_op, coord) -> None:
        decremented = False
        try:
            while True:
                if coord is not None and coord.should_stop():
                    break
                try:
                    sess.run(enqueue_op)
                except self._closed_types:
                    with self._lock:
                        self._runs_per_session[sess] -= 1
                        decremented = True
                        if self._runs_per_session[sess] == 0:
                            try:
                                sess.run(self._close_op)
                            except (errors.OpError, RuntimeError):
                                pass   # the queue or session is already closing
                    return
        except Exception as exc:  # noqa: BLE001 - reported to the coordinator, or raised
            if coord is not None:
                coord.request_stop(exc)
            else:
                with self._lock:
                    self._exceptions_raised.append(exc)
                raise
        finally:
            if not decremented:
                with self._lock:
                    self._runs_per_session[sess] -= 1

    def _close_on_stop(self, sess, coord) -> None:
        coord.wait_for_stop()
        try:
            sess.run(self._cancel_op)
        except (errors.OpError, RuntimeError):
            pass   # the session may already be closed

    def create_threads(self, sess, coord=None, daemon=False, start=False) -> list:
        """The threads that run the enqueue ops in ``sess`` (started if ``start``)."""
        with self._lock:
            if self._runs_per_session.get(sess, 0) > 0:
                return []   # already running in this session
            self._runs_per_session[sess] = len(self._enqueue_ops)
            self._exceptions_raised = []
        threads = [threading.Thread(target=self._run, args=(sess, op, coord), daemon=daemon,
                                    name=f"QueueRunnerThread-{self.name}-{op.name}")
                   for op in self._enqueue_ops]
        if coord is not None:
            threads.append(threading.Thread(target=self._close_on_stop, args=(sess, coord),
                                            daemon=daemon,
                                            name=f"QueueRunnerThread-{self.name}-close_on_stop"))
        for thread in threads:
            if coord is not None:
                coord.register_thread(thread)
            if start:
                thread.start()
        return threads


def _scoped(name: str, scope) -> str:
    return f"{scope}/{name}" if scope else name


def add_queue_runner(qr, collection=GraphKeys.QUEUE_RUNNERS) -> None:
    """Add ``qr`` to the graph's queue-runner collection."""
    get_default_graph().add_to_collection(collection, qr)


def start_queue_runners(sess=None, coord=None, daemon=True, start=True,
                        collection=GraphKeys.QUEUE_RUNNERS) -> list:
    """Start the threads of every queue runner in ``collection``; returns them."""
    sess = sess or get_default_session()
    if sess is None:
        raise ValueError("Cannot start queue runners: No default session is registered. Use "
                         "`with sess.as_default()` or pass an explicit session to "
                         "tf.start_queue_runners(sess=sess)")
    threads = []
    for qr in sess.graph.get_collection(collection):
        threads.extend(qr.create_threads(sess, coord=coord, daemon=daemon, start=start))
    return threads
