"""``tf.train.Scaffold``: the ops a training session needs (init, ready, local init, saver).

Accepted as TensorFlow 1.x programs pass it; ``finalize()`` fills in what was not given
from the graph's collections (``INIT_OP``, ``READY_OP``, ``LOCAL_INIT_OP``, ``SAVERS``) or
builds TensorFlow's defaults, and then freezes the graph as TensorFlow does.
"""
from __future__ import annotations

from flowsaver.graph.graph import GraphKeys, get_default_graph
from flowsaver.ops.control_flow import api as control_flow_ops
from flowsaver.ops.scope_api import report_uninitialized_variables
from flowsaver.ops.state import variables
from flowsaver.train.saver import Saver


class Scaffold:
    """Holds (or makes) the init, ready and local-init ops and the saver of a session."""

    def __init__(self, init_op=None, init_feed_dict=None, init_fn=None, ready_op=None,
                 ready_for_local_init_op=None, local_init_op=None, summary_op=None,
                 saver=None, copy_from_scaffold=None, local_init_feed_dict=None):
        if copy_from_scaffold is not None:
            if not isinstance(copy_from_scaffold, Scaffold):
                raise TypeError("copy_from_scaffold is not a Scaffold instance.")

            def coalesce(mine, theirs):
                return mine if mine is not None else theirs
            c = copy_from_scaffold
            init_op = coalesce(init_op, c.init_op)
            init_feed_dict = coalesce(init_feed_dict, c._init_feed_dict)
            init_fn = coalesce(init_fn, c._user_init_fn)
            ready_op = coalesce(ready_op, c.ready_op)
            ready_for_local_init_op = coalesce(ready_for_local_init_op,
                                               c.ready_for_local_init_op)
            local_init_op = coalesce(local_init_op, c.local_init_op)
            local_init_feed_dict = coalesce(local_init_feed_dict, c._local_init_feed_dict)
            summary_op = coalesce(summary_op, c.summary_op)
            saver = coalesce(saver, c.saver)
        self._user_init_fn = init_fn
        self._init_fn = (lambda sess: init_fn(self, sess)) if init_fn else None
        self._init_op, self._init_feed_dict = init_op, init_feed_dict
        self._ready_op, self._ready_for_local_init_op = ready_op, ready_for_local_init_op
        self._local_init_op, self._local_init_feed_dict = local_init_op, local_init_feed_dict
        self._summary_op, self._saver = summary_op, saver

    @staticmethod
    def get_or_default(arg_name: str, collection_key: str, default_constructor):
        """The one op in ``collection_key``, or a new default put there."""
        graph = get_default_graph()
        found = graph.get_collection(collection_key)
        if len(found) > 1:
            raise RuntimeError(f"More than one item in the collection \"{collection_key}\". "
                               f"Please indicate which one to use by passing it to the "
                               f"tf.Scaffold constructor as:  tf.Scaffold({arg_name}=item "
                               f"to use)")
        if found:
            return found[0]
        op = default_constructor()
        if op is not None:
            graph.add_to_collection(collection_key, op)
        return op

    def finalize(self):
        """Create the missing ops, then finalize the graph."""
        graph = get_default_graph()
        if self._init_op is None:
            self._init_op = Scaffold.get_or_default(
                "init_op", GraphKeys.INIT_OP,
                lambda: control_flow_ops.group(variables.global_variables_initializer()))
        if self._ready_op is None:
            self._ready_op = Scaffold.get_or_default(
                "ready_op", GraphKeys.READY_OP, report_uninitialized_variables)
        if self._ready_for_local_init_op is None:
            self._ready_for_local_init_op = Scaffold.get_or_default(
                "ready_for_local_init_op", GraphKeys.READY_FOR_LOCAL_INIT_OP,
                lambda: report_uninitialized_variables(variables.global_variables()))
        if self._local_init_op is None:
            self._local_init_op = Scaffold.get_or_default(
                "local_init_op", GraphKeys.LOCAL_INIT_OP,
                lambda: control_flow_ops.group(variables.local_variables_initializer()))
        if self._saver is None:
            savers = graph.get_collection(GraphKeys.SAVERS)
            if len(savers) > 1:
                raise RuntimeError("More than one item in collection savers. Please "
                                   "indicate which one to use by passing it to the "
                                   "constructor.")
            if savers:
                self._saver = savers[0]
            elif variables.global_variables():
                self._saver = Saver(sharded=True, allow_empty=True)
                graph.add_to_collection(GraphKeys.SAVERS, self._saver)
        graph.finalize()
        return self

    @property
    def init_fn(self):
        return self._init_fn

    @property
    def init_op(self):
        return self._init_op

    @property
    def ready_op(self):
        return self._ready_op

    @property
    def ready_for_local_init_op(self):
        return self._ready_for_local_init_op

    @property
    def local_init_op(self):
        return self._local_init_op

    @property
    def summary_op(self):
        return self._summary_op

    @property
    def saver(self):
        return self._saver

    @property
    def init_feed_dict(self):
        return self._init_feed_dict

    @property
    def local_init_feed_dict(self):
        return self._local_init_feed_dict
