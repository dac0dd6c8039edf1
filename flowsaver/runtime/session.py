"""``tf.Session``: variable values, random streams, and ``run(fetches, feed_dict)``.

Fetches may be a Tensor, an Operation, a name, anything with ``_as_graph_element``
(a Variable), or any nesting of lists, tuples, namedtuples and dicts of those; the
result has the same structure. Each session holds its own variable values.
"""
from __future__ import annotations

import logging
import sys

import numpy as np

from flowsaver import errors
from flowsaver.format.config_protos import ConfigProto
from flowsaver.graph.graph import get_default_graph, session_as_default
from flowsaver.graph.operation import Operation, Tensor
from flowsaver.ops import blas_threads, registry
from flowsaver.runtime import allocator, executor, fetches as fetch_util, planner, runners
from flowsaver.runtime.state import RunContext


# FLOWSAVER_EXECUTOR=interpreter runs every plan in the reference interpreter loop
# (runners.py); the test suite runs the op, session and training tests both ways.
EXECUTOR_SWITCH = runners.EXECUTOR_SWITCH
# Where every op runs, as TensorFlow's placement log names the local CPU.
CPU_DEVICE = "/job:localhost/replica:0/task:0/device:CPU:0"


def _same_leaves(cached, fetches) -> bool:
    if isinstance(fetches, (list, tuple)):
        return len(cached) == len(fetches) and all(a is b for a, b in zip(cached, fetches))
    return cached is fetches


class Session:
    """Runs ops of one graph; ``with tf.Session() as sess:`` makes it the default."""

    def __init__(self, target: str = "", graph=None, config=None):
        if target:
            raise errors.UnimplementedError(
                f"flowsaver runs graphs in-process; target {target!r} (a distributed "
                f"TensorFlow server) is not supported")
        if config is not None and not isinstance(config, ConfigProto):
            raise TypeError(f"config must be a tf.ConfigProto, but got {type(config)}")
        self._graph = graph if graph is not None else get_default_graph()
        self._config = config
        self._placed: set = set()  # ops already in the placement log
        self.last_run_options = None  # the RunOptions of the latest run, as given
        if config is not None and config.log_device_placement:
            # TensorFlow logs this at INFO level; the per-op lines go to stderr as they are
            logging.getLogger("tensorflow").info("Device mapping: no known devices.")
        self._closed = False
        self._ctx = RunContext(self)
        self._plans: dict = {}
        self._mappers: dict = {}
        self._feed_info: dict = {}
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
        if run_metadata is not None and not hasattr(run_metadata, "ParseFromString"):
            raise TypeError(f"run_metadata must be a tf.RunMetadata, but got "
                            f"{type(run_metadata)}")
        # Recorded only: flowsaver runs in-process with no tracing, so a RunMetadata stays
        # empty (TensorFlow's would hold step statistics when tracing is asked for).
        self.last_run_options = options
        mapper = self._mapper(fetches)
        feed_tensors, feed_values = self._feeds(feed_dict)
        key = (mapper.key, tuple(map(id, feed_tensors)))
        runner = self._plans.get(key)
        if runner is None:
            runner = self._plans[key] = self._runner(mapper, feed_tensors)
        allocator.tune()   # freed tensors' pages kept for the next run (once a process)
        controlled = blas_threads.enter()  # BLAS gets the cores other processes leave
        try:
            with np.errstate(all="ignore"):  # TensorFlow computes inf and nan silently
                values = runner(feed_values)
        finally:
            if controlled:
                blas_threads.leave()
        return mapper.build([_fetched(t, v) for t, v in zip(mapper.tensors, values)])

    def _mapper(self, fetches) -> fetch_util.FetchMapper:
        """The FetchMapper for ``fetches``, cached for a single fetch or a flat list."""
        if isinstance(fetches, (list, tuple)) and type(fetches) in (list, tuple):
            if any(isinstance(f, (list, tuple, dict)) for f in fetches):
                return fetch_util.FetchMapper(self._graph, fetches)
            key = (type(fetches),) + tuple(map(id, fetches))
        elif isinstance(fetches, dict):
            return fetch_util.FetchMapper(self._graph, fetches)
        else:
            key = id(fetches)
        cached = self._mappers.get(key)
        if cached is not None and _same_leaves(cached[0], fetches):
            return cached[1]
        mapper = fetch_util.FetchMapper(self._graph, fetches)
        self._mappers[key] = (fetches if not isinstance(fetches, list) else list(fetches),
                              mapper)
        return mapper

    @property
    def config(self):
        """The ConfigProto the session was made with (None for the defaults)."""
        return self._config

    def _log_placement(self, plan, feed_tensors) -> None:
        """With ``log_device_placement``: each op's device, once, when first planned (as
        TensorFlow prints it with its default C++ log level)."""
        lines = []
        for op in [t.op for t in feed_tensors] + planner.plan_ops(plan):
            if op not in self._placed:
                self._placed.add(op)
                lines.append(f"{op.name}: ({op.type}): {CPU_DEVICE}\n")
        if lines:
            sys.stderr.write("".join(lines))

    def _runner(self, mapper, feed_tensors):
        plan = self._plan(mapper, feed_tensors)
        if self._config is not None and self._config.log_device_placement:
            self._log_placement(plan, feed_tensors)
        return runners.runner_for(plan, mapper.targets)

    def _plan(self, mapper, feed_tensors):
        fed = set(feed_tensors)
        ops = executor.needed_ops(mapper.tensors, mapper.targets, fed)
        for op in ops:
            if registry.has_trait(op.type, registry.PLACEHOLDER) and \
                    not any(t in fed for t in op.outputs):
                shape = op.get_attr("shape")
                raise errors.InvalidArgumentError(
                    op.node_def, op,
                    f"You must feed a value for placeholder tensor '{op.name}' with dtype "
                    f"{op.get_attr('dtype').name}" +
                    (f" and shape {shape}" if shape.ndims is not None else "") +
                    f"\n\t [[node {op.name}]]")
        return planner.make_plan(mapper.tensors, mapper.targets, feed_tensors, self._ctx, ops)

    def _feeds(self, feed_dict):
        if not feed_dict:
            return (), ()
        tensors, values = [], []
        graph = self._graph
        for key, value in feed_dict.items():
            if isinstance(key, Tensor) and key.graph is graph:
                pairs = ((key, value),)
            else:
                pairs = fetch_util.feed_pairs(graph, key, value)
            for tensor, sub in pairs:
                info = self._feed_info.get(tensor)
                if info is None:
                    if not graph.is_feedable(tensor):
                        raise ValueError(f"Tensor {tensor.name} may not be fed.")
                    info = self._feed_info[tensor] = _FeedInfo(tensor)
                tensors.append(tensor)
                values.append(info.convert(sub))
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


