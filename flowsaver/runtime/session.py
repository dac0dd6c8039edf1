"""``tf.Session``: variable values, random streams, and ``run(fetches, feed_dict)``.

Fetches may be a Tensor, an Operation, a name, anything with ``_as_graph_element``
(a Variable), or any nesting of lists, tuples, namedtuples and dicts of those; the
result has the same structure. Each session holds its own variable values.
"""
from __future__ import annotations

import numpy as np

from flowsaver import errors
from flowsaver.graph.graph import get_default_graph, session_as_default
from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops import registry
from flowsaver.runtime import executor, fetches as fetch_util
from flowsaver.runtime.state import RunContext


class Session:
    """Runs ops of one graph; ``with tf.Session() as sess:`` makes it the default."""

    def __init__(self, target: str = "", graph=None, config=None):
        if target:
            raise errors.UnimplementedError(
                f"flowsaver runs graphs in-process; target {target!r} (a distributed "
                f"TensorFlow server) is not supported")
        self._graph = graph if graph is not None else get_default_graph()
        self._config = config
        self._closed = False
        self._ctx = RunContext(self)
        self._plans: dict = {}
        self._default_stack = []

    @property
    def graph(self):
        return self._graph

    @property
    def graph_def(self):
        return self._graph.as_graph_def()

    @property
    def sess_str(self) -> str:
        return ""

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Evaluate ``fetches`` with ``feed_dict`` substituted; same structure returned.

        Raises:
          RuntimeError: the session is closed.
          TypeError, ValueError: a fetch or feed key that is not in this graph.
          ValueError: a fed value whose shape contradicts its tensor's static shape.
          InvalidArgumentError: a placeholder that was needed but not fed.
          FailedPreconditionError: a variable read before its initializer ran.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        mapper = fetch_util.FetchMapper(self._graph, fetches)
        feed_tensors, feed_values = self._feeds(feed_dict)
        key = (mapper.key, tuple(map(id, feed_tensors)))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(mapper, feed_tensors)
            self._plans[key] = plan
        values = executor.execute(plan, feed_values)
        return mapper.build([_fetched(t, v) for t, v in zip(mapper.tensors, values)])

    def _plan(self, mapper, feed_tensors):
        fed = set(feed_tensors)
        for op in executor.needed_ops(mapper.tensors, mapper.targets, fed):
            if op.type in ("Placeholder",) and not any(t in fed for t in op.outputs):
                shape = op.get_attr("shape")
                raise errors.InvalidArgumentError(
                    op.node_def, op,
                    f"You must feed a value for placeholder tensor '{op.name}' with dtype "
                    f"{op.get_attr('dtype').name}" +
                    (f" and shape {shape}" if shape.ndims is not None else "") +
                    f"\n\t [[node {op.name}]]")
        plan = executor.build_plan(mapper.tensors, mapper.targets, feed_tensors, self._ctx)
        return plan

    def _feeds(self, feed_dict):
        if not feed_dict:
            return (), ()
        tensors, values = [], []
        for key, value in feed_dict.items():
            for tensor, sub in fetch_util.feed_pairs(self._graph, key, value):
                if not self._graph.is_feedable(tensor):
                    raise ValueError(f"Tensor {tensor.name} may not be fed.")
                tensors.append(tensor)
                values.append(_feed_value(tensor, sub))
        return tuple(tensors), values

    # ---- lifetime -------------------------------------------------------------------------
    def close(self) -> None:
        self._closed = True
        self._ctx.close()
        self._plans.clear()

    def as_default(self):
        return session_as_default(self)

    def __enter__(self):
        graph_cm = self._graph.as_default()
        session_cm = self.as_default()
        graph_cm.__enter__()
        session_cm.__enter__()
        self._default_stack.append((graph_cm, session_cm))
        return self

    def __exit__(self, exc_type, exc, tb):
        graph_cm, session_cm = self._default_stack.pop()
        session_cm.__exit__(exc_type, exc, tb)
        graph_cm.__exit__(exc_type, exc, tb)
        self.close()

    def list_devices(self):
        return []

    def make_callable(self, fetches, feed_list=None, accept_options=False):
        """A function running ``fetches`` with positional feeds for ``feed_list``."""
        feed_list = list(feed_list or [])

        def call(*args, **kwargs):
            if len(args) != len(feed_list):
                raise TypeError(f"Expected {len(feed_list)} feed values, got {len(args)}")
            return self.run(fetches, dict(zip(feed_list, args)))
        return call


class InteractiveSession(Session):
    """A Session that installs itself as the default when made (for shells and notebooks)."""

    def __init__(self, target: str = "", graph=None, config=None):
        super().__init__(target, graph, config)
        self._graph_cm = self._graph.as_default()
        self._graph_cm.__enter__()
        self._session_cm = self.as_default()
        self._session_cm.__enter__()

    def close(self) -> None:
        if not self._closed:
            try:
                self._session_cm.__exit__(None, None, None)
                self._graph_cm.__exit__(None, None, None)
            except (IndexError, ValueError):
                pass  # already popped by an out-of-order close: nothing left to undo
        super().close()


def _feed_value(tensor: Tensor, value):
    dtype = tensor.dtype.base_dtype
    if isinstance(value, (Tensor, Operation)):
        raise TypeError(f"The value of a feed cannot be a tf.Tensor object ({value.name} fed "
                        f"for {tensor.name}). Acceptable feed values include Python scalars, "
                        f"strings, lists, numpy ndarrays, or TensorHandles.")
    try:
        if dtype.kind == "string":
            array = np.asarray(value, dtype=object)
        else:
            array = np.asarray(value, dtype=dtype.as_numpy_dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"Cannot feed {type(value).__name__} value for tensor '{tensor.name}' "
                        f"of dtype {dtype.name}: {e}") from None
    if not tensor.shape.is_compatible_with(array.shape):
        raise ValueError(f"Cannot feed value of shape {array.shape} for Tensor "
                         f"'{tensor.name}', which has shape '{tensor.shape}'")
    return array


def _fetched(tensor, value):
    if tensor is None or value is None:
        return value
    if hasattr(value, "read"):  # a ref tensor fetched: a copy of its current value
        value = np.array(value.read(), copy=True)
    elif isinstance(value, np.ndarray) and tensor.op.type in registry.ALIASING:
        value = value.copy()
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value[()]
    return value