class _FeedInfo:
    """How values fed for one tensor are converted and checked."""

    def _strings(self, value) -> np.ndarray:
        """A string feed as an object array of bytes (text is UTF-8 encoded, as in TF)."""
        array = np.array(value, dtype=object)
        flat = array.reshape(-1)
        for i, item in enumerate(flat):
            if isinstance(item, str):
                flat[i] = item.encode("utf-8")
            elif not isinstance(item, bytes):
                raise TypeError(f"Cannot feed {type(item).__name__} value {item!r} for string "
                                f"tensor '{self.tensor.name}'")
        self._check_shape(array)
        return array

    def _check_shape(self, array) -> None:
        dims = self.dims
        if dims is not None and (len(dims) != array.ndim or any(
                d is not None and d != n for d, n in zip(dims, array.shape))):
            raise ValueError(f"Cannot feed value of shape {array.shape} for Tensor "
                             f"'{self.tensor.name}', which has shape '{self.tensor.shape}'")

    __slots__ = ("tensor", "dtype", "numpy", "dims")

    def __init__(self, tensor: Tensor):
        self.tensor = tensor
        self.dtype = tensor.dtype.base_dtype
        self.numpy = object if self.dtype.kind == "string" else \
            np.dtype(self.dtype.as_numpy_dtype)
        self.dims = tensor.shape.as_tuple()

    def convert(self, value) -> np.ndarray:
        if isinstance(value, (Tensor, Operation)):
            raise TypeError(f"The value of a feed cannot be a tf.Tensor object ({value.name} "
                            f"fed for {self.tensor.name}). Acceptable feed values include "
                            f"Python scalars, strings, lists, numpy ndarrays, or TensorHandles.")
        if self.numpy is object:
            return self._strings(value)
        if type(value) is np.ndarray and value.dtype == self.numpy:
            array = value
        else:
            try:
                array = np.asarray(value, dtype=self.numpy)
            except (TypeError, ValueError) as e:
                raise TypeError(f"Cannot feed {type(value).__name__} value for tensor "
                                f"'{self.tensor.name}' of dtype {self.dtype.name}: {e}") from None
        dims = self.dims
        if dims is not None and (len(dims) != array.ndim or any(
                d is not None and d != n for d, n in zip(dims, array.shape))):
            raise ValueError(f"Cannot feed value of shape {array.shape} for Tensor "
                             f"'{self.tensor.name}', which has shape '{self.tensor.shape}'")
        return array


def _fetched(tensor, value):
    if tensor is None or value is None:
        return value
    if hasattr(value, "read"):  # a ref tensor fetched: a copy of its current value
        value = np.array(value.read(), copy=True)
    elif isinstance(value, np.ndarray) and (registry.has_trait(tensor.op.type, registry.ALIASING) or
                                            not value.flags.writeable):
        value = value.copy()  # the caller's own array: not one a later run shares
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value[()]
    return value
